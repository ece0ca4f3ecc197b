"""The "Ozzy exports" page on a real Airflow: api-server, scheduler and dag-processor (one stack).

The plugin comes in through the ``airflow.plugins`` entry point declared in ``pyproject.toml`` (when
the installed distribution does not declare it yet, as in a worktree, a dist-info holding the same
declaration is put on the stack's path). Two users: ``ozzy`` (admin) and ``reader`` (viewer, granted
one DAG by ``tests/e2e/one_dag_auth_manager.py``). Headless Chromium watches a paced export run
(progress advancing, then the final counts equal to its XCom), a sharded export rolled up per DAG
run, the page embedded in Airflow's UI, and the reader seeing only the DAG granted.

``OZZY_UI_SCREENSHOTS_TO_DOCS=1`` saves the screenshots to docs/images/ (else to the tmp dir).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import os
import subprocess
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.airflow_stack import AIRFLOW, ROOT, AirflowStack

PACED, SHARDED = "ozzy_ui_paced", "ozzy_ui_sharded"
PACED_ITEMS, PACED_BATCH, PACE = 6000, 100, 0.75  # 60 batches, 45 s in all
SHARDS, FILES, ITEMS_PER_FILE, BAD_LINES = 3, 6, 500, 2
SCREENSHOTS_TO_DOCS = os.environ.get("OZZY_UI_SCREENSHOTS_TO_DOCS") == "1"

# one Airflow stack for the tests of this module: one worker
pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("ozzy-ui")]

DAG_FILE = """
import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export

OUT, IN = os.environ["OZZY_UI_OUTPUT"], os.environ["OZZY_UI_INPUT"]
ITEMS, BATCH, PACE, SHARDS = (float(n) if "." in n else int(n) for n in os.environ["OZZY_UI_SIZES"].split(","))
# a try lost to this busy machine (a task process starved at start) is retried, and resumes
RETRIES = {"retries": 2, "retry_delay": timedelta(seconds=2)}

with DAG("ozzy_ui_paced", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as paced:
    OzzyExportOperator(
        task_id="export",
        reader={
            "name": "tests.e2e.paced_modules.PacedRandomReader",
            "options": {"number_of_items": ITEMS, "batch_size": BATCH, "seconds_per_batch": PACE},
        },
        writer={"name": "FSWriter", "options": {"filebase": OUT + "/paced/items_", "items_per_buffer_write": 1000}},
        progress_interval=0,
        **RETRIES,
    )

with DAG("ozzy_ui_sharded", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as sharded:
    ozzy_sharded_export(
        "export",
        shards=SHARDS,
        reader={"name": "FSReader", "options": {"input": {"dir": IN, "pattern": r"\\.jl\\.gz$"}, "batch_size": 200}},
        writer={"name": "FSWriter", "options": {"filebase": OUT + "/sharded/items_", "items_per_buffer_write": 400}},
        exporter_options={"dead_letter_file": OUT + "/bad-{job_id}.jl"},
        progress_interval=0,
        **RETRIES,
    )
"""


def _plugin_entry_points(base: Path) -> Path | None:
    """A folder with a dist-info declaring pyproject.toml's ``airflow.plugins`` entry points, or
    None when the installed distribution already declares them."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "airflow.plugins"
    ]
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="airflow.plugins")}
    if all(installed.get(name) == value for name, value in declared.items()):
        return None
    folder = base / "entry-points"
    dist_info = folder / "ozzy_plugin_under_test-0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ozzy-plugin-under-test\nVersion: 0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in declared.items())
    (dist_info / "entry_points.txt").write_text(f"[airflow.plugins]\n{lines}")
    return folder


