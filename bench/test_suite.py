"""The benchmark suite: per variant, a worker record, then batch-1 latency, throughput, train step.

Run: `pytest bench --benchmark-json out.json [--variants v01,v10] [--accuracy train]`.
Tests run function by function, so every worker (FLOPs, memory, accuracy, training) runs before
any timing starts, and timings are not disturbed by a worker running beside them.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.conftest import SUITE_KEY, Suite
from bench.measure import timing as latency
from bench.suite.options import worker_argv


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        suite = metafunc.config.stash[SUITE_KEY]
        ids = [e.id for e in suite.entries]
        metafunc.parametrize("variant", ids, ids=ids)


def _live(config: pytest.Config):
    """Show worker progress lines even while pytest captures output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    return capture.global_and_fixture_disabled() if capture else _Null()


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_record(variant: str, suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Params, FLOPs, accuracy (reported / trained / loaded) and memory, in a fresh process."""
    out = tmp_path_factory.mktemp("records") / f"{variant}.json"
    command = [sys.executable, "-m", "bench.suite.worker", "--variant", variant, "--out", str(out)]
    command += worker_argv(vars(suite.config.option))
    env = {**os.environ, **suite.settings.to_env(), "PYTHONPATH": _pythonpath()}
    start = time.perf_counter()
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=env, cwd=Path.cwd()
    ) as proc:
        tail: list[str] = []
        for line in proc.stderr:
            line = line.rstrip()
            if _is_progress(line, variant):
                with _live(suite.config):
                    print(f"\n    {line}", end="", flush=True)
            tail = [*tail[-40:], line]
    if not out.exists():
        pytest.fail(f"the worker for {variant} died (exit {proc.returncode}):\n" + "\n".join(tail))
    record = json.loads(out.read_text(encoding="utf-8"))
    record["worker_wall_s"] = time.perf_counter() - start
    suite.records[variant] = record
    if proc.returncode != 0:
        pytest.fail("\n".join(tail + record["errors"]))
    if record["errors"]:
        pytest.fail(" ".join(record["errors"]), pytrace=False)


def _pythonpath() -> str:
    root = str(Path(__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return root if not existing else f"{root}{os.pathsep}{existing}"


def _is_progress(line: str, variant: str) -> bool:
    """Training progress and warnings of the worker start with the variant id."""
    return line.startswith(f"{variant} ")


# --- timed scenarios ---


def _model(suite: Suite, variant: str):
    """The variant's network for timing: trained or user weights when the worker used them."""
    import keras

    import architectures

    gc.collect()
    record = suite.records.get(variant, {})
    path = record.get("model_path")
    if path and Path(path).exists():
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    shape = tuple(record.get("input_shape") or (32, 32, 3))
    return architectures.get(variant).build(input_shape=shape, num_classes=10)


def _extra(suite: Suite, variant: str, scenario: str, timed: latency.Timed) -> dict:
    from bench.measure.environment import device_name

    return {
        "variant": variant,
        "scenario": scenario,
        "batch_size": timed.batch_size,
        "device": device_name(),
        "xla": suite.settings.xla,
        "precision": suite.settings.precision,
        "first_call_s": timed.first_call_s,
        "tracing_count": timed.tracing_count,
    }


def measure_latency(benchmark, timed: latency.Timed, reference: latency.Timed, budget_s: float):
    """Batch-1 samples of `timed`, each round preceded by one untimed-by-the-fixture reference call.

    Returns the reference samples (one per round, same order as `benchmark.stats.data`).
    """
    timed.warm_up(10)  # >= 5-10 calls: cuDNN autotuning runs on first calls (measurement.md §1)
    rounds = latency.rounds_for(timed, budget_s=budget_s, min_rounds=30, max_rounds=500)
    reference_samples: list[float] = []

    def time_reference() -> None:  # setup runs before each round and is not timed by the fixture
        start = time.perf_counter()
        reference.call()
        reference_samples.append(time.perf_counter() - start)

    benchmark.pedantic(timed.call, setup=time_reference, rounds=rounds, iterations=1)
    return reference_samples


def test_latency(benchmark, variant: str, suite: Suite, reference: latency.Timed) -> None:
    """Batch-1 latency, interleaved round by round with the fixed reference workload."""
    model = _model(suite, variant)
    timed = latency.inference(model, batch_size=1, xla=suite.settings.xla)
    samples = measure_latency(benchmark, timed, reference, suite.config.option.latency_budget)
    benchmark.extra_info.update(_extra(suite, variant, "latency", timed))
    benchmark.extra_info["reference_samples_s"] = samples
    assert timed.tracing_count == 1, "the inference function retraced: the timing mixes in tracing"


def _out_of_memory(suite: Suite, variant: str, message: str) -> None:
    """Record an out-of-memory in the variant's JSON record and fail this test in one sentence."""
    record = suite.records.setdefault(variant, {"errors": [], "unavailable": {}})
    record.setdefault("errors", []).append(message)
    pytest.fail(message, pytrace=False)


def test_throughput(benchmark, variant: str, suite: Suite) -> None:
    """Images per second at a large batch (--throughput-batch, 256 by default).

    On an out-of-memory the batch is halved until it fits, and the batch actually used, the one
    asked for and the reason are recorded: never a silent decay (timm #1226 shows why).
    """
    import tensorflow as tf

    model = _model(suite, variant)
    requested = batch = suite.config.option.throughput_batch
    while True:
        timed = latency.inference(model, batch_size=batch, xla=suite.settings.xla)
        try:
            timed.warm_up(2)
            break
        except tf.errors.ResourceExhaustedError:
            if batch == 1:
                _out_of_memory(suite, variant, f"{variant} runs out of memory even at batch 1.")
            batch //= 2
    rounds = latency.rounds_for(timed, budget_s=6.0, min_rounds=3, max_rounds=50)
    benchmark.pedantic(timed.call, rounds=rounds, iterations=1)
    benchmark.extra_info.update(_extra(suite, variant, "throughput", timed))
    benchmark.extra_info["images_per_s"] = timed.batch_size / benchmark.stats.stats.median
    if batch != requested:
        benchmark.extra_info["requested_batch_size"] = requested
        benchmark.extra_info["batch_reduced_because"] = f"out of memory at batch {batch * 2}"


def test_train_step(benchmark, variant: str, suite: Suite) -> None:
    """One optimizer step at the recipe's batch size, with the recipe's augmentation."""
    import tensorflow as tf

    import architectures

    model = _model(suite, variant)
    entry = architectures.get(variant)
    timed = latency.train_step(model, entry.recipe, num_classes=10, xla=suite.settings.xla)
    try:
        timed.warm_up(2)
    except tf.errors.ResourceExhaustedError:
        _out_of_memory(
            suite,
            variant,
            f"{variant} runs out of memory for one training step at its recipe's batch "
            f"{entry.recipe.batch_size}; measure it on a larger GPU or with --precision "
            "mixed_float16.",
        )
    rounds = latency.rounds_for(timed, budget_s=6.0, min_rounds=3, max_rounds=50)
    benchmark.pedantic(timed.call, rounds=rounds, iterations=1)
    extra = _extra(suite, variant, "train_step", timed)
    extra["images_per_s"] = timed.batch_size / benchmark.stats.stats.median
    extra["augmentation"] = entry.recipe.augmentation
    benchmark.extra_info.update(extra)
