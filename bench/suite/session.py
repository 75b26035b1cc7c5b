"""One suite run's state: the selected models, their worker jobs and records, the settings.

`bench/conftest.py` makes one `Suite` when pytest starts; the tests of `bench/test_suite.py`
read it. The worker jobs start together at the first `job()` call, `parallel` at a time, on the
executor `--executor` names (`LocalExecutor`, or `RayExecutor` of `bench/suite/ray_executor.py`,
imported only then), and `finish_jobs()` waits for all of them before any timed scenario (so no
timing ever runs beside a worker). Ctrl-C while waiting cancels the jobs that have not ended.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import queue
import tempfile
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bench.measure.environment import Settings
from bench.suite.jobs import ExecutorError, Job, JobResult, LocalExecutor
from bench.suite.options import worker_argv
from bench.suite.seeds import DATA_SPLIT_SEED


def _class_names(opt: Any) -> tuple[str, ...]:
    """The class names of the dataset the accuracies are on (CIFAR-10 for reported ones)."""
    from bench.training import datasets

    dataset = opt.dataset if opt.accuracy != "reported" else "cifar10"
    return datasets.CLASS_NAMES.get(dataset, ())


class Suite:
    """Per-session state: the selected entries, worker records, and what the JSON hook adds.

    Args:
        options: the suite's option values (pytest's `config.option`).
        settings: the process settings applied to this process and given to every worker.
        entries: the selected registry entries, in registry order.
    """

    def __init__(
        self, options: Any, settings: Settings, entries: list, seeds: tuple[int, ...] = (0,)
    ) -> None:
        self.options = options
        self.settings = settings
        self.entries = entries
        self.seeds = seeds
        self.records: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, Any] = {}  # test labels by checksum, from the workers
        self._jobs: dict[str, list[Future[JobResult]]] = {}
        self._executor: Any = None  # a LocalExecutor or a RayExecutor
        self._lines: queue.Queue[str] = queue.Queue()  # workers' progress, shown by `wait`
        self.capture: Any = None  # pytest's capture manager, to show progress past it

    @property
    def parallel_jobs(self) -> int:
        """Workers at once: `--jobs`, else 2 when nothing is trained, else 1.

        Two at a time on this kind of 2-core machine when the workers only count and measure
        memory (nothing they do is timed); one at a time when they train, because training time
        is a measured cost and two trainings on one machine slow each other down. On Ray: as
        many as the cluster's resources fit (`RayExecutor.parallel`).
        """
        if self._executor is not None:
            return self._executor.parallel
        if self.options.jobs is not None:
            return self.options.jobs
        return 2 if self.options.accuracy == "reported" else 1

    def entry(self, variant: str) -> Any:
        return next(e for e in self.entries if e.id == variant)

    @property
    def job_seeds(self) -> tuple[int, ...]:
        """The seeds a model's jobs run: every seed when training, else the first only (a
        reported or loaded accuracy does not depend on a training seed)."""
        return self.seeds if self.options.accuracy == "train" else self.seeds[:1]

    def jobs(self, variant: str) -> list[Future[JobResult]]:
        """The worker jobs of `variant`, one per seed (every job is submitted at the first call,
        models in registry order, each model's seeds in order)."""
        if not self._jobs:
            self.connect()
            folder = Path(tempfile.mkdtemp(prefix="bench-records-"))
            argv = tuple(worker_argv(vars(self.options)))
            for entry in self.entries:
                self._jobs[entry.id] = [
                    self._executor.submit(
                        Job(entry.id, (*argv, "--seed", str(s)), folder / f"{entry.id}-{s}.json")
                    )
                    for s in self.job_seeds
                ]
        return self._jobs[variant]

    def connect(self) -> None:
        """Start the executor (for Ray: join or start the cluster).

        Raises:
            ExecutorError: Ray is not installed, the cluster is out of reach, or no node fits a
                job; one sentence.
        """
        if self._executor is not None:
            return
        if self.options.executor != "ray":
            self._executor = LocalExecutor(
                parallel=self.parallel_jobs, env=self.settings.to_env(), progress=self._lines.put
            )
            return
        try:
            from bench.suite import ray_executor
        except ModuleNotFoundError as exc:
            if exc.name != "ray":
                raise
            raise ExecutorError(
                "--executor ray needs Ray, which is not installed here; install the cluster "
                "extra: pip install -e '.[cluster]'"
            ) from None
        self._executor = ray_executor.RayExecutor(
            ray_executor.ClusterOptions.from_options(self.options),
            env=self.settings.to_env(),
            progress=self._lines.put,
            model_cache=self.options.model_cache,
        )

    def wait(
        self, futures: list[Future[JobResult]], show: Callable[[str], None]
    ) -> list[JobResult]:
        """Wait for `futures`, passing the workers' progress lines to `show` as they come (from
        this thread: pytest's output capture can only be lifted from the main thread). Ctrl-C
        cancels every job that has not ended, then stops the run."""
        try:
            self._show_until_done(futures, show)
        except KeyboardInterrupt:
            self.close()
            raise
        return [f.result() for f in futures]

    def _show_until_done(
        self, futures: list[Future[JobResult]], show: Callable[[str], None]
    ) -> None:
        while True:
            try:
                show(self._lines.get(timeout=0.2))
                continue
            except queue.Empty:
                pass
            if all(f.done() for f in futures):
                break
        while not self._lines.empty():
            show(self._lines.get_nowait())

    def finish_jobs(self) -> None:
        """Wait until every submitted worker job has ended (and Ray has let go of this machine's
        CPUs: a local cluster stops here, before any timed scenario)."""
        if self._executor is not None:
            self._executor.shutdown()

    def close(self) -> None:
        """Cancel the jobs that have not ended and let the executor go (Ctrl-C, end of run)."""
        if self._executor is not None:
            self._executor.shutdown(cancel=True)

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
            "seed": self.seeds[0],
            "seeds": list(self.job_seeds),
            "data_split_seed": DATA_SPLIT_SEED,
            "class_names": list(_class_names(opt)),
            "latency_batch_size": 1,
            "throughput_batch_size": opt.throughput_batch,
            "latency_budget_s": opt.latency_budget,
            "latency_reference": "bench.measure.timing.reference_workload",
            "timing": "interleaved: every model in every round, order shuffled per round",
            "parallel_jobs": self.parallel_jobs,
            "executor": self._executor.describe() if self._executor is not None else None,
            "plugins": list(opt.plugin),
        }
