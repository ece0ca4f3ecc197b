"""boto3 clients for modules that take an Airflow AWS connection or exporters' explicit keys.

An Airflow connection (``aws_conn_id``) is resolved by the Amazon provider's ``AwsBaseHook`` when
the first request is made, never at validation. exporters' ``access_key``/``secret_key`` options
(legacy configs) build a plain boto3 session. botocore errors are translated here into what
``retries.is_transient`` recognises, so every AWS module retries the same errors.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.retries import TransientError, is_transient_status

DEFAULT_REGION = "us-east-1"  # boto's default, which exporters relied on


def uses_connection(aws_conn_id: str | None, access_key: str | None, secret_key: str | None) -> bool:
    """Whether credentials come from an Airflow connection (named, or ``aws_default`` without keys)."""
    return bool(aws_conn_id) or not (access_key and secret_key)


def aws_client(
    service: str,
    *,
    aws_conn_id: str | None,
    access_key: str | None,
    secret_key: str | None,
    region_name: str | None,
    endpoint_url: str | None = None,
    config: Any = None,
) -> Any:
    """A boto3 client for ``service``.

    :param aws_conn_id: Airflow AWS connection; used when set, and when no keys are given
        (then ``aws_default``).
    :param access_key: legacy access key id, used only without ``aws_conn_id``.
    :param secret_key: legacy secret access key, used only without ``aws_conn_id``.
    :param region_name: region; default: the connection's, else ``us-east-1``.
    :param endpoint_url: an endpoint of this service (a CloudSearch domain's document endpoint);
        default: the connection's (or boto's) endpoint.
    :param config: a ``botocore.config.Config`` merged over the connection's.
    """
    if uses_connection(aws_conn_id, access_key, secret_key):
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        hook = AwsBaseHook(
            aws_conn_id=aws_conn_id or "aws_default", client_type=service, region_name=region_name
        )
        if endpoint_url is None and config is None:
            return hook.conn
        session = hook.get_session(region_name=region_name or hook.region_name)
        return session.client(
            service,
            region_name=region_name or hook.region_name or session.region_name or DEFAULT_REGION,
            endpoint_url=endpoint_url,
            config=hook.config.merge(config) if config is not None else hook.config,
            verify=hook.verify,
        )
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region_name or DEFAULT_REGION,
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


def as_retryable(error: Exception) -> Exception:
    """botocore errors as the exceptions ``retries.is_transient`` recognises (others unchanged)."""
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(error, BotoConnectionError):
        return ConnectionError(error_text(error))
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("Throttling", "ThrottlingException"):
            return TransientError(error_text(error), 503)
        if isinstance(status, int) and is_transient_status(status):
            return TransientError(error_text(error), status)
    return error


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
