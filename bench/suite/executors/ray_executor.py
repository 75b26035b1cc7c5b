"""Worker jobs as Ray tasks: the same worker process, on any node of a Ray cluster.

`RayExecutor` has the `submit`/`shutdown` interface of `bench.suite.executors.jobs.LocalExecutor`.
Each job (model x seed) is one Ray task, `_job_task`, in a Ray worker process used for that job only
(`max_calls=1`, so TensorFlow's memory goes with the process), asking for `--cpus-per-job` CPUs
and `--gpus-per-job` GPUs. The task runs `python -m bench.suite.executors.worker` as its subprocess,
as the local executor does (`bench.suite.executors.jobs.run_worker`), so every figure a worker
measures, its host memory peak included, is measured the same way; the worker's progress lines reach
the driver through a small actor (`_Lines`), and its record comes back as the task's result. Without
an address, `ray.init` starts a local cluster on this machine, so the same command runs on a laptop
and on a cluster; the project's packages and the `--plugin` modules travel to a remote cluster
through Ray's runtime environment (`py_modules`).

Where the trained model lives (`run_on_node`):

- in the driver's model cache, when the node sees it at the same path
  (`bench.suite.executors.transfer`'s token: a local cluster, or a cache on a folder that every node
  mounts): the worker trains straight into it, so a retried job resumes from its last epoch
  checkpoint and nothing travels;
- else in `--shared-cache` when given (a retry resumes on any node), else in a cache folder of
  the node (a retry resumes on the same node). The finished entry's files then come home through
  Ray's object store into the driver's cache, under the same folder name, and the record's
  `model_path` names the copy there; the driver's finished entries for the model and seed go out
  with the job, so a rerun trains nothing.

Faults: a job whose worker dies is retried by Ray, up to `MAX_RETRIES` times. A worker process
killed by a signal (SIGKILL, the out-of-memory killer) makes the task raise `WorkerKilled`, which
Ray retries (`retry_exceptions`); a Ray worker process or node that dies is a system failure,
which Ray retries anyway, and the worker dies with its task's process (`_die_with_parent`), so a
retry never races an orphan on the same cache entry. A job that fails for its own reasons (NaN
loss, out of memory) is a record with one sentence in `errors`, as with the local executor.
`shutdown(cancel=True)` (Ctrl-C) cancels every task that has not finished.

Timing stays honest: the suite times nothing until `shutdown` has returned, and a local cluster
is stopped by then (`ray.shutdown`), so no timed scenario runs beside a job or Ray's processes.

`tests/test_ray.py` checks, on a local cluster: records and progress of a stub worker, a finished
entry brought home through the object store, cancellation, and end to end (2 models x 2 seeds,
smoke profile, synthetic data) the same deterministic figures as the local executor, a killed
worker and a killed task each retried and resumed after their saved epoch, and a NaN job that is
one sentence while the others finish.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from bench import atomic
from bench.suite.executors import transfer
from bench.suite.executors.jobs import (
    CONCURRENT_JOBS_ENV,
    PLAN_FILE,
    ROOT,
    WORKER_MODULE,
    ExecutorError,
    Job,
    JobResult,
    pythonpath,
    run_worker,
    worker_command,
)
from bench.suite.executors.jobs import die_with_parent as _die_with_parent
from bench.suite.plan.plan import RunPlan

MAX_RETRIES = 3  # Ray's default for tasks; each retry resumes from the last saved epoch
CANCELLED = -2  # JobResult.returncode of a job cancelled before it ended
PACKAGES = ("architectures", "bench", "reports")  # the project, shipped to a remote cluster
NODE_CACHE = "bench-model-cache"  # in the node's temporary folder, when nothing else fits
LINES_POLL_S = 0.2  # how often the driver collects the jobs' progress lines


@dataclass(frozen=True)
class ClusterOptions:
    """The suite's options for the Ray executor.

    Attributes:
        address: the cluster to join; None starts a local cluster for this run.
        cpus_per_job: CPUs each job asks for.
        gpus_per_job: GPUs each job asks for; None: 1 on a cluster with GPUs unless `device` is
            "cpu", else 0.
        jobs: a local cluster's size in jobs (`--jobs`); None: every CPU of this machine.
        shared_cache: a folder every node mounts at the same path, for nodes that cannot see the
            driver's model cache.
        device: the suite's `--device`.
        plugins: the `--plugin` values.
    """

    address: str | None = None
    cpus_per_job: float = 1.0
    gpus_per_job: float | None = None
    jobs: int | None = None
    shared_cache: Path | None = None
    device: str = "auto"
    plugins: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, opt: Any) -> ClusterOptions:
        """From the suite's option values; the address falls back on `RAY_ADDRESS`."""
        return cls(
            address=opt.ray_address or os.environ.get("RAY_ADDRESS") or None,
            cpus_per_job=opt.cpus_per_job,
            gpus_per_job=opt.gpus_per_job,
            jobs=opt.jobs,
            shared_cache=None if opt.shared_cache is None else Path(opt.shared_cache).resolve(),
            device=opt.device,
            plugins=tuple(opt.plugin or ()),
        )

    def check(self) -> None:
        """Raise `ExecutorError` (one sentence) for values that cannot work."""
        if self.cpus_per_job <= 0:
            raise ExecutorError(f"--cpus-per-job must be above 0, got {self.cpus_per_job}.")
        if self.gpus_per_job is not None and self.gpus_per_job < 0:
            raise ExecutorError(f"--gpus-per-job cannot be negative, got {self.gpus_per_job}.")
        if self.jobs is not None and self.jobs < 1:
            raise ExecutorError(f"--jobs must be at least 1, got {self.jobs}.")
        if self.jobs is not None and self.address is not None:
            raise ExecutorError(
                "--jobs sizes a local Ray cluster; on the cluster at "
                f"{self.address}, set how much of a node one job takes with --cpus-per-job "
                "and --gpus-per-job instead."
            )


