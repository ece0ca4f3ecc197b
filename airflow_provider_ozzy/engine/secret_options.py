"""Secrets out of every message, log line and stored configuration: one place for all masking.

- ``mask(text)`` is THE function every error path, log handler and notifier uses on free text:
  it removes every secret value Ozzy has seen in a configuration (``register_configuration``) or
  that a caller knows (``mask(text, [password])``), in raw, URL-quoted and URL-unquoted forms; the
  password of any URL (``scheme://user:PASSWORD@host``, even with raw ``/ : @ %`` in it); and the
  values of secret-named query parameters (``?token=``, ``sig=``, ``X-Amz-Signature=``, ...).
- ``redact_url(url)`` is one URL without its secret parts: password, secret query values and
  token-like path segments (``/services/T000/B000/<token>`` of a Slack-style webhook).
- ``strip_secrets(configuration)`` is the configuration a job state stores (pickle file, database
  row): secret options removed, every URL option redacted, and the path of each change listed.
  ``ozzy resume`` puts them back from the configuration file the job was started from
  (``restore_secrets``); without it, a secret comes from its option's environment variable
  (``env_fallback``) or from the Airflow connection the module names, as on the first run.
- ``redact_configuration(configuration)`` is the same with ``***`` in place of secret options, for
  notifications.
- ``install_log_masking()`` puts ``mask`` on every handler of the root logger.

A secret option is one declared ``"secret": True`` by its module, or whose name says it holds one
(``SECRET_NAME``: modules Ozzy cannot load are covered by that rule).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
import traceback
import urllib.parse
from collections.abc import Iterable
from typing import Any

Path = list[Any]

REDACTED = "***"
SECRET_NAME = re.compile(
    r"passw|passphrase|secret|token|api_?key|access_key|private_key|credential", re.IGNORECASE
)
# query parameters whose values are secrets: tokens, keys, signatures (Azure SAS ``sig``,
# presigned ``X-Amz-Signature``/``X-Amz-Credential``/``X-Amz-Security-Token``), OAuth codes
_SECRET_QUERY = re.compile(r"passw|pwd|secret|token|key|sig|credential|auth|code|session", re.IGNORECASE)
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
_STOP = r"\s'\"<>`"
# userinfo with a password: the password runs to the last '@' of the URL's text
_USERINFO = re.compile(rf"({_SCHEME}[^{_STOP}:/?#@]*):[^{_STOP}]*@")
_QUERY_VALUE = re.compile(rf"([?&;][^=&#{_STOP}]*=)([^&#{_STOP}]+)")
_MIN_SECRET = 6  # shorter values would mask ordinary words

_known: set[str] = set()
_known_lock = threading.Lock()


def _forms(value: str) -> set[str]:
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.unquote(value)}
    return {form for form in forms if len(form) >= _MIN_SECRET}


def register_secret(*values: Any) -> None:
    """Mask these values (and their URL-quoted forms) in every later message and log line."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, str) and value:
            found |= _forms(value)
    if found:
        with _known_lock:
            _known.update(found)


