"""Per-model jobs (a fresh worker process each) and the executor that runs them on this machine.

Every job is `python -m bench.suite.executors.worker --plan FILE --variant ID --seed N --out FILE`
in its own process (`worker_command`; the plan file holds the run's `RunPlan` as JSON), so a
crash, an out-of-memory or a memory peak stays with its model. `LocalExecutor` runs them on this
machine, `parallel` at a time, all before any timed scenario starts (the suite waits for every
job before it times anything, so no timing ever runs beside a worker). Lines a worker writes to
stderr that start with its model id are progress, passed to `progress` as they come; its other
output (stdout and stderr together: TensorFlow's logs when they are not silenced, a traceback)
goes to `other` and the last lines of it to the result, never straight to the terminal
(`run_worker`, which the Ray executor's tasks call too: `bench/suite/executors/ray_executor.py` runs
the same worker, the same way, on the nodes of a Ray cluster).

`tests/test_jobs.py` runs the executor on a stub worker: results in order, two at a time, a
dead worker reported with its exit code and the tail of its output.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WORKER_MODULE = "bench.suite.executors.worker"
# How many worker jobs may run at once on one machine, for the workers to record: a training
# run's energy is refused when other jobs shared its device
# (`bench.suite.executors.accuracy.run_energy`).
CONCURRENT_JOBS_ENV = "BENCH_CONCURRENT_JOBS"


class ExecutorError(Exception):
    """An executor that cannot start (Ray missing, a cluster out of reach, resources it lacks);
    the message is one sentence for the user."""


@dataclass(frozen=True)
class Job:
    """One model's worker run (one model, one seed).

    Attributes:
        variant: the registry id.
        seed: the training seed.
        out: where the worker writes its record.
        plan: the run's plan as JSON (`bench.suite.plan.plan.RunPlan.to_json`); the executor
            hands it to the worker in a file (a Ray task: in the task's spec, written on the node).
    """

    variant: str
    seed: int
    out: Path
    plan: str


PLAN_FILE = "plan.json"  # in the job's scratch folder, for the worker's --plan


def worker_command(command: Sequence[str], job: Job, plan_file: Path) -> list[str]:
    """The worker's full command line for `job`, its plan in `plan_file`."""
    return [
        *command,
        "--plan",
        str(plan_file),
        "--variant",
        job.variant,
        "--seed",
        str(job.seed),
        "--out",
        str(job.out),
    ]


@dataclass
class JobResult:
    """What came back from one job.

    Attributes:
        record: the worker's record, or None when the worker died before writing it.
        returncode: the worker's exit status (0: done; 1: our bug, the record says so).
        tail: the last lines the worker wrote to stderr (for a dead worker's message).
        wall_s: seconds from start to exit.
    """

    record: dict[str, Any] | None
    returncode: int
    tail: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def pythonpath() -> str:
    """PYTHONPATH for a worker: this checkout first (so it imports this code), then the rest."""
    existing = os.environ.get("PYTHONPATH")
    return str(ROOT) if not existing else f"{ROOT}{os.pathsep}{existing}"


class LocalExecutor:
    """Runs jobs as subprocesses of this machine, `parallel` at a time.

    Args:
        parallel: how many workers run at once.
        env: extra environment variables for the workers (the process settings).
        progress: receives each progress line of a worker (it starts with the model id).
        started: told of each job as its worker starts.
        other: receives the worker's other output lines, prefixed with the model id.
        command: the interpreter and module to run (tests substitute a stub worker).
    """

    def __init__(
        self,
        *,
        parallel: int,
        env: dict[str, str],
        progress: Callable[[str], None] = lambda line: None,
        started: Callable[[Job], None] = lambda job: None,
        other: Callable[[str], None] = lambda line: None,
        command: Sequence[str] = (sys.executable, "-m", WORKER_MODULE),
    ) -> None:
        if parallel < 1:
            raise ValueError(f"parallel must be at least 1, got {parallel}")
        self.parallel = parallel
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="worker")
        self._env = {**os.environ, **env, "PYTHONPATH": pythonpath()}
        self._progress = progress
        self._started = started
        self._other = other
        self._command = tuple(command)
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()  # the workers to stop on a cancel
        self._cancelled = False

    def describe(self) -> dict[str, Any]:
        """The run section's `executor`: what ran the jobs."""
        return {
            "kind": "local",
            "parallel_jobs": self.parallel,
            "processes": "a fresh worker subprocess per job, on this machine",
        }

    def submit(self, job: Job) -> Future[JobResult]:
        """Start `job` when a slot is free; its future holds the `JobResult`."""
        return self._pool.submit(self._run, job)

    def shutdown(self, *, cancel: bool = False) -> None:
        """Wait for the running jobs; with `cancel` (Ctrl-C, SIGTERM), drop the queued ones and
        stop the running workers first (SIGTERM: a training keeps its finished epochs, each
        checkpointed as it ended)."""
        if cancel:
            with self._lock:
                self._cancelled = True
                for proc in self._running:
                    proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def _track(self, proc: subprocess.Popen | None, *, running: bool) -> None:
        with self._lock:
            if running:
                self._running.add(proc)
                if self._cancelled:  # started as the cancel came
                    proc.terminate()
            else:
                self._running.discard(proc)

    def _run(self, job: Job) -> JobResult:
        job.out.parent.mkdir(parents=True, exist_ok=True)
        self._started(job)

        def progress(line: str) -> None:
            with self._lock:
                self._progress(line)

        def other(line: str) -> None:
            with self._lock:
                self._other(line)

        # The worker's own temporary folder, removed when it ends: what a killed worker (or
        # TensorFlow inside it: autograph's generated files) leaves there goes with it.
        scratch = Path(tempfile.mkdtemp(prefix=f"{job.out.stem}-", dir=job.out.parent))
        (scratch / PLAN_FILE).write_text(job.plan, encoding="utf-8")
        returncode, tail, wall_s = run_worker(
            worker_command(self._command, job, scratch / PLAN_FILE),
            variant=job.variant,
            env={**self._env, "TMPDIR": str(scratch)},
            cwd=Path.cwd(),
            progress=progress,
            other=other,
            preexec_fn=die_with_parent(),
            track=self._track,
        )
        shutil.rmtree(scratch, ignore_errors=True)
        record = None
        if job.out.exists():
            record = json.loads(job.out.read_text(encoding="utf-8"))
        elif returncode < 0:  # killed: the out-of-memory killer, a SIGKILL, a cancel
            tail.append(
                f"the worker for {job.variant} was killed by {signal.Signals(-returncode).name} "
                "(out of memory, or stopped from outside); its finished epochs stay in the model "
                "cache, and a rerun resumes after them."
            )
        return JobResult(record, returncode, tail, wall_s)


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that has Linux SIGKILL the worker when the process that started it dies.

    A parent that is killed (the out-of-memory killer, `ray.cancel(force=True)`, a SIGKILL to the
    suite) would otherwise leave its worker running as an orphan, writing epochs into the cache
    after the run has ended, or training the same cache entry as a retried task. Ray ties its
    own processes to their parents the same way (`prctl(PR_SET_PDEATHSIG)`); the C function is
    looked up before the fork, the child only calls it. The signal comes when the *thread* that
    started the child ends: the executors start each worker from a thread that waits for it.
    None off Linux (README: there an orphan finishes its run).
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    parent = os.getpid()

    def tie() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the tie was made
            os._exit(1)

    return tie


