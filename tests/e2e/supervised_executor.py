"""A test executor that runs each task the way a worker does, without an API server.

``airflow dags test --use-executor`` with ``AIRFLOW__CORE__EXECUTOR`` set to this class hands each
task instance to Airflow's real supervisor (``supervise_task``): it forks a task process that runs
``task_runner.main()`` (stats backend initialised from ``[metrics]``, SIGTERM wired to
``on_kill()``, the DAG file parsed from its bundle) and talks to it over the usual sockets. The only
thing replaced is the transport to the Execution API: the in-process API app (the one
``dag.test()`` uses) instead of HTTP to an ``airflow api-server`` (which takes ~12 s to start here).

Tasks run one at a time, synchronously inside ``heartbeat()``, so the supervisor is the process that
runs ``airflow dags test`` (while a task runs it forwards SIGTERM/SIGINT to the task process). The
supervisor's return is reported as the workload's completion, like ``LocalExecutor`` does (the task
process reports its own state to the Execution API).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.executors.base_executor import BaseExecutor
from airflow.executors.workloads import ExecuteTask


class SupervisedInProcessAPIExecutor(BaseExecutor):
    """Runs every task instance under ``supervise_task`` with the in-process Execution API client."""

    is_local: bool = True
    is_production: bool = False
    serve_logs: bool = False

    _client: Any = None

    def _process_workloads(self, workload_items: Sequence[Any]) -> None:
        from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise_task

        if self._client is None:  # building the in-process API app takes seconds: once per run
            self._client = InProcessTestSupervisor._api_client()

        for workload in workload_items:
            if not isinstance(workload, ExecuteTask):
                raise NotImplementedError(f"{type(self).__name__} runs task workloads only")
            self.queued_tasks.pop(workload.key, None)
            self.running.add(workload.key)
            try:
                supervise_task(
                    ti=workload.ti,  # type: ignore[arg-type]
                    bundle_info=workload.bundle_info,
                    dag_rel_path=workload.dag_rel_path,
                    token=workload.token,
                    log_path=workload.log_path,
                    subprocess_logs_to_stdout=True,
                    client=self._client,
                )
            except Exception:
                self.log.exception("supervising %s failed", workload.key)
                self.fail(workload.key)
            else:
                self.success(workload.key)

    def end(self) -> None:
        """Nothing runs in the background: every task finished inside ``heartbeat()``."""

    def terminate(self) -> None:
        self.end()
