"""Sandboxed Python runs in a child process: bounded in time and memory, stoppable, deterministic.

The sandbox's checks (``python_sandbox``) decide *what* an expression may do; they cannot bound
*how long* or *how much*: ``any(iter(int, 1))``, ``re.match('(a+)+$', 'a' * 40 + 'b')`` or
``math.factorial(10 ** 7)`` are single C calls that never return to the bytecode loop, so neither
a signal handler nor a tracer in the same process can stop them, and ``'a'.ljust(10 ** 10)`` asks
for 10 GB at once. So every module holding user code (filters, transforms, groupers, ReduceWriter)
evaluates it in a child interpreter of its own, started with ``python -m`` (exec'ed, not forked:
a fork would keep the parent's hash seed and threads):

* **time**: the parent waits for each batch's answer at most ``time_budget_seconds``, then kills
  the child (``SIGKILL``); the next batch, if any, starts a fresh one. A per-request
  ``RLIMIT_CPU`` in the child is a second stop that needs no parent (``kill -9`` of ``ozzy``);
  ``PR_SET_PDEATHSIG`` kills it with its parent too.
* **memory**: ``RLIMIT_AS`` in the child, its start-up size plus ``memory_budget_mib``; an
  allocation past it raises ``MemoryError`` there (reported with the item) or kills the child.
* **signals**: the child ignores SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole process
  group); the parent waits in ``select`` so its own handlers run at once and may kill the child.
* **determinism**: the child runs with ``PYTHONHASHSEED=0`` whatever the parent's, so iterating
  a ``set`` of strings gives the same order in every run, on every machine, after every resume.
* **side effects**: the child's standard output is ``/dev/null`` (ConsoleWriter's data stream
  stays the parent's), its environment holds no secrets (only locale, time zone and paths).

Messages are frames on the child's stdin/stdout: 8 bytes of length, one byte of codec (``marshal``,
exact and fastest for JSON-like items, else ``pickle``), the payload. Requests (tuples) are in
``_Worker``; every answer is ``(status, ...)``.
"""

from __future__ import annotations

import gc
import marshal
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HASH_SEED = "0"
START_SECONDS = 120.0  # starting the interpreter is our code, not the user's: not in the budget
_HEADER = struct.Struct("<QB")
_MARSHAL, _PICKLE = 0, 1
_CHUNK = 1 << 20
# what the child inherits from the environment: nothing that could hold a secret
_ENVIRONMENT = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_TIME",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "PYTHONHOME",  # relocated interpreters
    "LD_LIBRARY_PATH",  # interpreters built with a shared libpython
)

TIME = "time_budget_seconds"
MEMORY = "memory_budget_mib"


class OutOfBudget(Exception):
    """The child exceeded ``option`` (``time_budget_seconds`` or ``memory_budget_mib``) or died."""

    def __init__(self, option: str, detail: str, position: int | None = None) -> None:
        super().__init__(option, detail, position)
        self.option = option
        self.detail = detail
        self.position = position  # the item in the batch, when known


class _Died(Exception):
    pass


# -- frames ------------------------------------------------------------------------------------------
def _encode(message: Any) -> tuple[bytes, bytes]:
    try:
        payload, codec = marshal.dumps(message, 4), _MARSHAL
    except ValueError:  # a type marshal does not know (datetime, Decimal, a dict subclass...)
        payload, codec = pickle.dumps(message, pickle.HIGHEST_PROTOCOL), _PICKLE
    return _HEADER.pack(len(payload), codec), payload


def _decode(codec: int, payload: bytes) -> Any:
    # a batch is tens of thousands of new containers without cycles: no collection while they are
    # made (the collector would scan them all, more than doubling the time)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return marshal.loads(payload) if codec == _MARSHAL else pickle.loads(payload)  # noqa: S301 - our child
    finally:
        if enabled:
            gc.enable()


def _write(fd: int, message: Any) -> None:
    for part in _encode(message):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view[:_CHUNK]) :]


def _read(fd: int, size: int, deadline: float | None) -> bytes:
    data = bytearray()
    while len(data) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(size - len(data), _CHUNK))
        if not chunk:
            raise _Died
        data += chunk
    return bytes(data)


def _receive(fd: int, deadline: float | None) -> Any:
    size, codec = _HEADER.unpack(_read(fd, _HEADER.size, deadline))
    return _decode(codec, _read(fd, size, deadline))