class WorkerKilled(Exception):
    """A job's worker process was killed by a signal; Ray retries the task on this exception."""

    def __init__(self, message: str, returncode: int, tail: list[str]) -> None:
        super().__init__(message, returncode, tail)  # all three: the exception is pickled
        self.message = message
        self.returncode = returncode
        self.tail = tail

    def __str__(self) -> str:
        return self.message


# --- on the node ----------------------------------------------------------------------------------


def _node_plugins(plugins: Sequence[str]) -> list[str]:
    """`--plugin` values for this node: a `.py` file the node lacks is imported by its module
    name, under which the runtime environment (`py_modules`) put it on the path."""
    return [p if not p.endswith(".py") or Path(p).is_file() else Path(p).stem for p in plugins]


def _node_cache(spec: Mapping[str, Any]) -> Path:
    if spec["shared_cache"]:
        return Path(spec["shared_cache"])
    return Path(tempfile.gettempdir()) / NODE_CACHE


def _finished_entry(
    record: dict[str, Any] | None, root: Path, unpacked: list[str]
) -> tuple[str | None, transfer.Files]:
    """The cache entry behind the record's model and the files to send home (none when the
    driver sent that very entry); (None, {}) when the model is no cache entry of `root`."""
    path = (record or {}).get("model_path")
    if not path:
        return None, {}
    folder = Path(path).resolve().parent
    if folder.parent != root.resolve():  # the user's own weights (--accuracy load)
        return None, {}
    if folder.name in unpacked and record.get("from_cache"):
        return folder.name, {}
    return folder.name, transfer.entry_files(folder)


def _worker_command(spec: Mapping[str, Any], out: Path, root: Path) -> list[str]:
    """The worker's command line on this node; its plan, with this node's model cache and
    plugin names, written beside its record."""
    plan = RunPlan.from_json(spec["plan"])
    plan = plan.replace(model_cache=root, plugin=tuple(_node_plugins(plan.plugin)))
    plan_file = out.parent / PLAN_FILE
    plan_file.write_text(plan.to_json(), encoding="utf-8")
    command = spec["command"] or (sys.executable, "-m", WORKER_MODULE)
    job = Job(spec["variant"], spec["seed"], out, spec["plan"])
    return worker_command(command, job, plan_file)


def run_on_node(
    spec: Mapping[str, Any], outgoing: transfer.Entries, say: Callable[[str], None]
) -> dict[str, Any]:
    """One job on the node its task runs on: the worker, then its record and model files.

    Args:
        spec: the job as `RayExecutor._spec` describes it.
        outgoing: the driver's finished entries for this model and seed.
        say: receives the worker's progress lines.

    Returns:
        `record`, `returncode`, `tail`, `wall_s`, `node`, `entry` (the cache folder's name, or
        None) and `files` (that entry's files, when they must travel home).

    Raises:
        WorkerKilled: the worker process was killed by a signal (Ray retries the task).
    """
    at_home = transfer.visible(spec["token"]) and not spec["ship"]
    root = Path(spec["model_cache"]) if at_home else _node_cache(spec)
    unpacked = [] if at_home else transfer.unpack(outgoing, root)
    with tempfile.TemporaryDirectory(prefix="bench-job-") as scratch:
        out = Path(scratch) / "record.json"
        cwd = Path(spec["cwd"]) if Path(spec["cwd"]).is_dir() else Path(scratch)
        returncode, tail, wall_s = run_worker(
            _worker_command(spec, out, root),
            variant=spec["variant"],
            env={**os.environ, **spec["env"]},
            cwd=cwd,
            progress=say,
            preexec_fn=_die_with_parent(),
        )
        if returncode < 0:
            raise WorkerKilled(
                f"the worker of {spec['variant']} (seed {spec['seed']}) on {platform.node()} "
                f"was killed by signal {-returncode}",
                returncode,
                tail,
            )
        record = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else None
    entry, files = (None, {}) if at_home else _finished_entry(record, root, unpacked)
    return {
        "record": record,
        "returncode": returncode,
        "tail": tail,
        "wall_s": wall_s,
        "node": platform.node(),
        "entry": entry,
        "files": files,
    }