def _input(folder: Path) -> None:
    """FILES gzip JSON-lines files; two of them hold one line that is not JSON (a bad record)."""
    folder.mkdir(parents=True)
    for part in range(FILES):
        lines = [json.dumps({"id": part * ITEMS_PER_FILE + n, "v": n}) for n in range(ITEMS_PER_FILE)]
        if part in (1, 4):
            lines.insert(7, "{this is not json")
        (folder / f"part-{part}.jl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), 1))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgresql_server: Any) -> Iterator[SimpleNamespace]:
    base = tmp_path_factory.mktemp("ozzy-ui")
    (base / "dags").mkdir()
    (base / "dags" / "ozzy_ui.py").write_text(DAG_FILE)
    _input(base / "in")
    airflow = AirflowStack(
        base / "dags",
        parallelism=2,
        extra_env={
            "OZZY_UI_INPUT": str(base / "in"),
            "OZZY_UI_OUTPUT": str(base / "out"),
            "OZZY_UI_SIZES": f"{PACED_ITEMS},{PACED_BATCH},{PACE},{SHARDS}",
        },
    )
    entry_points = _plugin_entry_points(base)
    if entry_points:
        airflow.env["PYTHONPATH"] = os.pathsep.join([str(entry_points), airflow.env["PYTHONPATH"]])
    airflow.env.update(
        AIRFLOW__CORE__AUTH_MANAGER="tests.e2e.one_dag_auth_manager.OneDagAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{airflow.user}:admin,reader:viewer",
        OZZY_UI_DAG_GRANTS=json.dumps({"reader": [PACED]}),
    )
    with airflow.kept_until_done():
        airflow.start()
        airflow.wait_for_dag(PACED)
        airflow.wait_for_dag(SHARDED)
        sharded_run = airflow.trigger(SHARDED)  # finishes while the browser tests start
        reader_password = json.loads((airflow.home / "passwords.json").read_text())["reader"]
        yield SimpleNamespace(
            airflow=airflow,
            base=base,
            sharded_run=sharded_run,
            reader_password=reader_password,
            shots=ROOT / "docs" / "images" if SCREENSHOTS_TO_DOCS else base,
        )


def _plugin_json(airflow: AirflowStack, path: str, token: str | None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{airflow.url}/ozzy{path}", headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def _token(airflow: AirflowStack, user: str, password: str) -> str:
    body = json.dumps({"username": user, "password": password}).encode()
    request = urllib.request.Request(
        f"{airflow.url}/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["access_token"])


def _failed_tries(airflow: AirflowStack, dag_id: str, run_id: str) -> str:
    """Every task instance's state, and the log's end of each that did not succeed."""
    lines = []
    for ti in airflow.task_instances(dag_id, run_id):
        lines.append(f"{ti['task_id']} [{ti['map_index']}] try {ti['try_number']}: {ti['state']}")
        if ti["state"] != "success" and ti["try_number"]:
            path = (
                f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/{ti['task_id']}"
                f"/logs/{ti['try_number']}?map_index={ti['map_index']}&full_content=true"
            )
            try:
                lines.append(json.dumps(airflow.api("GET", path))[-4000:])
            except Exception as error:
                lines.append(f"(no log: {error})")
    for name in ("scheduler", "api-server"):  # what the components said of the failed tasks
        log = (airflow.home / f"{name}.log").read_text(errors="replace").splitlines()
        lines += [line[:1500] for line in log if dag_id in line and ("rror" in line or "fail" in line)][-15:]
    return "\n".join(lines)


def _cells(ui: Any, dag_id: str, kind: str) -> dict[str, str] | None:
    """The texts of the first row of ``dag_id`` of this kind on the page, by column class."""
    from selenium.webdriver.common.by import By

    rows = ui.driver.find_elements(By.CSS_SELECTOR, f"tr[data-dag='{dag_id}'][data-kind='{kind}']")
    if not rows:
        return None
    try:
        cells = rows[0].find_elements(By.TAG_NAME, "td")
        found = {cell.get_attribute("class").split()[0]: cell.text for cell in cells}
        found["state"] = rows[0].get_attribute("data-state")
        return found
    except Exception:  # the table was redrawn between the two reads
        return None


def _wait(ui: Any, what: str, check: Any, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(
        f"{what} not seen after {timeout:.0f}s at {ui.driver.current_url}:\n{ui.text()[-3000:]}"
    )


def _number(text: str) -> int:
    return int(text.replace(",", "")) if text else 0


def test_airflow_plugins_lists_the_ozzy_plugin_with_its_app_and_page(stack: SimpleNamespace) -> None:
    result = subprocess.run(
        [AIRFLOW, "plugins", "--output", "json"],
        env=stack.airflow.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout[result.stdout.index("[") :])}
    assert "ozzy" in plugins, f"plugins listed: {sorted(plugins)}"
    ozzy = plugins["ozzy"]
    assert [(app["url_prefix"], app["name"]) for app in ozzy["fastapi_apps"]] == [("/ozzy", "Ozzy exports")]
    views = {view["url_route"]: view for view in ozzy["external_views"]}
    assert views["ozzy_exports"]["href"] == "/ozzy/exports"
    assert views["ozzy_exports_dag"]["href"] == "/ozzy/exports?dag_id={DAG_ID}"
    assert "airflow_provider_ozzy.plugins.ozzy_plugin" in str(ozzy["source"])


def test_the_page_follows_an_export_rolls_up_shards_and_shows_users_only_their_dags(
    stack: SimpleNamespace,
) -> None:
    """One scenario, in this order: each step reads the runs of the steps before it (the paced run
    is listed beside the sharded one; the permission check needs both DAGs to have exports)."""
    _a_running_export_advances_then_shows_its_final_counts(stack)
    _a_sharded_export_rolls_up_per_dag_run_in_the_page_embedded_in_airflow(stack)
    _a_user_sees_only_the_exports_of_the_dags_they_may_read(stack)


def _a_running_export_advances_then_shows_its_final_counts(stack: SimpleNamespace) -> None:
    from tests.e2e.ui_browser import AirflowUI, chromedriver

    airflow = stack.airflow
    with AirflowUI(airflow.url, chromedriver()) as ui:
        ui.login(airflow.user, airflow.password)
        ui.open(f"/ozzy/exports?dag_id={PACED}&task_id=export")
        ui.wait_for_text("Filter: dag_id = ozzy_ui_paced, task_id = export")
        # triggered once the page is open: on a loaded machine the browser's start and login took
        # longer than the whole paced export, which the page then only saw finished
        run_id = airflow.trigger(PACED)

        def running_with_items() -> dict[str, str] | None:
            cells = _cells(ui, PACED, "task")
            return (
                cells if cells and cells["state"] == "running" and _number(cells["items_read"]) > 0 else None
            )

        first = _wait(ui, "the running export with items read", running_with_items)
        assert first["run"] == run_id and "items/s" in first["rate"] and first["eta"], first
        assert first["committed_position"].startswith("batch "), first
        # the page polls by itself: the same page, not reloaded, shows more items read
        later = _wait(
            ui,
            "more items read",
            lambda: (
                (c := running_with_items()) and _number(c["items_read"]) > _number(first["items_read"]) and c
            ),
        )
        assert _number(later["items_written"]) >= _number(first["items_written"])
        # files written and a committed position past the start, for the screenshot
        _wait(ui, "items written", lambda: (c := running_with_items()) and _number(c["files_written"]) > 0)
        ui.screenshot(stack.shots / "ozzy-exports-running.png")

        done = _wait(
            ui,
            "the export's success",
            lambda: (c := _cells(ui, PACED, "task")) and c["state"] == "success" and c,
            timeout=300,
        )
        stats = airflow.xcom(PACED, run_id, "export")
        assert _number(done["items_read"]) == stats["items_read"] == PACED_ITEMS
        assert _number(done["items_written"]) == stats["items_written"] == PACED_ITEMS
        assert _number(done["files_written"]) == stats["files_written"]
        assert done["progress"].startswith("100%") and done["eta"] == "", done
        assert done["committed_position"].startswith("finished after batch 60"), done

        # the log link opens the task's log in Airflow's UI
        from selenium.webdriver.common.by import By

        row = ui.driver.find_element(By.CSS_SELECTOR, f"tr[data-dag='{PACED}'][data-kind='task']")
        log_link = row.find_element(By.LINK_TEXT, "log").get_attribute("href")
        xcom_link = row.find_element(By.LINK_TEXT, "XCom").get_attribute("href")
        task_path = f"/dags/{PACED}/runs/{urllib.parse.quote(run_id, safe='')}/tasks/export"
        assert log_link == f"{airflow.url}{task_path}?try_number={done['try_number']}", log_link
        assert xcom_link == f"{airflow.url}{task_path}/xcom", xcom_link
        ui.driver.get(log_link)
        ui.wait_for_text("Ozzy progress")


def _a_sharded_export_rolls_up_per_dag_run_in_the_page_embedded_in_airflow(stack: SimpleNamespace) -> None:
    from selenium.webdriver.common.by import By

    from tests.e2e.ui_browser import AirflowUI, chromedriver

    airflow = stack.airflow
    state = airflow.wait_for_run(SHARDED, stack.sharded_run, timeout=600)
    assert state == "success", _failed_tries(airflow, SHARDED, stack.sharded_run)
    shards = [airflow.xcom(SHARDED, stack.sharded_run, "export", index) for index in range(SHARDS)]
    with AirflowUI(airflow.url, chromedriver()) as ui:
        ui.login(airflow.user, airflow.password)
        # the page as Airflow's UI shows it: a navigation entry, the page in a frame
        ui.open("/")
        ui.wait_for_text("Ozzy exports")
        ui.open("/plugin/ozzy_exports")
        frame = _wait(ui, "the embedded page", lambda: ui.driver.find_elements(By.TAG_NAME, "iframe"))
        ui.driver.switch_to.frame(frame[0])
        group = _wait(
            ui,
            "the sharded export, rolled up",
            lambda: (c := _cells(ui, SHARDED, "sharded")) and c["state"] == "success" and c,
        )
        assert group["map_index"] == f"{SHARDS} shards", group
        assert (
            _number(group["items_written"])
            == sum(s["items_written"] for s in shards)
            == FILES * ITEMS_PER_FILE
        )
        assert _number(group["files_written"]) == sum(s["files_written"] for s in shards)
        assert _number(group["bad_records"]) == BAD_LINES, group
        assert group["committed_position"] == f"{SHARDS} of {SHARDS} shards done"
        # the paced export of the other test is listed beside it
        assert _cells(ui, PACED, "task") is not None
        # unfolded: one row per shard with its own counts
        ui.driver.find_element(
            By.CSS_SELECTOR, f"tr[data-dag='{SHARDED}'][data-kind='sharded'] button.toggle"
        ).click()
        rows = _wait(
            ui,
            "the shard rows",
            lambda: ui.driver.find_elements(By.CSS_SELECTOR, f"tr.shard[data-dag='{SHARDED}']"),
        )
        written = sorted(_number(row.find_element(By.CSS_SELECTOR, "td.items_written").text) for row in rows)
        assert written == sorted(s["items_written"] for s in shards)
        ui.driver.switch_to.default_content()
        ui.screenshot(stack.shots / "ozzy-exports-in-airflow.png")
        # the DAG's own tab: the page filtered on that DAG
        ui.open(f"/dags/{SHARDED}/plugin/ozzy_exports_dag")
        frame = _wait(ui, "the DAG tab's page", lambda: ui.driver.find_elements(By.TAG_NAME, "iframe"))
        ui.driver.switch_to.frame(frame[0])
        ui.wait_for_text(f"Filter: dag_id = {SHARDED}")
        _wait(ui, "the DAG's export", lambda: _cells(ui, SHARDED, "sharded"))
        assert _cells(ui, PACED, "task") is None, ui.text()


def _a_user_sees_only_the_exports_of_the_dags_they_may_read(stack: SimpleNamespace) -> None:
    from tests.e2e.ui_browser import AirflowUI, chromedriver

    airflow = stack.airflow
    admin = _token(airflow, airflow.user, airflow.password)
    reader = _token(airflow, "reader", stack.reader_password)
    _, everything = _plugin_json(airflow, "/api/exports", admin)
    assert {entry["dag_id"] for entry in everything["exports"]} == {PACED, SHARDED}
    _, granted = _plugin_json(airflow, "/api/exports", reader)
    assert {entry["dag_id"] for entry in granted["exports"]} == {PACED}
    # naming a DAG the user may not read gives nothing, not an error that says it exists
    assert _plugin_json(airflow, f"/api/exports?dag_id={SHARDED}", reader) == (200, {"exports": []})
    assert _plugin_json(airflow, "/api/exports", None)[0] == 401

    with AirflowUI(airflow.url, chromedriver()) as ui:
        ui.login("reader", stack.reader_password)
        ui.open("/ozzy/exports")
        _wait(ui, "the granted DAG's export", lambda: _cells(ui, PACED, "task"))
        assert _cells(ui, SHARDED, "sharded") is None, ui.text()
        ui.open(f"/ozzy/exports?dag_id={SHARDED}")
        ui.wait_for_text("No Ozzy exports to show for this filter.")
    with AirflowUI(airflow.url, chromedriver()) as ui:  # nobody logged in
        ui.open("/ozzy/exports")
        ui.wait_for_text("Log in to Airflow")
