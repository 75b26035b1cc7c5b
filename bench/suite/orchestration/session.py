"""One suite run's state: the selected models, their worker jobs and records, the settings.

`bench/conftest.py` makes one `Suite` when pytest starts; the tests of `bench/test_suite.py` read
it. The worker jobs start together at the first `job()` call, `parallel` at a time, on the executor
`--executor` names (`LocalExecutor`, or `RayExecutor` of `bench/suite/executors/ray_executor.py`,
imported only then; a model whose whole record the records cache holds needs no worker at all:
`bench/suite/executors/record_cache.py`), and `finish_jobs()` waits for all of them before any timed
scenario (so no timing ever runs beside a worker). Ctrl-C while waiting cancels the jobs that have
not ended. The workers' progress reaches `display` from the main thread only (pytest's output
capture can only be lifted there): their lines, and in the "records" phase which jobs are running,
how many are done and the latest epoch of each training run. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import functools
import queue
import shutil
import tempfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bench.measure.environment import Settings
from bench.suite.executors.jobs import (
    CONCURRENT_JOBS_ENV,
    ExecutorError,
    Job,
    JobResult,
    LocalExecutor,
)
from bench.suite.plan.plan import RunPlan, load_data
from bench.suite.plan.seeds import DATA_SPLIT_SEED
from bench.suite.presentation.progress import Display, Phase, epoch_detail


class Suite:
    """Per-session state: the selected entries, worker records, and what the JSON hook adds.

    Args:
        plan: the run's plan (`bench.suite.plan.plan.RunPlan`, built once from the options); also
            `options`, by the options' names (`suite.options.throughput_batch`).
        settings: the process settings applied to this process and given to every worker.
        entries: the selected registry entries, in registry order.
        seeds: the training seeds (default: the plan's).
    """

    def __init__(
        self,
        plan: RunPlan,
        settings: Settings,
        entries: list,
        seeds: tuple[int, ...] | None = None,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.entries = entries
        self.seeds = plan.seeds if seeds is None else seeds
        self.records: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, Any] = {}  # test labels by checksum, from the workers
        self._jobs: dict[str, list[Future[JobResult]]] = {}
        self._executor: Any = None  # a LocalExecutor or a RayExecutor
        self.deployments: tuple[str, ...] = ("keras",)
        self.deployment_rows: dict[str, dict[str, dict[str, Any]]] = {}
        self.energy_rows: dict[str, dict[str, Any]] = {}  # scenarios.energy_scenario
        # What the workers report, shown by `wait` from the main thread: ("line", text),
        # ("start", job), ("end", job) or ("other", text).
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.display: Display = Display.silent()  # set by bench/conftest.py
        self.expected: dict[str, dict[str, float]] = {}  # phase -> item -> seconds (estimate)
        self.show_worker_output = False  # --verbose: the workers' other output too
        self._records: Phase | None = None
        # The workers' record files, read as each job ends; removed when the run ends (`close`).
        self._records_folder: Path | None = None
        # (variant, seed) -> the record the records cache gave (`cached_labels`), or None
        self._from_cache: dict[tuple[str, int], dict[str, Any] | None] = {}

    @property
    def options(self) -> RunPlan:
        """The plan, by the options' names (`suite.options.latency_budget`)."""
        return self.plan

    @functools.cached_property
    def shape(self) -> tuple[tuple[int, int, int], int]:
        """(input_shape, num_classes) every model is built for: the dataset's (CIFAR-10's for
        reported accuracies), at `--image-size` when given."""
        from bench.training import datasets

        return datasets.dataset_shape(self.plan.data_name, image_size=self.plan.data_image_size)

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
        return 1 if self.plan.accuracy.measures else 2

    def entry(self, variant: str) -> Any:
        return next(e for e in self.entries if e.id == variant)

    @property
    def job_seeds(self) -> tuple[int, ...]:
        """The seeds a model's jobs run: every seed when training, else the first only (a
        reported or loaded accuracy does not depend on a training seed)."""
        return self.seeds if self.plan.accuracy.trains else self.seeds[:1]

    def job_label(self, variant: str, seed: int) -> str:
        """How progress names one job: the model id, and the seed when there are several."""
        return variant if len(self.job_seeds) == 1 else f"{variant} seed {seed}"

    def jobs(self, variant: str) -> list[Future[JobResult]]:
        """The worker jobs of `variant`, one per seed (every job is submitted at the first call,
        models in registry order, each model's seeds in order)."""
        if not self._jobs:
            self.connect()
            self._submit_all()
        return self._jobs[variant]

    def connect(self) -> None:
        """Start the executor (for Ray: join or start the cluster).

        Raises:
            ExecutorError: Ray is not installed, the cluster is out of reach, or no node fits a
                job; one sentence.
        """
        if self._executor is not None:
            return
        events = self._events
        if self.options.executor != "ray":
            at_once = min(self.parallel_jobs, len(self.entries) * len(self.job_seeds))
            self._executor = LocalExecutor(
                parallel=self.parallel_jobs,
                env={**self.settings.to_env(), CONCURRENT_JOBS_ENV: str(at_once)},
                progress=lambda line: events.put(("line", line)),
                started=lambda job: events.put(("start", job)),
                other=lambda line: events.put(("other", line)),
            )
            return
        try:
            from bench.suite.executors import ray_executor
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
            progress=lambda line: events.put(("line", line)),
            model_cache=self.options.model_cache,
        )

    def _submit_all(self) -> None:
        events = self._events
        labels = [self.job_label(e.id, s) for e in self.entries for s in self.job_seeds]
        self._records = self.display.phase(
            "records", labels, self.expected.get("records"), parallel=self._executor.parallel
        )
        folder = self._records_folder = Path(tempfile.mkdtemp(prefix="bench-records-"))
        plan = self.plan.to_json()
        for entry in self.entries:
            self._jobs[entry.id] = []
            for seed in self.job_seeds:
                job = Job(entry.id, seed, folder / f"{entry.id}-{seed}.json", plan)
                future = self._cached(job) or self._executor.submit(job)
                future.add_done_callback(lambda _, job=job: events.put(("end", job)))
                self._jobs[entry.id].append(future)

    def cached_labels(self) -> frozenset[str]:
        """The labels of the jobs whose whole record the records cache holds, read now (for the
        estimate, before any job starts) and kept for `_cached`, which then reads nothing."""
        from bench.suite.executors.cached_record import record_without_worker

        found = set()
        for entry in self.entries:
            for seed in self.job_seeds:
                job = Job(entry.id, seed, Path(), "")
                record = record_without_worker(self.plan, self.settings, job)
                self._from_cache[entry.id, seed] = record
                if record is not None:
                    found.add(self.job_label(entry.id, seed))
        return frozenset(found)

    def _cached(self, job: Job) -> Future[JobResult] | None:
        """A finished job when the records cache holds the whole record (no worker runs:
        `cached_record.record_without_worker`), else None."""
        from bench.suite.executors.cached_record import record_without_worker

        key = (job.variant, job.seed)
        if key in self._from_cache:
            record = self._from_cache.pop(key)
        else:
            record = record_without_worker(self.plan, self.settings, job)
        if record is None:
            return None
        self._events.put(("start", job))
        future: Future[JobResult] = Future()
        future.set_result(JobResult(record, 0, [], 0.0))
        return future

    def _label(self, job: Job) -> str:
        return self.job_label(job.variant, job.seed)

    def _show(self, kind: str, payload: Any) -> None:
        """One event of the workers, on the display (from the main thread)."""
        records = self._records
        if kind == "start" and records is not None:
            records.start(self._label(payload))
        elif kind == "end" and records is not None:
            records.done(self._label(payload))
            if len(records.finished) == len(records.items):
                records.close()
        elif kind == "other":
            if self.show_worker_output:
                self.display.say(payload)
        else:
            epoch = epoch_detail(payload)
            if epoch is not None and records is not None and self.display.live:
                records.update(self.job_label(epoch[0], epoch[1]), epoch[2])
            else:
                self.display.say(payload)

    def wait(self, futures: list[Future[JobResult]]) -> list[JobResult]:
        """Wait for `futures`, showing what the workers report as it comes (from this thread:
        pytest's output capture can only be lifted from the main thread). Ctrl-C cancels every
        job that has not ended, then stops the run."""
        try:
            self._show_until_done(futures)
        except KeyboardInterrupt:
            self.close()
            raise
        return [f.result() for f in futures]

    def _show_until_done(self, futures: list[Future[JobResult]]) -> None:
        while True:
            try:
                self._show(*self._events.get(timeout=0.2))
                continue
            except queue.Empty:
                if self._records is not None:
                    self._records.tick()
            if all(f.done() for f in futures):
                break
        self.drain()

    def drain(self) -> None:
        """Show every event already reported."""
        while not self._events.empty():
            self._show(*self._events.get_nowait())

    def finish_jobs(self) -> None:
        """Wait until every submitted worker job has ended (and Ray has let go of this machine's
        CPUs: a local cluster stops here, before any timed scenario), and close the records
        phase."""
        if self._executor is not None:
            self._executor.shutdown()
            # The done callbacks have run: every "end" event is in the queue.
            self.drain()
        if self._records is not None:
            self._records.close()

    def close(self) -> None:
        """Cancel the jobs that have not ended and let the executor go (Ctrl-C, end of run);
        remove the workers' record files (each was read as its job ended)."""
        if self._executor is not None:
            self._executor.shutdown(cancel=True)
        if self._records_folder is not None:
            shutil.rmtree(self._records_folder, ignore_errors=True)
            self._records_folder = None

    def record_error(self, variant: str, message: str, *, deployment: str = "keras") -> None:
        """Add one sentence to the model's record, or to one of its deployments' rows (a timed
        scenario that failed for it)."""
        if deployment != "keras":
            row = self.deployment_rows.setdefault(variant, {}).setdefault(
                deployment, {"deployment": deployment, "errors": [], "unavailable": {}}
            )
            row["errors"].append(message)
            return
        record = self.records.setdefault(variant, {"errors": [], "unavailable": {}})
        record.setdefault("errors", []).append(message)

    def deployment_data(self) -> Any:
        """The run's dataset, for calibration (training images) and per-deployment accuracy
        (test images, split as in the workers); None when it cannot be read (reported mode on a
        machine without the dataset: full int8 then says it has no calibration images)."""
        from bench.training.datasets import DatasetError

        try:
            return load_data(self.plan, self.entries[0].recipe.validation_examples)
        except DatasetError:
            return None

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
        from bench.training import datasets

        opt = self.plan
        return {
            "variants": [e.id for e in self.entries],
            "accuracy_source": str(opt.accuracy),
            "profile": opt.profile if opt.accuracy.trains else None,
            "dataset": opt.dataset,
            "input_shape": list(self.shape[0]),
            "num_classes": self.shape[1],
            "seed": self.seeds[0],
            "seeds": list(self.job_seeds),
            "data_split_seed": DATA_SPLIT_SEED,
            "class_names": list(datasets.class_names_of(opt.data_name)),
            "latency_batch_size": 1,
            "throughput_batch_size": opt.throughput_batch,
            "latency_budget_s": opt.latency_budget,
            "latency_reference": "bench.measure.timing.reference_workload",
            "timing": "interleaved: every model in every round, order shuffled per round",
            "parallel_jobs": self.parallel_jobs,
            "deployments": list(self.deployments),
            "executor": self._executor.describe() if self._executor is not None else None,
            "plugins": list(opt.plugin),
        }