@ray.remote(max_calls=1, max_retries=MAX_RETRIES, retry_exceptions=[WorkerKilled])
def _job_task(spec: dict[str, Any], outgoing: transfer.Entries, lines: Any) -> dict[str, Any]:
    """A job's Ray task: `run_on_node`, its progress lines sent to the driver's `_Lines`."""
    last: list[Any] = []

    def say(line: str) -> None:
        last[:] = [lines.put.remote(line)]

    try:
        return run_on_node(spec, outgoing, say)
    finally:
        if last:  # an actor runs one caller's calls in order: every line is there before the end
            ray.get(last[0])


@ray.remote(num_cpus=0)
class _Lines:
    """The jobs' progress lines, held until the driver takes them (a task cannot call back)."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def put(self, line: str) -> None:
        self._lines.append(line)

    def take(self) -> list[str]:
        lines, self._lines = self._lines, []
        return lines


# --- on the driver --------------------------------------------------------------------------------


def _plugin_modules(plugins: Sequence[str]) -> list[str]:
    """The files or package folders of the `--plugin` modules, for `py_modules`."""
    paths = []
    for plugin in plugins:
        if plugin.endswith(".py"):
            paths.append(str(Path(plugin).resolve()))
            continue
        spec = importlib.util.find_spec(plugin.split(".")[0])
        if spec is not None and spec.submodule_search_locations:
            paths.append(next(iter(spec.submodule_search_locations)))
        elif spec is not None and spec.origin:
            paths.append(spec.origin)
    return paths


def _runtime_env(options: ClusterOptions) -> dict[str, Any]:
    """A local cluster reads this machine's files: only our code's place goes with it. A
    remote one gets the project's packages and the plugins (README: what must be shared)."""
    if options.address is None:
        return {"env_vars": {"PYTHONPATH": pythonpath()}}
    modules = [str(ROOT / package) for package in PACKAGES]
    return {
        "py_modules": [*modules, *_plugin_modules(options.plugins)],
        "excludes": ["__pycache__", "*.pyc"],
    }


def _connect(options: ClusterOptions) -> float:
    """Join the cluster at `options.address`, or start a local one; the seconds it took.

    Raises:
        ExecutorError: Ray could not start or join the cluster.
    """
    kwargs: dict[str, Any] = {
        "log_to_driver": False,  # the tasks send their progress lines themselves
        "logging_level": logging.WARNING,
        "runtime_env": _runtime_env(options),
    }
    if options.address is None:
        cpus = options.jobs * options.cpus_per_job if options.jobs else os.cpu_count() or 1
        kwargs.update(num_cpus=math.ceil(cpus), include_dashboard=False)
    started = time.perf_counter()
    try:
        ray.init(address=options.address or "local", **kwargs)
    except Exception as exc:  # whatever Ray raises for a cluster it cannot reach or start
        where = (
            f"join the Ray cluster at {options.address}"
            if options.address
            else "start a local Ray cluster"
        )
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ExecutorError(
            f"could not {where} ({type(exc).__name__}: {reason}); start a head node with "
            "`ray start --head` and pass its address with --ray-address or RAY_ADDRESS."
        ) from exc
    return time.perf_counter() - started


def _slots(nodes: list[dict[str, Any]], cpus: float, gpus: float) -> int:
    """How many jobs the alive nodes can run at once."""
    total = 0
    for node in nodes:
        resources = node.get("Resources", {})
        fits = math.floor(resources.get("CPU", 0) / cpus + 1e-9)
        if gpus:
            fits = min(fits, math.floor(resources.get("GPU", 0) / gpus + 1e-9))
        total += fits
    return total


