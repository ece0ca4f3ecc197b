"""A writer that dies like a killed worker, once, for the sharded real-scheduler test.

``FaultSwitchFSWriter`` is Ozzy's ``FSWriter``; when the file named by ``fault_switch`` exists and
holds a text found in this job's filebase (a shard tag such as ``shard003_``), it deletes the
switch after its ``fault_after_files``-th file and SIGKILLs its own process: no exception handler,
no ``on_kill``, no final commit. The switch is gone, so the retry runs through.
"""

from __future__ import annotations

import os
import signal

from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.fs_writer import FSWriter


class FaultSwitchFSWriter(FSWriter):
    """FSWriter that kills its own process once, when a switch file says so."""

    supported_options = {
        "fault_switch": {"type": str, "default": "", "help": "Path of the switch file ('' never)."},
        "fault_after_files": {"type": int, "default": 1, "help": "Files to write before dying."},
    }

    def after_file_written(self, written: WrittenFile) -> None:
        super().after_file_written(written)
        switch = self.options["fault_switch"]
        if not switch or self.files_written < self.options["fault_after_files"]:
            return
        try:
            with open(switch, encoding="utf-8") as handle:
                target = handle.read().strip()
        except FileNotFoundError:
            return
        if target and target in self.effective_filebase:
            os.remove(switch)
            os.kill(os.getpid(), signal.SIGKILL)
