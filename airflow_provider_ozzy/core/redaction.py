"""Secrets out of free text: every message, log line and error passes through ``mask``.

- ``mask(text)`` removes every secret value registered so far (``register_secret``: the secret
  options of the running configuration, see ``engine.secret_options``) or given by the caller
  (``mask(text, [password])``), in raw, URL-quoted and URL-unquoted forms; the password of any URL
  (``scheme://user:PASSWORD@host``, even with raw ``/ : @ %`` in it); and the values of
  secret-named query parameters (``?token=``, ``sig=``, ``X-Amz-Signature=``, ...).
- ``redact_url(url)`` is one URL without its secret parts: password, secret query values and
  token-like path segments (``/services/T000/B000/<token>`` of a Slack-style webhook).
- ``install_log_masking()`` puts ``mask`` on every log record.

It knows no configuration, so the ground floor (``errors``, ``retries``, the services) can use it.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
import urllib.parse
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
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


def url_secrets(url: str) -> list[str]:
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