def _resources(options: ClusterOptions) -> tuple[list[dict[str, Any]], float, int]:
    """The alive nodes, the GPUs a job asks for, and how many jobs fit at once.

    Raises:
        ExecutorError: no node has what one job asks for (Ray would wait for one forever).
    """
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cluster_gpus = sum(n.get("Resources", {}).get("GPU", 0) for n in nodes)
    gpus = options.gpus_per_job
    if gpus is None:
        gpus = 1.0 if cluster_gpus and options.device != "cpu" else 0.0
    slots = _slots(nodes, options.cpus_per_job, gpus)
    if slots < 1:
        raise ExecutorError(
            f"no node of the Ray cluster has {options.cpus_per_job:g} CPUs and {gpus:g} GPUs "
            "free for one job; lower --cpus-per-job or --gpus-per-job, or add such a node."
        )
    return nodes, gpus, slots


def _driver_env(env: Mapping[str, str]) -> dict[str, str]:
    """What each job's worker gets from the driver: its `BENCH_*` variables and `env`."""
    forwarded = {k: v for k, v in os.environ.items() if k.startswith("BENCH_")}
    return {**forwarded, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), **env}


class RayExecutor:
    """Runs worker jobs as Ray tasks (module docstring); `submit` and `shutdown` as locally.

    Args:
        options: the cluster options.
        env: extra environment variables for the workers (the process settings).
        progress: receives each progress line of a worker (it starts with the model id).
        model_cache: the driver's trained-model cache (`--model-cache`).
        command: the worker's interpreter and module (tests substitute a stub worker); None:
            `python -m bench.suite.executors.worker` with the node's interpreter.
        ship_models: bring finished entries home through the object store even from nodes that
            see the driver's cache (tests take that path on one machine with it).

    Raises:
        ExecutorError: Ray could not start or join the cluster, or no node fits one job.
    """

    def __init__(
        self,
        options: ClusterOptions,
        *,
        env: Mapping[str, str],
        progress: Callable[[str], None] = lambda line: None,
        model_cache: Path,
        command: Sequence[str] | None = None,
        ship_models: bool = False,
    ) -> None:
        options.check()
        self.options = options
        self._progress = progress
        self._env = _driver_env(env)
        self._command = None if command is None else list(command)
        self._model_cache = Path(model_cache).resolve()
        self._ship = ship_models
        self._owns = not ray.is_initialized()
        self.startup_s = _connect(options) if self._owns else None
        try:
            self._survey(options)
            # A job with a GPU of its own has its device to itself; otherwise as many jobs as fit
            # may share one machine, and a training run's energy is refused.
            shared = 1 if self.gpus_per_job >= 1 else self.parallel
            self._env[CONCURRENT_JOBS_ENV] = str(shared)
            self._token = transfer.write_token(self._model_cache)
            self._lines = _Lines.remote()
        except BaseException:  # leave no cluster behind: the run stops here
            self._disconnect()
            raise
        self._pending: dict[Any, Job] = {}
        self._lock = threading.Lock()
        self._cancelled = False
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="ray-job")
        self._stop = threading.Event()
        self._lines_lost = False
        self._pump = threading.Thread(target=self._pump_lines, name="ray-lines", daemon=True)
        self._pump.start()

    def _survey(self, options: ClusterOptions) -> None:
        """Read the cluster: its nodes, what a job asks for, how many fit, where entries go."""
        nodes, self.gpus_per_job, self.parallel = _resources(options)
        self._hosts = sorted({str(n.get("NodeManagerHostname", "?")) for n in nodes})
        self._resources = ray.cluster_resources()
        # Entries go out with the jobs only where a node may not see the driver's cache.
        here = ray.get_runtime_context().get_node_id()
        self._ship_out = self._ship or [n.get("NodeID") for n in nodes] != [here]

    def describe(self) -> dict[str, Any]:
        """The run section's `executor`: what ran the jobs, where, with what."""
        return {
            "kind": "ray",
            "ray_version": ray.__version__,
            "address": self.options.address or "a local cluster started for this run",
            "nodes": self._hosts,
            "cluster_cpus": self._resources.get("CPU", 0.0),
            "cluster_gpus": self._resources.get("GPU", 0.0),
            "cpus_per_job": self.options.cpus_per_job,
            "gpus_per_job": self.gpus_per_job,
            "parallel_jobs": self.parallel,
            "max_retries": MAX_RETRIES,
            "startup_s": self.startup_s,
            "processes": "one Ray task per job, in a Ray worker process used for that job only "
            "(max_calls=1), which runs the worker as its subprocess",
        }

    def submit(self, job: Job) -> Future[JobResult]:
        """Start `job` as a Ray task; its future holds the `JobResult`."""
        spec = self._spec(job)
        outgoing = {}
        if self._ship_out:
            outgoing = transfer.finished_entries(
                self._model_cache,
                variant=job.variant,
                seed=spec["seed"],
                profile=spec["profile"],
            )
        task = _job_task.options(num_cpus=self.options.cpus_per_job, num_gpus=self.gpus_per_job)
        ref = task.remote(spec, outgoing, self._lines)
        with self._lock:
            self._pending[ref] = job
        return self._pool.submit(self._collect, job, ref)

    def shutdown(self, *, cancel: bool = False) -> None:
        """Wait for every job (or cancel the unfinished ones when `cancel`), then leave Ray: a
        local cluster stops, so nothing of Ray runs beside the timed scenarios."""
        if self._closed:
            return
        if cancel:
            self._cancelled = True
            with self._lock:
                pending = list(self._pending)
            for ref in pending:
                ray.cancel(ref, force=True)  # kills the task's process; the worker dies with it
        self._pool.shutdown(wait=True)
        self._stop.set()
        self._pump.join()
        self._pass_lines()
        self._closed = True
        self._token.unlink(missing_ok=True)
        self._disconnect()

    def _disconnect(self) -> None:
        if self._owns:
            ray.shutdown()

    def _spec(self, job: Job) -> dict[str, Any]:
        """The job for its node: the run's plan as JSON with absolute paths, and where the
        driver's cache is."""
        plan = RunPlan.from_json(job.plan)
        resolved = {
            key: getattr(plan, key).resolve()
            for key in ("data_dir", "weights_dir")
            if getattr(plan, key) is not None
        }
        plan = plan.replace(
            **resolved,
            plugin=tuple(str(Path(p).resolve()) if p.endswith(".py") else p for p in plan.plugin),
            model_cache=self._model_cache,
        )
        shared = self.options.shared_cache
        return {
            "variant": job.variant,
            "seed": job.seed,
            "plan": plan.to_json(),
            "profile": plan.profile,
            "model_cache": str(self._model_cache),
            "token": str(self._token),
            "ship": self._ship,
            "shared_cache": None if shared is None else str(shared),
            "env": self._env,
            "command": self._command,
            "cwd": os.getcwd(),
        }

    def _collect(self, job: Job, ref: Any) -> JobResult:
        """Wait for the task, bring its model home, and write the record where the job says."""
        try:
            reply = ray.get(ref)
        except Exception as exc:  # Ray's errors for a task that returned nothing; see _failed
            return self._failed(job, exc)
        finally:
            with self._lock:
                self._pending.pop(ref, None)
        self._pass_lines()  # the job's last lines before its result
        record = reply["record"]
        if record is not None and reply["entry"] is not None:
            folder = self._model_cache / reply["entry"]
            if reply["files"]:
                transfer.bring_home(reply["files"], folder)
            record["model_path"] = str(folder / transfer.FINAL_FILE)
        if record is not None:
            job.out.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_atomic(job.out, json.dumps(record, indent=1, default=str).encode())
        return JobResult(record, reply["returncode"], reply["tail"], reply["wall_s"])

    def _failed(self, job: Job, exc: Exception) -> JobResult:
        """A task that never returned a record: cancelled, killed on every try, or our bug."""
        if self._cancelled or isinstance(exc, ray.exceptions.TaskCancelledError):
            return JobResult(None, CANCELLED, [f"{job.variant}: cancelled before it ended."])
        cause = getattr(exc, "cause", None)
        if isinstance(cause, WorkerKilled):
            sentence = f"{cause.message}, and again on each of its {MAX_RETRIES} retries."
            return JobResult(None, cause.returncode, [*cause.tail, sentence])
        if isinstance(exc, ray.exceptions.RayTaskError):  # a bug of ours in the task: traceback
            return JobResult(None, 1, str(exc).splitlines()[-40:])
        reason = (str(exc).strip().splitlines() or [""])[0]
        return JobResult(
            None,
            -1,
            [
                f"the Ray task of {job.variant} ended without a record on each of its "
                f"{MAX_RETRIES + 1} tries ({type(exc).__name__}: {reason})."
            ],
        )

    def _pass_lines(self) -> None:
        if self._lines_lost:
            return
        try:
            lines = ray.get(self._lines.take.remote())
        except ray.exceptions.RayError as exc:  # the actor's node is gone: say so, once
            self._lines_lost = True
            self._progress(f"ray: no more progress lines ({type(exc).__name__}); the jobs go on")
            return
        for line in lines:
            self._progress(line)

    def _pump_lines(self) -> None:
        while not self._stop.wait(LINES_POLL_S):
            self._pass_lines()
