"""The records cache (`bench/suite/executors/record_cache.py`): a hit, a miss for every input the
figures depend on, a damaged entry ignored and measured again, the record's provenance, and a rerun
with reported accuracies that starts no worker.

Expected figures come from outside the cache: v01's parameter count from the report (159,146) and
its MACs by hand (tests/test_suite_integration.py: V01_MACS).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import architectures
from bench.measure.environment import Settings
from bench.suite.executors import record_cache, worker
from bench.suite.executors.jobs import JobResult
from bench.suite.orchestration.session import Suite
from bench.suite.plan.options import OPTIONS
from bench.suite.plan.plan import RunPlan

ROOT = Path(__file__).resolve().parent.parent
V01_PARAMS, V01_MACS = 159_146, 10_387_776  # the report's table; hand count (see the docstring)
SHAPE, CLASSES = (32, 32, 3), 10


def _inputs(model=None, recipe=None, **changes):
    """The key inputs of v01 as the worker forms them, with `changes` to its arguments."""
    v01 = architectures.get("v01")
    kwargs = dict(input_shape=SHAPE, num_classes=CLASSES, settings=Settings(),
                  throughput_batch=256, profiler=True)  # fmt: skip
    kwargs.update(changes)
    model = model or v01.build(kwargs["input_shape"], kwargs["num_classes"])
    return record_cache.key_inputs(model, recipe or v01.recipe, **kwargs)


class Measured:
    """A stand-in measurement that counts its calls (what a cache hit must not make)."""

    def __init__(self, errors=()):
        self.calls = 0
        self.errors = list(errors)

    def __call__(self):
        self.calls += 1
        figures = {"params_total": V01_PARAMS, "macs": V01_MACS, "peak_gpu_memory_bytes": None}
        unavailable = {"peak_gpu_memory_bytes": "no GPU"}
        return {"figures": figures, "unavailable": unavailable, "errors": list(self.errors)}


def _figures(folder, inputs, measure, notes=None):
    return record_cache.figures(
        folder,
        lambda: inputs,
        measure,
        variant="v01",
        note=[].append if notes is None else notes.append,
    )


@pytest.fixture(scope="module")
def v01_inputs():
    return _inputs()


def test_a_second_lookup_is_a_hit_and_measures_nothing(tmp_path, v01_inputs):
    measure = Measured()
    _, source = _figures(tmp_path, v01_inputs, measure)
    assert source is None and measure.calls == 1
    second, source = _figures(tmp_path, v01_inputs, measure)
    assert measure.calls == 1  # nothing measured again
    assert second["figures"] == {"params_total": 159_146, "macs": 10_387_776,
                                 "peak_gpu_memory_bytes": None}  # fmt: skip
    assert second["unavailable"] == {"peak_gpu_memory_bytes": "no GPU"}
    assert source["key"] == record_cache.key_of(v01_inputs)
    assert Path(source["file"]) == tmp_path / f"{source['key']}.json"
    assert source["node"] and source["written"].endswith("+00:00")


def test_without_a_folder_every_lookup_measures(v01_inputs):
    measure = Measured()
    for _ in range(2):
        assert _figures(None, v01_inputs, measure)[1] is None
    assert measure.calls == 2


def test_a_part_measured_with_an_error_is_not_kept(tmp_path, v01_inputs):
    measure = Measured(errors=["v01 ran out of memory"])
    for _ in range(2):
        _figures(tmp_path, v01_inputs, measure)
    assert measure.calls == 2 and list(tmp_path.iterdir()) == []


def _small(width, name=None):
    """A Sequential model whose layers Keras names by a per-process counter (no names given)."""
    return keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(width),
         keras.layers.Dense(CLASSES)], name=name,
    )  # fmt: skip


def test_one_architecture_is_one_key_whatever_keras_numbered_its_layers():
    first, second = _small(8), _small(8)
    assert first.layers[1].name != second.layers[1].name  # dense_1, dense_3: per process
    assert record_cache.architecture_digest(first) == record_cache.architecture_digest(second)
    assert record_cache.architecture_digest(_small(9)) != record_cache.architecture_digest(first)


def test_a_layer_whose_source_cannot_be_read_makes_the_model_uncacheable():
    namespace: dict = {"keras": keras}
    exec(
        "class Doubled(keras.layers.Layer):\n    def call(self, x):\n        return 2 * x",
        namespace,
    )
    inputs = keras.Input(SHAPE)
    model = keras.Model(inputs, namespace["Doubled"]()(inputs))
    assert record_cache.architecture_digest(model) is None  # its call() is in no config
    assert record_cache.architecture_digest(_small(8)) is not None


def _v03():
    return architectures.get("v03").build(SHAPE, CLASSES)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: _inputs(model=_v03()), id="architecture"),
        pytest.param(lambda: _inputs(input_shape=(40, 40, 3)), id="input_shape"),
        pytest.param(lambda: _inputs(num_classes=100), id="classes"),
        pytest.param(
            lambda: _inputs(
                recipe=dataclasses.replace(architectures.get("v01").recipe, batch_size=128)
            ),
            id="recipe",
        ),
        pytest.param(lambda: _inputs(settings=Settings(xla=True)), id="xla"),
        pytest.param(lambda: _inputs(settings=Settings(precision="mixed_float16")), id="precision"),
        pytest.param(lambda: _inputs(settings=Settings(intra_op_threads=2)), id="threads"),
        pytest.param(lambda: _inputs(throughput_batch=64), id="inference_batch"),
        pytest.param(lambda: _inputs(profiler=False), id="profiler"),
    ],
)
def test_any_changed_input_is_a_miss(tmp_path, v01_inputs, change):
    measure = Measured()
    _figures(tmp_path, v01_inputs, measure)
    changed = change()
    assert record_cache.key_of(changed) != record_cache.key_of(v01_inputs)
    assert _figures(tmp_path, changed, measure)[1] is None
    assert measure.calls == 2


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("tensorflow", "tensorflow.__version__"),
        ("keras", "keras.__version__"),
        ("measuring_code", "bench.suite.executors.record_cache.measuring_code_digest"),
        ("node", "platform.node"),
    ],
)
def test_another_library_code_or_machine_is_a_miss(tmp_path, monkeypatch, v01_inputs, where, value):
    module, _, name = value.rpartition(".")
    before = getattr(sys.modules[module], name)
    changed = "0.0.0" if isinstance(before, str) else (lambda: "something else")
    monkeypatch.setattr(sys.modules[module], name, changed)
    measure = Measured()
    _figures(tmp_path, v01_inputs, measure)
    assert _figures(tmp_path, _inputs(), measure)[1] is None
    assert measure.calls == 2


def _tamper_inputs(entry):
    entry["inputs"]["num_classes"] = 100
    return json.dumps(entry)


def _add_accuracy(entry):
    entry["figures"]["accuracy"] = 0.99
    return json.dumps(entry)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda entry: json.dumps(entry)[:200], "(char "),  # cut short
        (lambda entry: "\udcff", "codec"),  # not UTF-8
        (lambda entry: "[]", "not an entry of format 1"),
        (_tamper_inputs, "its inputs are not the ones its name stands for"),
        (_add_accuracy, "figures it may not hold (accuracy)"),
    ],
)
def test_a_damaged_entry_is_ignored_with_a_note_and_measured_again(
    tmp_path, v01_inputs, damage, says
):
    measure, notes = Measured(), []
    _figures(tmp_path, v01_inputs, measure)
    path = next(tmp_path.iterdir())
    text = damage(json.loads(path.read_text()))
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    part, source = _figures(tmp_path, v01_inputs, measure, notes)
    assert source is None and measure.calls == 2 and part["figures"]["params_total"] == V01_PARAMS
    assert len(notes) == 1 and f"ignored {path}" in notes[0] and says in notes[0]
    assert _figures(tmp_path, v01_inputs, measure)[1] is not None  # measured again, kept whole
    assert measure.calls == 2


def test_an_entry_never_holds_a_figure_that_is_not_the_architectures(tmp_path, v01_inputs):
    part = {"figures": {"params_total": 1, "accuracy": 0.5}, "unavailable": {}, "errors": []}
    with pytest.raises(ValueError, match="not cacheable: accuracy"):
        record_cache.write(tmp_path, v01_inputs, part, variant="v01", note=print)


def _worker_args(tmp_path, **extra):
    """The plan and job of v01's worker, as the suite would hand them over."""
    plan = RunPlan.from_options(
        {"model_cache": tmp_path / "models", "throughput_batch": 8, **extra}
    )
    return plan, worker.WorkerJob(plan, "v01", 0, Path(os.devnull))