# -- the parent's side -------------------------------------------------------------------------------
class SandboxProcess:
    """One child interpreter for one module; ``request(message)`` answers within the time budget.

    :param time_budget: seconds one request (a batch) may take; then the child is killed.
    :param memory_mib: MiB the child may allocate beyond its start-up size.
    :param setup: the requests that bring a fresh child to the module's state (compile the
        expressions, restore an accumulator); sent, under the budget, after every start.
    """

    def __init__(self, time_budget: float, memory_mib: int, setup: Callable[[], list[Any]]) -> None:
        self.time_budget = float(time_budget)
        self.memory_mib = int(memory_mib)
        self._setup = setup
        self._process: subprocess.Popen[bytes] | None = None

    def request(self, message: Any) -> Any:
        """Send ``message``, return the child's answer (or a failed setup's); raises ``OutOfBudget``."""
        if self._process is None or self._process.poll() is not None:
            self._start()
            for each in self._setup():
                answer = self._exchange(each)
                if answer[0] != "ok":  # e.g. reduce code whose top level fails: the caller says so
                    self.kill()
                    return answer
        return self._exchange(message)

    def _exchange(self, message: Any) -> Any:
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        deadline = time.monotonic() + self.time_budget
        try:
            _write(process.stdin.fileno(), message)
            return _receive(process.stdout.fileno(), deadline)
        except TimeoutError:
            self.kill()
            raise OutOfBudget(TIME, f"did not finish within {self.time_budget:g} s") from None
        except (_Died, BrokenPipeError):
            how = self._death()
            raise OutOfBudget(MEMORY, f"its sandbox process died ({how}): out of memory?") from None
        except BaseException:  # a second SIGINT/SIGTERM raised in the parent: the child is mid-request
            self.kill()
            raise

    def _start(self) -> None:
        self.kill()
        # the folder holding airflow_provider_ozzy/ (this file is airflow_provider_ozzy/expressions/...)
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        environment = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
        environment["PYTHONPATH"] = os.pathsep.join(
            [package_root, *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
        )
        environment["PYTHONHASHSEED"] = HASH_SEED
        command = [
            sys.executable,
            "-m",
            "airflow_provider_ozzy.expressions.sandbox_process",
            str(os.getpid()),
            str(self.memory_mib),
            repr(self.time_budget),
        ]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, close_fds=True
        )
        assert self._process.stdout is not None
        try:
            ready = _receive(self._process.stdout.fileno(), time.monotonic() + START_SECONDS)
        except (TimeoutError, _Died):
            how = self._death()
            raise OutOfBudget(MEMORY, f"its sandbox process did not start ({how})") from None
        except BaseException:
            self.kill()
            raise
        if ready != ("ready",):
            self.kill()
            raise OutOfBudget(MEMORY, f"its sandbox process did not start: {ready!r}")

    def _death(self) -> str:
        process = self._process
        if process is None:
            return "not running"
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "stopped answering"
        self.kill()
        if code < 0:
            return f"signal {signal.Signals(-code).name}"
        return f"exit status {code}"

    def kill(self) -> None:
        """Stop the child now (it may be inside a C loop); the next request starts a fresh one."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        """End the child (end of the export): it exits on end of input, or is killed."""
        process = self._process
        if process is not None and process.stdin is not None and process.poll() is None:
            try:
                process.stdin.close()
                process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


# -- the child's side --------------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _limit_memory(memory_mib: int) -> None:
    import resource

    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    limit = size + (memory_mib << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _limit_cpu(seconds: float) -> None:
    """A stop by the kernel should the parent be gone (``SIGXCPU`` past the request's budget)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 5
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _main(argv: list[str]) -> None:
    parent, memory_mib, seconds = int(argv[0]), int(argv[1]), float(argv[2])
    requests, answers = 0, os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing an expression does reaches the parent's standard output
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent)
    from airflow_provider_ozzy.core.gc_tuning import EXPORT_GEN0_THRESHOLD
    from airflow_provider_ozzy.expressions.sandbox_worker import Worker

    gc.set_threshold(EXPORT_GEN0_THRESHOLD)  # batches are trees freed by reference counting (gc_tuning)
    worker = Worker()
    _limit_memory(memory_mib)
    _write(answers, ("ready",))
    while True:
        try:
            message = _receive(requests, None)
        except _Died:
            return  # the parent closed our input: the export is over
        _limit_cpu(seconds)
        _write(answers, worker.answer(message))


if __name__ == "__main__":
    _main(sys.argv[1:])
