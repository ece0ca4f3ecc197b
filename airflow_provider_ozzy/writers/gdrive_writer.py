"""``GDriveWriter``: files in Google Drive under ``filebase``, folders found or created by name.

Credentials come from an Airflow Google Cloud connection (``gcp_conn_id``, resolved by the google
provider's ``GoogleDriveHook``; the connection needs the Drive scope), or from exporters'
``credentials`` and ``client_secret`` objects (an OAuth client and its refresh token).

Uploads use Drive's resumable protocol in ``chunk_size`` pieces: a chunk that fails is retried from
the last byte Drive acknowledged, not from the start. Drive creates the file only when its last
byte arrives, so no partial file ever appears under a name. A resumed job that rewrites a file
finds the one of the earlier run by name: it is left alone when its size and md5 already match,
and its content is replaced otherwise, so every name is present once. ``check_consistency``
compares the size and md5 Drive reports with those of the local file.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_ozzy.core.checksums import file_md5
from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.retries import retrying
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter

FOLDER = "application/vnd.google-apps.folder"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
CHUNK_UNIT = 256 * 1024  # Drive wants every chunk but the last to be a multiple of 256 KiB
ATTEMPTS = 8
_FILE_FIELDS = "id,name,size,md5Checksum"


class GDriveWriter(FilebaseBaseWriter):
    """Uploads files to Google Drive under ``filebase`` (a folder path from ``folder_id``)."""

    supported_options = {
        "gcp_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow Google Cloud connection with the Drive scope. Used when set, and when "
            "no credentials objects are given (then google_cloud_default).",
        },
        "credentials": {
            "type": (dict, str, type(None)),
            "default": None,
            "secret": True,
            "help": "Legacy: exporters' OAuth credentials object (refresh_token, client_id, ...).",
        },
        "client_secret": {
            "type": (dict, str, type(None)),
            "default": None,
            "secret": True,
            "help": "Legacy: exporters' OAuth client secrets object ({'installed': {...}}).",
        },
        "folder_id": {
            "type": str,
            "default": "root",
            "help": "Drive folder the filebase path starts in (default: My Drive).",
        },
        "api_endpoint": {
            "type": (str, type(None)),
            "default": None,
            "help": "Drive API endpoint, for private endpoints: https://host (the API under "
            "/drive/v3/, uploads under /upload/drive/v3/) or the API's full base URL. Default: Google's.",
        },
        "chunk_size": {
            "type": int,
            "minimum": CHUNK_UNIT,
            "maximum": 4 * 1024**3,
            "default": 32 * CHUNK_UNIT,
            "help": f"Bytes per upload request, a multiple of {CHUNK_UNIT}.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._service: Any = None
        self._folders: dict[str, str] = {}  # folder path -> id
        self._file_ids: dict[str, str] = {}  # destination -> Drive file id, for check_consistency
        self._token_uri: str | None = None

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if (values["credentials"] is None) != (values["client_secret"] is None):
            problems.append(
                Problem(
                    "credentials", "give both credentials and client_secret, or neither (use gcp_conn_id)"
                )
            )
        for option in ("credentials", "client_secret"):
            if isinstance(values[option], str):
                try:
                    parsed = json.loads(values[option])
                except ValueError:
                    parsed = None
                if not isinstance(parsed, dict):
                    problems.append(Problem(option, f"option '{option}' must be a JSON object"))
        if values["chunk_size"] <= 0 or values["chunk_size"] % CHUNK_UNIT:
            problems.append(
                Problem("chunk_size", f"option 'chunk_size' must be a positive multiple of {CHUNK_UNIT}")
            )
        endpoint = values["api_endpoint"]
        if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
            problems.append(Problem("api_endpoint", f"api_endpoint {endpoint!r} is not an http(s) URL"))
        return problems

    # -- the Drive service ----------------------------------------------------------------------
    def service(self) -> Any:
        if self._service is None:
            from googleapiclient.discovery import build

            endpoint = self.options["api_endpoint"]
            client_options = {"api_endpoint": _api_base(endpoint)} if endpoint else {}
            credentials = self._credentials()
            self._token_uri = getattr(credentials, "token_uri", None) or getattr(
                credentials, "_token_uri", None
            )
            self._service = build(
                "drive",
                "v3",
                credentials=credentials,
                client_options=client_options,
                static_discovery=True,
                cache_discovery=False,
            )
        return self._service

    def _credentials(self) -> Any:
        if self.options["credentials"] is None or self.options["gcp_conn_id"]:
            from airflow.providers.google.suite.hooks.drive import GoogleDriveHook

            hook = GoogleDriveHook(gcp_conn_id=self.options["gcp_conn_id"] or "google_cloud_default")
            return hook.get_credentials()
        from google.oauth2.credentials import Credentials

        stored, client = _as_dict(self.options["credentials"]), _as_dict(self.options["client_secret"])
        client = client.get("installed") or client.get("web") or client
        return Credentials(
            token=None,  # refreshed at the first request: a stored access token is long expired
            refresh_token=stored.get("refresh_token"),
            client_id=stored.get("client_id") or client.get("client_id"),
            client_secret=stored.get("client_secret") or client.get("client_secret"),
            token_uri=stored.get("token_uri") or client.get("token_uri") or DEFAULT_TOKEN_URI,
            scopes=[DRIVE_SCOPE],
        )

    @property
    def where(self) -> str:
        return self.options["api_endpoint"] or "Google Drive"

    def _execute(self, request: Any, what: str) -> Any:
        return self._retried(lambda: request.execute(num_retries=0), what)

    def _retried(self, operation: Any, what: str) -> Any:
        try:
            return retrying(ATTEMPTS)(lambda: _translated(operation, self._token_uri))
        except WriterError:
            raise
        except Exception as error:
            raise WriterError(f"GDriveWriter: cannot {what} ({self.where}): {_error_text(error)}") from None

    # -- folders ------------------------------------------------------------------------------------
    def folder(self, path: str) -> str:
        """The id of folder ``path`` (below ``folder_id``), creating missing folders by name."""
        parts = [part for part in path.split("/") if part]
        parent, walked = self.options["folder_id"], ""
        for part in parts:
            walked = f"{walked}/{part}"
            if walked not in self._folders:
                found = self._find(part, parent, folders=True)
                self._folders[walked] = found["id"] if found else self._create_folder(part, parent, walked)
            parent = self._folders[walked]
        return parent

    def _find(self, name: str, parent: str, folders: bool) -> dict[str, Any] | None:
        query = (
            f"name = '{_quoted(name)}' and '{_quoted(parent)}' in parents and trashed = false and "
            f"mimeType {'=' if folders else '!='} '{FOLDER}'"
        )
        request = self.service().files().list(q=query, spaces="drive", fields=f"files({_FILE_FIELDS})")
        found = self._execute(request, f"look for {name!r} in folder {parent}").get("files", [])
        return found[0] if found else None

    def _create_folder(self, name: str, parent: str, path: str) -> str:
        body = {"name": name, "mimeType": FOLDER, "parents": [parent]}
        created = self._execute(
            self.service().files().create(body=body, fields="id"), f"create folder {path}"
        )
        self.log.info("GDriveWriter: created folder %s", path)
        return str(created["id"])

    # -- files --------------------------------------------------------------------------------------
    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        directory, name = posixpath.split(destination)
        parent = self.folder(directory)
        md5 = finished.md5 or file_md5(local_path)
        existing = self._find(name, parent, folders=False)
        if existing and int(existing.get("size", -1)) == finished.size and existing.get("md5Checksum") == md5:
            self.log.info("GDriveWriter: %s is already in Drive (same size and md5)", destination)
            self._file_ids[destination] = existing["id"]
            return
        uploaded = self._upload(local_path, destination, name, parent, existing["id"] if existing else None)
        self._file_ids[destination] = uploaded["id"]
        self.log.info(
            "GDriveWriter: %s %s (%s bytes)",
            "replaced" if existing else "uploaded",
            destination,
            uploaded.get("size"),
        )

    def _upload(
        self, local_path: str, destination: str, name: str, parent: str, replace_id: str | None
    ) -> dict[str, Any]:
        from googleapiclient.http import MediaFileUpload

        media = MediaFileUpload(
            local_path,
            mimetype="application/octet-stream",
            chunksize=self.options["chunk_size"],
            resumable=True,
        )
        files = self.service().files()
        if replace_id:
            request = files.update(fileId=replace_id, media_body=media, fields=_FILE_FIELDS)
        else:
            request = files.create(
                body={"name": name, "parents": [parent]}, media_body=media, fields=_FILE_FIELDS
            )
        request.uri = self._on_endpoint(request.uri)
        response = None
        while response is None:
            # a failed chunk leaves the request in an error state: the next call asks Drive how
            # much it has and continues from there
            _, response = self._retried(lambda: request.next_chunk(num_retries=0), f"upload {destination}")
        return dict(response)

    def _on_endpoint(self, uri: str) -> str:
        """googleapiclient keeps Google's scheme in upload URLs even with another api_endpoint: use the endpoint's."""
        endpoint = self.options["api_endpoint"]
        if not endpoint:
            return uri
        target, parts = urlsplit(endpoint), urlsplit(uri)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))

    def check_file(self, written: WrittenFile) -> list[str]:
        file_id = self._file_ids.get(written.name)
        if file_id is None:
            return [f"{written.name} is not present in Drive"]
        request = self.service().files().get(fileId=file_id, fields=_FILE_FIELDS)
        found = self._execute(request, f"read the metadata of {written.name}")
        size, md5 = int(found.get("size", -1)), found.get("md5Checksum")
        problems = []
        if size != written.size:
            problems.append(f"{written.name} has {size} bytes in Drive, expected {written.size}")
        if md5 != written.md5:
            problems.append(f"{written.name} has md5 {md5} in Drive, expected {written.md5}")
        return problems


def _api_base(endpoint: str) -> str:
    """The Drive API base URL of an endpoint given as a bare host (``https://host`` -> ``.../drive/v3/``)."""
    parts = urlsplit(endpoint)
    path = parts.path if parts.path.strip("/") else "/drive/v3/"
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/", "", ""))


def _as_dict(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _quoted(value: str) -> str:
    """A value inside a single-quoted Drive query literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _translated(operation: Any, token_uri: str | None) -> Any:
    """Run ``operation``; refused credentials fail at once, an unreachable token endpoint is retried.

    HTTP errors keep their status, which ``retries.is_transient`` reads.
    """
    from google.auth.exceptions import RefreshError, TransportError

    try:
        return operation()
    except RefreshError as error:
        raise WriterError(
            f"GDriveWriter: the token endpoint {token_uri} refused the credentials: {_refresh_text(error)}"
        ) from None
    except TransportError as error:
        raise ConnectionError(f"cannot reach the token endpoint {token_uri}: {error}") from None


def _refresh_text(error: Exception) -> str:
    args = getattr(error, "args", ())
    return str(args[0]) if args else type(error).__name__


def _error_text(error: BaseException) -> str:
    from googleapiclient.errors import HttpError

    if isinstance(error, HttpError):
        return f"HTTP {error.status_code} {error.reason}"
    return f"{type(error).__name__}: {error}"
