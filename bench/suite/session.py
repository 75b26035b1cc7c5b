"""One suite run's state: the selected models, their worker jobs and records, the settings.

`bench/conftest.py` makes one `Suite` when pytest starts; the tests of `bench/test_suite.py`
read it. The worker jobs start together at the first `job()` call, `parallel` at a time, and
`finish_jobs()` waits for all of them before any timed scenario (so no timing ever runs beside a
worker). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bench.measure.environment import Settings
from bench.suite.jobs import Job, JobResult, LocalExecutor
from bench.suite.options import worker_argv


def _progress(line: str) -> None:
    print(f"    {line}", file=sys.stderr, flush=True)


class Suite:
    """Per-session state: the selected entries, worker records, and what the JSON hook adds.

    Args:
        options: the suite's option values (pytest's `config.option`).
        settings: the process settings applied to this process and given to every worker.
        entries: the selected registry entries, in registry order.
    """

    def __init__(self, options: Any, settings: Settings, entries: list) -> None:
        self.options = options
        self.settings = settings
        self.entries = entries
        self.records: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, Future[JobResult]] = {}
        self._executor: LocalExecutor | None = None

    @property
    def parallel_jobs(self) -> int:
        """Workers at once: `--jobs`, else 2 when nothing is trained, else 1.

        Two at a time on this kind of 2-core machine when the workers only count and measure
        memory (nothing they do is timed); one at a time when they train, because training time
        is a measured cost and two trainings on one machine slow each other down.
        """
        if self.options.jobs is not None:
            return self.options.jobs
        return 2 if self.options.accuracy == "reported" else 1

    def entry(self, variant: str) -> Any:
        return next(e for e in self.entries if e.id == variant)

    def job(self, variant: str) -> Future[JobResult]:
        """The worker job of `variant` (every job is submitted at the first call)."""
        if self._executor is None:
            self._executor = LocalExecutor(
                parallel=self.parallel_jobs, env=self.settings.to_env(), progress=_progress
            )
            folder = Path(tempfile.mkdtemp(prefix="bench-records-"))
            argv = tuple(worker_argv(vars(self.options)))
            for entry in self.entries:
                job = Job(entry.id, argv, folder / f"{entry.id}.json")
                self._jobs[entry.id] = self._executor.submit(job)
        return self._jobs[variant]

    def finish_jobs(self) -> None:
        """Wait until every submitted worker job has ended."""
        if self._executor is not None:
            self._executor.shutdown()

    def record_error(self, variant: str, message: str) -> None:
        """Add one sentence to the model's record (a timed scenario that failed for it)."""
        record = self.records.setdefault(variant, {"errors": [], "unavailable": {}})
        record.setdefault("errors", []).append(message)

    def extra(self, variant: str, scenario: str, timed: Any) -> dict[str, Any]:
        """The contract's `extra_info` of one benchmark entry."""
        from bench.measure.environment import device_name

        return {
            "variant": variant,
            "scenario": scenario,
            "batch_size": timed.batch_size,
            "device": device_name(),
            "xla": self.settings.xla,
            "precision": self.settings.precision,
            "first_call_s": timed.first_call_s,
            "tracing_count": timed.tracing_count,
        }

    def run_options(self) -> dict[str, Any]:
        """The contract's `run` section: the options this run was made with."""
        opt = self.options
        return {
            "variants": [e.id for e in self.entries],
            "accuracy_source": opt.accuracy,
            "profile": opt.profile if opt.accuracy == "train" else None,
            "dataset": opt.dataset,
            "seed": opt.seed,
            "latency_batch_size": 1,
            "throughput_batch_size": opt.throughput_batch,
            "latency_budget_s": opt.latency_budget,
            "latency_reference": "bench.measure.timing.reference_workload",
            "timing": "interleaved: every model in every round, order shuffled per round",
            "parallel_jobs": self.parallel_jobs,
            "plugins": list(opt.plugin),
        }
