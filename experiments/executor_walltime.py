"""Wall time of four smoke jobs with the local executor and on a local Ray cluster (issue 12).

Measured: 2 models (v01, v03) x 2 seeds, `--accuracy train --profile smoke --dataset synthetic
--skip-profiler`, each configuration on an empty model cache (so every job trains), timed from
the first `submit` until the last result: the local executor one job at a time (the suite's
default when it trains), two at a time, and `RayExecutor` on a local cluster of 2 CPUs (1 CPU per
job, so two at a time), whose `ray.init` (start-up) and `ray.shutdown` are timed apart. The jobs
are the suite's own (`bench.suite.executors.jobs.Job` with the run's `RunPlan`); nothing else should
run.

Run (CPU-heavy, about four minutes on a 2-core machine; needs the cluster extra):
    python -m experiments.executor_walltime [--repeats 2]

Results on the 2-core dev box (AMD EPYC, 2 vCPUs, TF 2.21 CPU, Ray 2.60.0), 2026-11-29, three
repeats (one run of `--repeats 1`, one of `--repeats 2`), nothing else running:
  local, 1 at a time:        jobs 35.2-38.8 s (median worker 8.9-9.4 s)
  local, 2 at a time:        jobs 18.7-19.9 s (median worker 9.2-9.8 s)
  Ray local cluster, 2 CPUs: jobs 21.5-21.9 s (median worker 9.5-9.7 s); ray.init 2.3-2.7 s,
                             ray.shutdown 1.4-1.6 s
So Ray costs about 2-3 s (10-15 %) over the local executor at the same parallelism on these
seconds-long jobs, plus about 4 s to start and stop the local cluster; on jobs of minutes or
hours (a real training grid) both are noise.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import units
from bench.measure.environment import Settings
from bench.suite.executors.jobs import Job, LocalExecutor
from bench.suite.plan.plan import RunPlan

MODELS = ("v01", "v03")
SEEDS = (0, 1)


def _jobs(cache: Path, records: Path) -> list[Job]:
    plan = RunPlan.from_options(
        {"accuracy": "train", "dataset": "synthetic", "profile": "smoke", "skip_profiler": True,
         "model_cache": cache, "seeds": "2"}
    ).to_json()  # fmt: skip
    return [
        Job(model, seed, records / f"{model}-{seed}.json", plan)
        for model in MODELS
        for seed in SEEDS
    ]


def _time_jobs(executor: Any, jobs: list[Job]) -> tuple[float, list[float]]:
    """Seconds from the first submit to the last result, and each worker's own wall time."""
    started = time.perf_counter()
    results = [future.result() for future in [executor.submit(job) for job in jobs]]
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.record is None or r.record.get("errors")]
    if failed:
        raise RuntimeError(f"a job failed: {failed[0].tail[-5:]}")
    return elapsed, [r.wall_s for r in results]


def _local(parallel: int) -> Callable[[Path], dict[str, float]]:
    def run(folder: Path) -> dict[str, float]:
        executor = LocalExecutor(parallel=parallel, env=Settings().to_env())
        elapsed, walls = _time_jobs(executor, _jobs(folder / "cache", folder / "records"))
        executor.shutdown()
        return {"jobs_s": elapsed, "median_worker_s": statistics.median(walls)}

    return run


def _ray(folder: Path) -> dict[str, float]:
    from bench.suite.executors.ray_executor import ClusterOptions, RayExecutor

    executor = RayExecutor(
        ClusterOptions(jobs=2), env=Settings().to_env(), model_cache=folder / "cache"
    )
    elapsed, walls = _time_jobs(executor, _jobs(folder / "cache", folder / "records"))
    stopping = time.perf_counter()
    executor.shutdown()
    return {
        "startup_s": executor.startup_s,
        "jobs_s": elapsed,
        "median_worker_s": statistics.median(walls),
        "shutdown_s": time.perf_counter() - stopping,
    }


CONFIGURATIONS = {
    "local, 1 at a time": _local(1),
    "local, 2 at a time": _local(2),
    "ray local cluster, 2 CPUs": _ray,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.executor_walltime")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every configuration")
    args = parser.parse_args(argv)
    for repeat in range(args.repeats):
        for name, run in CONFIGURATIONS.items():
            with tempfile.TemporaryDirectory(prefix="walltime-") as folder:
                figures = run(Path(folder))
            shown = ", ".join(f"{key} {units.seconds(value)}" for key, value in figures.items())
            print(f"repeat {repeat + 1}, {name}: {shown}", flush=True)


if __name__ == "__main__":
    main()
