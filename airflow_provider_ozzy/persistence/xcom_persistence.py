"""Cross-run resume through XCom: each DAG run continues from where the previous run stopped.

Every commit is pushed as an XCom of the task (and mirrored into the task state store, because
Airflow clears a task's XComs at the start of every try). A new run reads the latest earlier
value with ``include_prior_dates`` and this task's ``map_index``:

- an unfinished earlier job is resumed exactly (the failed run's work is not repeated);
- a finished one is *continued*: reading starts at its final reader position (new files, new Kafka
  offsets), file numbers go on from where they were, counters start again.

A resume (of an earlier try, or of an unfinished earlier run) is refused when the deciding
configuration changed (``deciding_config``); continuing a finished run is not a resume and is not
checked.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.engine.commit_protocol import continuation
from airflow_provider_ozzy.persistence.airflow_persistence import STATE_KEY, decode_state, encode_state
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence


class XComPersistence(BasePersistence):
    """Positions as XComs of the running task, for incremental exports across DAG runs."""

    supported_options = {
        "key": {
            "type": str,
            "default": STATE_KEY,
            "help": "XCom key (and task state store key) of the state.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None, context: Any = None) -> None:
        super().__init__(options)
        self.context = context

    def _context(self) -> Any:
        if self.context is None:
            try:
                from airflow.sdk import get_current_context

                self.context = get_current_context()
            except Exception as error:
                raise PersistenceError(
                    f"XComPersistence works only inside an Airflow task ({error})"
                ) from None
        return self.context

    def open(self, job_id: str, configuration: dict[str, Any], resume: bool | None) -> dict[str, Any] | None:
        self.job_id = job_id
        self.configuration = configuration
        context = self._context()
        key = self.options["key"]
        store = context.get("task_state_store")
        state = decode_state(store.get(key)) if store is not None else None
        if state is not None:
            self.log.info("Resuming the position an earlier try of this run committed")
            return self.check_resume(state)
        ti = context["ti"]
        earlier = ti.xcom_pull(
            task_ids=ti.task_id, key=key, include_prior_dates=True, map_indexes=getattr(ti, "map_index", -1)
        )
        state = decode_state(earlier)
        if state is None:
            return None
        if state.get("finished"):
            self.log.info("Continuing after the previous run's final position: %s", state.get("reader"))
            return continuation(state)
        self.log.info("Resuming the unfinished job of a previous run from %s", state.get("reader"))
        return self.check_resume(state)

    def commit(self, state: dict[str, Any]) -> None:
        context = self._context()
        value = encode_state(self.stamped(state))
        context["ti"].xcom_push(key=self.options["key"], value=value)
        store = context.get("task_state_store")
        if store is not None:
            store.set(self.options["key"], value)

    @property
    def uri(self) -> str:
        return f"airflow-xcom:{self.job_id}"