@pytest.mark.slow
def test_the_record_says_its_figures_came_from_the_cache_and_they_are_the_measured_ones(tmp_path):
    args = _worker_args(tmp_path)
    measured = worker.measure(*args)
    cached = worker.measure(*args)
    assert measured["cached_from"] is None and measured["errors"] == []
    assert (cached["params_total"], cached["macs"]) == (V01_PARAMS, V01_MACS)
    assert cached["cached_from"]["file"].startswith(str(tmp_path / "records"))  # beside models
    assert {k for k in cached if cached[k] != measured[k]} == {"cached_from"}
    off = worker.measure(*_worker_args(tmp_path, records_cache="off"))
    assert off["cached_from"] is None


def _suite_options(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    for option in OPTIONS:
        option.add_to(parser.add_argument)
    return RunPlan.from_options(parser.parse_args(
        ["--variants", "v01", "--model-cache", str(tmp_path / "models"), "--throughput-batch",
         "8", *argv]
    ))  # fmt: skip


class NoWorkers:
    """An executor that records what it was asked to run and runs nothing."""

    parallel = 1

    def __init__(self):
        self.submitted = []

    def submit(self, job):
        self.submitted.append(job.variant)
        raise AssertionError("a worker was started")


@pytest.mark.slow
def test_a_rerun_with_reported_accuracies_starts_no_worker_for_a_cached_model(tmp_path):
    worker.measure(*_worker_args(tmp_path))  # the first run's worker fills the cache
    suite = Suite(_suite_options(tmp_path), Settings(), [architectures.get("v01")])
    suite._executor = executor = NoWorkers()
    (result,) = suite.wait(suite.jobs("v01"))
    assert executor.submitted == []
    assert isinstance(result, JobResult) and result.returncode == 0
    assert result.record["cached_from"] is not None
    assert result.record["params_total"] == V01_PARAMS and result.record["accuracy"] == 0.7232


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["--records-cache", "off"], ["--executor", "ray"]])
def test_a_rerun_starts_its_worker_with_the_cache_off_or_on_another_executor(tmp_path, argv):
    worker.measure(*_worker_args(tmp_path))
    suite = Suite(_suite_options(tmp_path, *argv), Settings(), [architectures.get("v01")])
    suite._executor = executor = NoWorkers()
    with pytest.raises(AssertionError, match="a worker was started"):
        suite.jobs("v01")
    assert executor.submitted == ["v01"]


