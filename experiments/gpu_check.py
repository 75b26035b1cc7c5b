"""The GPU check: every path only a GPU exercises, on one GPU, in one command of a few minutes.

Run (on a machine with an NVIDIA GPU and a CUDA build of TensorFlow):
    python -m experiments.gpu_check --out docs/results/gpu-check
or, as part of the tests (skipped with one sentence where there is no GPU):
    pytest -m gpu tests/test_gpu.py

Checks, each printing its figure and PASS or FAIL (exit 1 when any fails, 2 without a GPU):

1. `memory`: v10, one inference at batch 256 and one training step at its recipe's batch
   (`bench.measure.memory.one_step_peaks`, as the suite's worker does): the TF allocator's peak
   and NVML's memory for this process are both non-null and at least the weights' size (float32
   parameters x 4 bytes). NVML reports host PIDs; in a container PID namespace it lists none,
   and the check says so.
2. `oom`: the suite's throughput session for v10 at batch `OOM_BATCH`, in a process whose GPU is
   limited to `OOM_LIMIT_MIB` (`--gpu-memory-limit`): the batch is halved until the first call
   fits, and the entry records `requested_batch_size` and `batch_reduced_because`.
3. `xla`, 4. `mixed_float16`: the suite's latency session for v10 with `--xla`, then with
   `--precision mixed_float16`: both complete, each timed function traced once.
5. `sync`: a training step's call returns only after the GPU has finished (it reads the loss
   back): `tf.test.experimental.sync_devices()` right after it takes under `SYNC_FRACTION` of the
   step's time (median of `SYNC_STEPS` steps). An unsynchronised call would return in
   microseconds and leave the step's work to the sync.
6. `energy`: energy per 1,000 images of v10 at batch 256 from NVML's energy counter
   (`bench.suite.orchestration.scenarios.energy_scenario`, the suite's code): non-null and between
   0.1 and 1,000 J.

The three suite checks run `pytest bench/test_suite.py` in subprocesses (the settings of a
TensorFlow process are fixed at its first op); the others run in this process on `--device gpu`.
`--out` receives `gpu-check.json` (every figure, the machine, the versions) and the suite JSONs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL = "v10"
BATCH = 256
OOM_BATCH = 16384  # activations of v10 at this batch are tens of GiB: far over the limit
OOM_LIMIT_MIB = 1024
SYNC_STEPS = 20
SYNC_FRACTION = 0.05
ENERGY_RANGE_J = (0.1, 1000.0)
SUITE_TIMEOUT_S = 150


def gpu_absent() -> str | None:
    """One sentence saying why this machine cannot run the check, or None when it has a GPU.

    Reads NVML only (no TensorFlow import), so the tests can skip in a fraction of a second.
    """
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound and the like: no NVIDIA driver
        return f"no NVIDIA GPU here ({type(exc).__name__}): the GPU check needs one"
    try:
        count = pynvml.nvmlDeviceGetCount()
    finally:
        pynvml.nvmlShutdown()
    return None if count else "NVML found no GPU on this machine: the GPU check needs one"


def check(name: str, passed: bool, figure: str, **details: Any) -> dict[str, Any]:
    """One check's outcome, printed as one line."""
    print(f"{'PASS' if passed else 'FAIL'}  {name}: {figure}", flush=True)
    return {"check": name, "passed": bool(passed), "figure": figure, **details}


def _model() -> Any:
    import architectures

    return architectures.get(MODEL).build(input_shape=(32, 32, 3), num_classes=10)


def check_memory() -> dict[str, Any]:
    """TF allocator peak and NVML process memory are non-null and at least the weights' size."""
    import architectures
    from bench import units
    from bench.measure import memory, params

    model = _model()
    weights = 4 * params.parameter_counts(model)["params_total"]
    figures, unavailable, error = memory.one_step_peaks(
        model, architectures.get(MODEL).recipe, inference_batch=BATCH, num_classes=10
    )
    peak, nvml = figures["peak_gpu_memory_bytes"], figures["gpu_process_memory_bytes"]
    passed = error is None and None not in (peak, nvml) and min(peak, nvml) >= weights
    figure = (
        f"allocator peak {units.mebibytes(peak)}, NVML process {units.mebibytes(nvml)}, weights "
        f"{units.mebibytes(weights)}" + (f"; {error or unavailable}" if not passed else "")
    )
    return check("memory", passed, figure, weights_bytes=weights, figures=figures,
                 unavailable=unavailable, error=error)  # fmt: skip


def check_sync() -> dict[str, Any]:
    """A training step's call has waited for the GPU: a sync right after it finds nothing left."""
    import tensorflow as tf

    import architectures
    from bench import units
    from bench.measure import timing

    step = timing.train_step(_model(), architectures.get(MODEL).recipe, num_classes=10, xla=False)
    step.warm_up(3)
    steps, syncs = [], []
    for _ in range(SYNC_STEPS):
        start = time.perf_counter()
        step.call()
        middle = time.perf_counter()
        tf.test.experimental.sync_devices()
        steps.append(middle - start)
        syncs.append(time.perf_counter() - middle)
    step_s, sync_s = statistics.median(steps), statistics.median(syncs)
    passed = sync_s < SYNC_FRACTION * step_s
    figure = f"step {units.seconds(step_s)}, sync after it {units.seconds(sync_s)}"
    return check("sync", passed, figure, step_s=steps, sync_s=syncs)


