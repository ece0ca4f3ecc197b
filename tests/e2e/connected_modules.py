"""A test module that uses an Airflow connection the way Ozzy's service modules do.

``ConnectedFSWriter`` is an ``FSWriter`` that "logs in" first: ``login_conn_id`` names an Airflow
connection resolved when the writer opens (inside ``execute()``, never at parse time), and ``api_key``
is an option marked secret, meant to be templated from a connection (``{{ conn.ID.password }}``),
like exporters' credential options. It checks that both carry the same password and leaves a digest
of it (never the password itself) next to the output, so a test knows the secret really reached the
export.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from airflow_provider_ozzy.errors import WriterError
from airflow_provider_ozzy.writers.fs_writer import FSWriter

PROOF_FILE = "login.sha256"


class ConnectedFSWriter(FSWriter):
    """Writes like FSWriter after checking the credentials of an Airflow connection."""

    supported_options = {
        "login_conn_id": {"type": str, "help": "Airflow connection holding the login and password."},
        "api_key": {
            "type": str,
            "secret": True,
            "help": "The password again, templated from the connection.",
        },
    }

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        from airflow.providers.common.compat.sdk import BaseHook

        connection = BaseHook.get_connection(self.options["login_conn_id"])
        if not connection.password or connection.password != self.options["api_key"]:
            raise WriterError("ConnectedFSWriter: option 'api_key' does not match the connection's password")
        self.log.info("logged in to %s as %s", connection.host, connection.login)
        folder = os.path.dirname(self.options["filebase"])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, PROOF_FILE), "w") as handle:
            handle.write(hashlib.sha256(connection.password.encode()).hexdigest())
        super().open(formatter, state)
