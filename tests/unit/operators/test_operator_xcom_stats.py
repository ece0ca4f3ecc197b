"""What the operator returns as its XCom: the export's counters, never its resume URI or job id."""

from __future__ import annotations

from airflow_provider_ozzy.operators.ozzy_export import _xcom_stats


def test_the_xcom_keeps_counters_results_and_bad_records_and_drops_the_resume_uri() -> None:
    stats = {
        "items_read": 10,
        "items_written": 8,
        "bad_records": 2,
        "result": {"sum": 45},
        "finished": True,
        "resume_uri": "pickle:/tmp/state",
        "job_id": "job",
    }
    assert _xcom_stats(stats) == {
        "items_read": 10,
        "items_written": 8,
        "bad_records": 2,
        "result": {"sum": 45},
        "finished": True,
    }