def check_energy() -> dict[str, Any]:
    """Energy per 1,000 images of v10 at batch 256 from NVML, plausible."""
    from bench import units
    from bench.measure import timing
    from bench.suite.orchestration import scenarios

    timed = timing.inference(_model(), batch_size=BATCH, xla=False)
    timed.warm_up(10)
    row = scenarios.energy_scenario({MODEL: timed}, on_gpu=True)[MODEL]
    joules = row["energy_per_1000_images_j"]
    low, high = ENERGY_RANGE_J
    passed = joules is not None and low <= joules <= high
    figure = f"{units.joules(joules)} per 1,000 images at batch {BATCH}" + (
        f" ({row['reason']})" if row["reason"] else ""
    )
    return check("energy", passed, figure, **row)


def run_suite(out: Path, name: str, options: list[str]) -> tuple[dict[str, Any] | None, str]:
    """`pytest bench/test_suite.py` on v10 with `options`; its JSON (None on failure) and log."""
    json_path = out / f"suite-{name}.json"
    command = [
        sys.executable, "-m", "pytest", "bench/test_suite.py", "-q", "-p", "no:cacheprovider",
        "--variants", MODEL, "--device", "gpu", f"--benchmark-json={json_path}", *options,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        proc = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return None, f"the suite run took over {SUITE_TIMEOUT_S} s"
    log = (proc.stdout + proc.stderr)[-3000:]
    if proc.returncode != 0 or not json_path.exists():
        return None, log
    return json.loads(json_path.read_text(encoding="utf-8")), log


def _benchmark(doc: dict[str, Any] | None, scenario: str) -> dict[str, Any] | None:
    for bench in (doc or {}).get("benchmarks", []):
        extra = bench.get("extra_info", {})
        if extra.get("variant") == MODEL and extra.get("scenario") == scenario:
            return bench
    return None


def check_oom(out: Path) -> dict[str, Any]:
    """Throughput at a batch far over a small memory limit: halved until it fits, recorded."""
    options = ["-k", "test_throughput", "--throughput-batch", str(OOM_BATCH),
               "--gpu-memory-limit", str(OOM_LIMIT_MIB)]  # fmt: skip
    doc, log = run_suite(out, "oom", options)
    extra = (_benchmark(doc, "throughput") or {}).get("extra_info", {})
    used = extra.get("batch_size")
    passed = (
        extra.get("requested_batch_size") == OOM_BATCH
        and isinstance(used, int)
        and used < OOM_BATCH
        and OOM_BATCH % used == 0
        and "out of memory" in str(extra.get("batch_reduced_because"))
    )
    figure = (
        f"batch {OOM_BATCH} on a {OOM_LIMIT_MIB} MiB GPU ran at batch {used} "
        f"({extra.get('batch_reduced_because')})"
    )
    return check("oom", passed, figure + ("" if passed else f"\n{log}"), extra_info=extra)


def check_latency(out: Path, name: str, options: list[str]) -> dict[str, Any]:
    """The latency session completes with `options`, its function traced once."""
    doc, log = run_suite(out, name, ["-k", "test_latency", "--latency-budget", "1", *options])
    bench = _benchmark(doc, "latency")
    extra = (bench or {}).get("extra_info", {})
    traces = extra.get("tracing_count")
    passed = bench is not None and traces == 1
    median = ((bench or {}).get("stats") or {}).get("median")
    figure = f"{len(((bench or {}).get('stats') or {}).get('data') or [])} samples, median " + (
        f"{median * 1e3:.3g} ms, traced {traces} time(s)" if median else f"none\n{log}"
    )
    return check(name, passed, figure, extra_info=extra)


def _in_process_checks() -> list[Callable[[], dict[str, Any]]]:
    return [check_memory, check_sync, check_energy]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.gpu_check")
    parser.add_argument("--out", type=Path, default=Path("results/gpu-check"))
    args = parser.parse_args(argv)
    absent = gpu_absent()
    if absent is not None:
        print(absent + ".")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    from bench.measure.environment import Settings, configure, machine_info

    configure(Settings(device="gpu"))
    start = time.perf_counter()
    results = [run() for run in _in_process_checks()]
    results.append(check_oom(args.out))
    results.append(check_latency(args.out, "xla", ["--xla"]))
    results.append(check_latency(args.out, "mixed_float16", ["--precision", "mixed_float16"]))
    wall_s = time.perf_counter() - start
    failed = [r["check"] for r in results if not r["passed"]]
    summary = {"machine_info": machine_info(), "wall_s": wall_s, "checks": results}
    path = args.out / "gpu-check.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"{len(results) - len(failed)}/{len(results)} checks passed in {wall_s:.0f} s; {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