def run_worker(
    command: Sequence[str],
    *,
    variant: str,
    env: Mapping[str, str],
    cwd: Path,
    progress: Callable[[str], None],
    other: Callable[[str], None] = lambda line: None,
    preexec_fn: Callable[[], None] | None = None,
    track: Callable[..., None] | None = None,
) -> tuple[int, list[str], float]:
    """Run one worker process to its end, passing its progress lines on as they come.

    Args:
        command: the worker's full command line.
        variant: the model id; stderr lines that start with it (and a space) are progress.
        env: the worker's whole environment.
        cwd: its working directory.
        progress: receives each progress line.
        other: receives its other output lines (stdout and stderr together: TensorFlow's logs
            when they are not silenced, a traceback), prefixed with the model id.
        preexec_fn: run in the child before the worker starts (both executors tie the
            worker's life to the process that started it: `die_with_parent`).
        track: told `(proc, running=True)` when the worker has started and `(proc,
            running=False)` when it has ended (an executor stops running workers on a cancel).

    Returns:
        (exit status, the last lines of its output, seconds from start to exit).
    """
    start = time.perf_counter()
    tail: list[str] = []
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(env),
        cwd=cwd,
        preexec_fn=preexec_fn,
    ) as proc:
        if track is not None:
            track(proc, running=True)
        try:
            for raw in proc.stdout:
                line = raw.rstrip()
                if line.startswith(f"{variant} "):
                    progress(line)
                elif line:
                    other(f"{variant} | {line}")
                tail = [*tail[-40:], line]
        finally:
            proc.wait()
            if track is not None:
                track(proc, running=False)
    return proc.returncode, tail, time.perf_counter() - start