def mask(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret replaced by ``***`` (see the module docstring)."""
    text = "" if text is None else str(text)
    if not text:
        return text
    values: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= 3:  # a shorter one would mask letters of every word
            values |= _forms(secret) | {secret}
    with _known_lock:
        values |= _known
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    if "://" in text:
        text = _USERINFO.sub(rf"\1:{REDACTED}@", text)
    if "=" in text:
        text = _QUERY_VALUE.sub(_mask_query_value, text)
    return text


def _mask_query_value(match: re.Match[str]) -> str:
    key = match.group(1)[1:-1]
    return match.group(1) + REDACTED if _SECRET_QUERY.search(key) else match.group(0)


# -- URLs -------------------------------------------------------------------------------------------------


def _split_userinfo(url: str) -> tuple[str, str | None, str | None, str]:
    """(scheme://, user, password, rest) of a URL whose password may hold raw ``/ : @ %``."""
    match = re.match(rf"({_SCHEME})([^:/?#@\s]*):(.*)@([^@]*)$", url, re.DOTALL)
    if match is None:
        match_user = re.match(rf"({_SCHEME})([^:/?#@\s]*)@([^@]*)$", url, re.DOTALL)
        if match_user is None:
            head = re.match(_SCHEME, url)
            return (head.group(0) if head else "", None, None, url[head.end() :] if head else url)
        return match_user.group(1), match_user.group(2), None, match_user.group(3)
    return match.group(1), match.group(2), match.group(3), match.group(4)


_WEB_SCHEMES = ("http://", "https://", "ws://", "wss://")


def _token_like(segment: str) -> bool:
    """A path segment that may be a credential: long (20 or more characters, as tokens are), or
    mixing several letters and digits. Names such as an account or a container in a URL's path
    (``/devstoreaccount1``) are not: masking them would hide where an error happened."""
    text = urllib.parse.unquote(segment)
    if len(text) >= 20:
        return True
    digits = sum(c.isdigit() for c in text)
    return len(text) >= 8 and digits >= 2 and sum(c.isalpha() for c in text) >= 2


def _url_secrets(url: str) -> list[str]:
    """The secret parts of a URL: password, token-like path segments, secret query values."""
    scheme, _user, password, rest = _split_userinfo(url)
    if not scheme:
        return []
    found = [password] if password else []
    if password:  # clients that misparse a raw '/ : @' show only a piece of it
        found.extend(piece for piece in re.split(r"[/:@]", password) if len(piece) >= _MIN_SECRET)
    location, _, _fragment = rest.partition("#")
    location, _, query = location.partition("?")
    _host, _, path = location.partition("/")
    if scheme.lower() in _WEB_SCHEMES:  # elsewhere (s3://, sftp://, ...) a path holds names
        found.extend(segment for segment in path.split("/") if _token_like(segment))
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if value and _SECRET_QUERY.search(urllib.parse.unquote(key)):
            found.append(value)
    return found


def redact_url(url: str) -> str:
    """``url`` without its password, token-like path segments and secret query values."""
    if "://" not in url:
        return url
    scheme, user, password, rest = _split_userinfo(url)
    if not scheme:
        return url
    location, hash_mark, fragment = rest.partition("#")
    location, question, query = location.partition("?")
    host, slash, path = location.partition("/")
    if scheme.lower() in _WEB_SCHEMES:  # elsewhere (s3://, sftp://, ...) a path holds names
        path = "/".join(REDACTED if _token_like(segment) else segment for segment in path.split("/"))
    pairs = []
    for pair in query.split("&") if question else []:
        key, equals, value = pair.partition("=")
        secret = value and _SECRET_QUERY.search(urllib.parse.unquote(key))
        pairs.append(f"{key}{equals}{REDACTED if secret else value}")
    userinfo = ""
    if user is not None:
        userinfo = f"{user}:{REDACTED}@" if password is not None else f"{user}@"
    return f"{scheme}{userinfo}{host}{slash}{path}{question}{'&'.join(pairs)}{hash_mark}{fragment}"


# -- configurations -----------------------------------------------------------------------------------


def _sections(data: dict[str, Any]) -> list[tuple[Path, str, Any]]:
    """(path, section kind, section) of every module section of a configuration."""
    from airflow_provider_ozzy.engine.config import MODULE_SECTIONS

    found: list[tuple[Path, str, Any]] = [
        (["section", name], name, data.get(name)) for name in MODULE_SECTIONS
    ]
    options = data.get("exporter_options")
    if isinstance(options, dict):
        found.append((["exporter_options", "formatter"], "formatter", options.get("formatter")))
        notifiers = options.get("notifications")
        if isinstance(notifiers, list):
            found.extend(
                (["exporter_options", "notifications", index], "notifications", each)
                for index, each in enumerate(notifiers)
            )
    return [(path[1:] if path[0] == "section" else path, kind, section) for path, kind, section in found]


def _declared(section: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    from airflow_provider_ozzy.core.options import merged_options
    from airflow_provider_ozzy.engine.registry import SECTION_KINDS, UnknownModuleError, resolve

    try:
        return merged_options(resolve(str(section.get("name")), SECTION_KINDS.get(kind)))
    except (UnknownModuleError, ImportError):
        return {}


def _redacted(configuration: dict[str, Any], drop: bool) -> tuple[dict[str, Any], list[Path]]:
    """A copy of ``configuration`` with secret options dropped (``drop``) or set to ``***``, every URL
    text redacted (``redact_url``), and the path of every change."""
    data = copy.deepcopy(configuration)
    changed: list[Path] = []

    def secret(container: Any, key: Any, path: Path) -> None:
        if drop:
            del container[key]
        else:
            container[key] = REDACTED
        changed.append(path)

    def walk(container: Any, key: Any, path: Path, declared_secret: bool = False) -> None:
        value = container[key]
        if declared_secret or (isinstance(key, str) and SECRET_NAME.search(key)):
            secret(container, key, path)
        elif isinstance(value, str):
            cleaned = redact_url(value)
            if cleaned != value:
                container[key] = cleaned
                changed.append(path)
        elif isinstance(value, dict):
            for inner in list(value):
                walk(value, inner, [*path, inner])
        elif isinstance(value, list):
            for index in range(len(value)):
                walk(value, index, [*path, index])

    for path, kind, section in _sections(data):
        if not isinstance(section, dict) or not isinstance(section.get("options"), dict):
            continue
        declared = _declared(section, kind)
        options = section["options"]
        for name in list(options):
            walk(options, name, [*path, "options", name], bool(declared.get(name, {}).get("secret")))
    return data, changed


def strip_secrets(configuration: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    """The configuration a job state stores: no secret option, every URL redacted; and the path of
    every option removed or changed (``restore_secrets`` puts them back on resume)."""
    return _redacted(configuration, drop=True)


def redact_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """A copy of a job configuration with every secret option ``***`` and every URL redacted."""
    return _redacted(configuration, drop=False)[0]


def secret_values(configuration: dict[str, Any]) -> list[str]:
    """Every secret text of a job configuration: secret options, and the secret parts of URLs."""
    _, paths = _redacted(configuration, drop=True)
    values: list[str] = []
    for path in paths:
        value, found = _get(configuration, path)
        if found:
            values.extend(_secret_strings(value))
    return values


def register_configuration(configuration: dict[str, Any]) -> None:
    """Remember the secret values of a job configuration, so ``mask`` removes them from any text."""
    register_secret(*secret_values(configuration))


def _secret_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        # a URL (a service account's token_uri, say) is secret only in its secret parts: the whole
        # of it masked would hide the place of every later error that names it
        return _url_secrets(value) if "://" in value else [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _secret_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _secret_strings(item)]
    return []


# -- logs -------------------------------------------------------------------------------------------------


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with ``mask`` applied to its message, traceback and stack."""
    if getattr(record, "_ozzy_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is the logging module's to report
        return record
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    record._ozzy_masked = True
    return record


class MaskingFilter(logging.Filter):
    """``mask_record`` as a handler filter."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_factory_installed = False


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Mask every log record: at its creation (a record factory, which survives the handlers being
    replaced, as importing Airflow does) and on every handler of ``logger`` (root by default)."""
    global _factory_installed
    with _known_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return mask_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(each, MaskingFilter) for each in handler.filters):
            handler.addFilter(MaskingFilter())


def protect(configuration: dict[str, Any]) -> None:
    """What an export does first: its secrets registered, and every log handler masking."""
    register_configuration(configuration)
    install_log_masking()


def restore_secrets(configuration: dict[str, Any], source: str | None, paths: list[Path]) -> dict[str, Any]:
    """``configuration`` with the values at ``paths`` taken again from the config file ``source``.

    A missing or changed file restores nothing: the options then resolve as on a first run
    (environment variable, connection) or validation names the option that is missing.
    """
    if not paths:
        return configuration
    if not source or not os.path.isfile(source):
        logging.getLogger("airflow_provider_ozzy.secrets").warning(
            "The job state holds %d option(s) without their secrets (%s); the config file it started "
            "from (%s) is gone, so they come from environment variables or connections, or are missing",
            len(paths),
            ", ".join(".".join(str(key) for key in path) for path in paths),
            source or "unknown",
        )
        return configuration
    from airflow_provider_ozzy.engine.config import load_config
    from airflow_provider_ozzy.errors import ConfigurationError

    try:
        original = load_config(source).data
    except ConfigurationError:
        return configuration
    data = copy.deepcopy(configuration)
    for path in paths:
        value, found = _get(original, path)
        if found:
            _set(data, path, value)
    return data


def _get(data: Any, path: Path) -> tuple[Any, bool]:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None, False
    return data, True


def _set(data: Any, path: Path, value: Any) -> None:
    parent, found = _get(data, path[:-1])
    if found and isinstance(parent, dict):
        parent[path[-1]] = value
    elif found and isinstance(parent, list) and isinstance(path[-1], int) and 0 <= path[-1] < len(parent):
        parent[path[-1]] = value
