"""What the object store connections (S3, Azure Blob, Azure Files, GCS) share, written once.

Azure and GCS run SDK calls made without the SDK's own retries under Ozzy's policy and translate
their errors the same way (``StoreConnection``); they give an object's size and hex MD5
(``properties``), which one comparison turns into the same ``check_consistency`` messages; all of
them tell a missing Airflow connection the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from airflow_provider_ozzy.core.errors import OzzyError, permanent
from airflow_provider_ozzy.core.retries import (
    TransientError,
    call_translated,
    current_policy,
    operation_label,
)

T = TypeVar("T")


class StoreAccess:
    """A module's identity at an object store: its options, its name and error class for messages,
    the export's retry budget, and where its credentials come from: the Airflow connection named by
    ``conn_option`` (``default_conn_id`` when not given), unless exporters' legacy secret option
    ``legacy_option`` is given without it.

    :param options: the module's resolved options.
    :param module: the module's name for messages (``GStorageWriter``).
    :param error_class: what permanent failures raise (``ReaderError`` or ``WriterError``).
    """

    conn_option: str
    default_conn_id: str
    legacy_option: str
    legacy_credentials: str  # the legacy credentials in messages, formatted with the options

    def __init__(self, options: dict[str, Any], module: str, error_class: type[OzzyError]) -> None:
        self.options = options
        self.module = module
        self.error_class = error_class
        self.retry_policy = current_policy()  # the export's budget, also in the threads it starts

    @property
    def uses_legacy(self) -> bool:
        return bool(self.options[self.legacy_option]) and not self.options[self.conn_option]

    @property
    def conn_id(self) -> str:
        return str(self.options[self.conn_option] or self.default_conn_id)

    def describe(self) -> str:
        """Where the credentials come from, for messages (never the secret)."""
        if self.uses_legacy:
            return self.legacy_credentials.format(**self.options)
        return f"connection '{self.conn_id}'"


class StoreConnection(StoreAccess):
    """A module's access to one container of an object store (a bucket, a share): its SDK calls
    under Ozzy's retry policy, their errors translated to Ozzy's.

    Subclasses name the service (``label``), say where a name is (``where_short``) and translate
    the SDK's errors (``_translate``).
    """

    label: str  # the service, for the retry log lines

    def where_short(self, name: str | None) -> str:
        """``container/name`` for the retry log lines."""
        raise NotImplementedError

    def _translate(self, error: BaseException, name: str | None) -> BaseException:
        """A transient error as one ``retries.is_transient`` knows, an Ozzy error naming the module
        and the place, or ``error`` itself when the service has nothing to say about it."""
        raise NotImplementedError

    def _stream_failure(self, error: BaseException, name: str | None) -> BaseException | None:
        """What an error while reading ``name`` means beyond ``_translate`` (``None``: nothing more)."""
        return None

    def run(
        self,
        operation: Callable[[], T],
        name: str | None = None,
        attempts: int | None = None,
        action: str | None = None,
    ) -> T:
        """``operation()`` (SDK calls made without the SDK's retries) under Ozzy's retry policy.

        :param action: what it does, for the retry log lines (default: the function's name).
        """
        what = f"{self.label} {operation_label(operation, action)} {self.where_short(name)}"
        return call_translated(
            operation, lambda error: self.translate(error, name), attempts, what, self.retry_policy
        )

    def translate(self, error: BaseException, name: str | None = None, stream: bool = False) -> BaseException:
        """A transient error as one ``retries.is_transient`` knows, or a permanent Ozzy error.

        ``stream``: for errors while reading an object, which the stream reader prefixes with
        the module's name itself.
        """
        if isinstance(error, OzzyError):
            return error
        found = self._stream_failure(error, name) if stream else None
        translated = found if found is not None else self._translate(error, name)
        if not stream or not isinstance(translated, OzzyError):
            return translated
        text = str(translated).removeprefix(f"{self.module}: ")
        if isinstance(translated, TransientError):
            return TransientError(text, translated.status_code, translated.original)
        return type(translated)(text)


def require_connection(
    hook_class: Any, conn_id: str, conn_option: str, module: str, place: str, error_class: type[OzzyError]
) -> None:
    """Fail with ``error_class`` naming the option and the place when Airflow has no ``conn_id``
    (the hooks' own error would not say which option or which bucket); other errors pass."""
    try:
        hook_class.get_connection(conn_id)
    except Exception as error:
        if type(error).__name__ in ("AirflowNotFoundException", "ConnectionNotFoundError"):
            raise permanent(
                error_class(
                    f"{module}: Airflow connection '{conn_id}' (option '{conn_option}') is not "
                    f"defined; {place} cannot be reached"
                )
            ) from None
        raise


def stored_differences(
    where: str, found: tuple[int, str | None] | None, size: int, md5: str | None
) -> list[str]:
    """How the object at ``where`` (its ``(size, md5)``, ``None`` if absent) differs from what was sent.

    :return: one message, or none when the object matches.
    """
    if found is None:
        return [f"{where} is not present at the destination"]
    found_size, found_md5 = found
    if found_size != size:
        return [f"{where} has {found_size} bytes, expected {size}"]
    if found_md5 != md5:
        return [f"{where} has md5 {found_md5}, expected {md5}"]
    return []
