"""Generated sequences of input changes, runs, ``kill -9`` and resumes of one incremental job.

A state machine adds inputs with generated names, removes or archives them, runs the job, or
kills a run after a generated number of commits; the next run resumes it. After every run that
ends, the destination must hold every item of every input present at the start of any run, each
exactly once. While a run is interrupted, only inputs the committed position names as finished
may disappear (the resume must read the others again; its refusal is tested in
tests/integration/test_changing_inputs.py).

CI runs a few derandomized sequences over a local folder and S3 (moto), ``-m slow`` all of the
derandomized ones; ``OZZY_STRESS=1`` runs many more, random ones.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from airflow_provider_ozzy.readers.input_log import decode_entries
from tests.crash_harness import CrashHarness, Trigger
from tests.integration.changing_inputs import IncrementalJob, gz, items_of, make_store

STRESS = os.environ.get("OZZY_STRESS") == "1"
NAMES = st.text(alphabet=st.sampled_from("abcxyz019-_ é日"), min_size=1, max_size=12).filter(
    lambda name: not name.startswith((".", "-")) and name.strip() == name
)


def machine_for(request: pytest.FixtureRequest, kind: str) -> type[RuleBasedStateMachine]:
    class ChangingInputs(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.work = Path(tempfile.mkdtemp(prefix="ozzy-prop-"))
            self.job = IncrementalJob(
                self.work, make_store(request, kind, self.work / "store"), items_per_file=6
            )
            self.used: set[str] = set()
            self.harness = CrashHarness(self.work, self.job.config, state_id="orders", env=self.job.store.env)
            self.interrupted = False

        def teardown(self) -> None:
            if hasattr(self, "job"):
                self.finish()
                shutil.rmtree(self.work, ignore_errors=True)

        @rule(stem=NAMES, count=st.integers(1, 60), rare=st.booleans())
        def add(self, stem: str, count: int, rare: bool) -> None:
            """``rare``: the first item is of a group of its own, whose file stays open for long and
            holds the committed position back, so a resume reads many inputs again."""
            name = f"{stem}.jl.gz"
            assume(name not in self.used)  # a name is used once: a changed input is another test's matter
            self.used.add(name)
            items = items_of(name, count)
            if rare:
                items[0]["country"] = f"rare-{len(self.used)}"
            self.job.store.put(name, gz(items))
            self.job.present[name] = items

        @precondition(lambda self: bool(self.job.present))
        @rule(data=st.data(), archive=st.booleans())
        def take_away(self, data: st.DataObject, archive: bool) -> None:
            candidates = sorted(self.job.present)
            if self.interrupted:
                candidates = [name for name in candidates if name in self.finished()]
            assume(candidates)
            name = data.draw(st.sampled_from(candidates))
            (self.job.archive if archive else self.job.remove)(name)

        @rule()
        def run(self) -> None:
            self.finish()

        @rule(commits=st.integers(1, 15))
        def run_killed(self, commits: int) -> None:
            self.expect_present()
            attempt = self.harness.attempt(Trigger("commits", commits))
            self.interrupted = attempt.returncode != 0
            if not self.interrupted:
                self.job.check()

        def expect_present(self) -> None:
            for items in self.job.present.values():
                for item in items:
                    self.job.expected[(item["src"], item["n"])] = 1

        def finish(self) -> None:
            self.expect_present()
            attempt = self.harness.attempt(None)
            assert attempt.returncode == 0, attempt.log.read_text()[-3000:]
            self.interrupted = False
            self.job.check()

        def finished(self) -> set[str]:
            """Base names of the inputs the committed position holds as finished."""
            state = self.harness.committed_state()
            if not state or "reader" not in state:
                return set()
            position: dict[str, Any] = state["reader"]
            entries = decode_entries(position.get("done", []))
            entries += decode_entries(position.get("read", []))[: position.get("index", 0)]
            return {name.rsplit("/", 1)[-1] for name, _ in entries}

    return ChangingInputs


def run_machine(request: pytest.FixtureRequest, kind: str, limits: settings) -> None:
    machine = machine_for(request, kind)
    machine.TestCase.settings = limits
    machine.TestCase().runTest()


# sequences per store: the default run tries the first few of the derandomized sequences (S3 steps
# cost more, moto); the slow variant (``-m slow``, ``OZZY_STRESS=1``) tries every one of them, as
# the default run did before (each sequence runs ``ozzy`` many times: seconds apiece)
DEFAULT_EXAMPLES = {"fs": 3, "s3": 1}
FULL_EXAMPLES = {"fs": 6, "s3": 2}


@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_generated_changes_runs_kills_and_resumes_keep_every_item_exactly_once(
    request: pytest.FixtureRequest, kind: str
) -> None:
    limits = (
        settings(max_examples=60, stateful_step_count=14, derandomize=False)
        if STRESS
        else settings(max_examples=DEFAULT_EXAMPLES[kind], stateful_step_count=10)
    )
    run_machine(request, kind, limits)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_every_derandomized_sequence_of_changes_keeps_every_item_exactly_once(
    request: pytest.FixtureRequest, kind: str
) -> None:
    if not STRESS and "slow" not in (request.config.getoption("markexpr", "") or ""):
        if os.environ.get("OZZY_SLOW_TESTS") != "1":
            pytest.skip("slow: run with -m slow (or OZZY_STRESS=1 / OZZY_SLOW_TESTS=1)")
    run_machine(
        request, kind, settings(max_examples=FULL_EXAMPLES[kind], stateful_step_count=10, derandomize=True)
    )
