"""Job state in Airflow's task state store (Airflow 3.3+): the default inside the operator.

The store is scoped to dag_id/run_id/task_id/map_index and survives retries and worker crashes,
so try N+1 continues from the position try N committed. XComs cannot do this: Airflow clears a
task's XComs at the start of every try.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import orjson

from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence

STATE_KEY = "ozzy_state"
# the store warns above 64 KiB per value: big states (many groups) are stored compressed
_COMPRESS_ABOVE = 32 * 1024


def encode_state(state: dict[str, Any]) -> dict[str, Any]:
    """A JSON value for the store; large states are zlib-compressed and base64-encoded."""
    raw = orjson.dumps(state, option=orjson.OPT_NON_STR_KEYS)
    if len(raw) <= _COMPRESS_ABOVE:
        return {"format": "ozzy-1", "state": orjson.loads(raw)}
    return {"format": "ozzy-1z", "state": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")}


def decode_state(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("format") not in ("ozzy-1", "ozzy-1z"):
        raise PersistenceError(
            f"AirflowPersistence: the stored value under '{STATE_KEY}' is not an Ozzy state"
        )
    if value["format"] == "ozzy-1":
        return value["state"]
    return orjson.loads(zlib.decompress(base64.b64decode(value["state"])))


class AirflowPersistence(BasePersistence):
    """Commits positions to ``context["task_state_store"]`` of the running task instance."""

    supported_options = {
        "key": {"type": str, "default": STATE_KEY, "help": "Key of the state in the task state store."},
    }

    def __init__(self, options: dict[str, Any] | None = None, store: Any = None) -> None:
        super().__init__(options)
        self.store = store

    def _store(self) -> Any:
        if self.store is None:
            try:
                from airflow.sdk import get_current_context

                self.store = get_current_context()["task_state_store"]
            except Exception as error:  # outside a running task there is no store
                raise PersistenceError(
                    "AirflowPersistence works only inside an Airflow 3.3+ task (no task_state_store in the context); "
                    f"use PicklePersistence or AlchemyPersistence elsewhere ({error})"
                ) from None
        return self.store

    def open(self, job_id: str, configuration: dict[str, Any], resume: bool | None) -> dict[str, Any] | None:
        self.job_id = job_id
        self.configuration = configuration
        state = decode_state(self._store().get(self.options["key"]))
        if state is not None:
            self.log.info(
                "Resuming from the position committed by an earlier try (batch %s)", state.get("batch")
            )
        return self.check_resume(state)

    def commit(self, state: dict[str, Any]) -> None:
        self._store().set(self.options["key"], encode_state(self.stamped(state)))

    def delete(self) -> None:
        self._store().delete(self.options["key"])

    @property
    def uri(self) -> str:
        return f"airflow-task-state:{self.job_id}"