@pytest.mark.slow
def test_two_runs_of_the_records_phase_end_to_end(tmp_path):
    """The records and latency phases twice (pytest-benchmark writes no file without a timed
    benchmark): the second run's record comes from the cache, and no worker ran for it."""
    records = []
    for run in ("first", "second"):
        out = tmp_path / f"{run}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", str(ROOT / "bench" / "test_suite.py"), "-q",
             "-p", "no:cacheprovider", "-k", "test_record or test_latency", "--variants", "v01",
             "--throughput-batch", "8", "--latency-budget", "0.2", "--model-cache",
             str(tmp_path / "models"), f"--benchmark-json={out}"],
            capture_output=True, text=True, cwd=ROOT, timeout=600,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "BENCH_OFFLINE": "1"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        records.append(json.loads(out.read_text())["variants"]["v01"])
    first, second = records
    assert first["cached_from"] is None and first["worker_wall_s"] > 0
    assert second["cached_from"]["file"].startswith(str(tmp_path / "records"))
    assert second["worker_wall_s"] == 0.0  # no worker ran
    assert (second["params_total"], second["macs"]) == (V01_PARAMS, V01_MACS)
    same = ("params_total", "macs", "flops", "peak_host_memory_bytes", "layers", "macs_check")
    assert all(second[k] == first[k] for k in same)
