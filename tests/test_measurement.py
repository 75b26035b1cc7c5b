"""Timed functions and memory peaks: the properties the suite's figures rely on.

No wall-clock thresholds here (they flake on a shared machine); the figures themselves are
printed by `bench/test_harness_overhead.py`.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from architectures import Recipe, get
from bench.measure import memory
from bench.measure import timing as latency
from bench.measure.environment import Settings


def tiny_model() -> keras.Model:
    inputs = keras.Input(shape=(8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_inference_traces_once_and_returns_host_values():
    timed = latency.inference(tiny_model(), batch_size=4, xla=False)
    timed.warm_up(5)
    for _ in range(5):
        out = timed.call()
    assert isinstance(out, np.ndarray) and out.shape == (4, 10)  # read back to the host
    assert timed.tracing_count == 1
    assert timed.first_call_s > 0


def test_inference_with_xla_on_cpu_traces_once():
    timed = latency.inference(tiny_model(), batch_size=1, xla=True)
    timed.warm_up(3)
    assert timed.tracing_count == 1


@pytest.mark.parametrize("augmentation", [None, "A", "B"])
def test_train_step_updates_weights_with_each_augmentation(augmentation):
    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]
    recipe = Recipe(batch_size=8, augmentation=augmentation)
    timed = latency.train_step(model, recipe, num_classes=10, xla=False)
    timed.warm_up(2)
    loss = timed.call()
    assert np.isfinite(loss)
    assert timed.tracing_count == 1
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)]
    assert any(changed)


def test_train_step_includes_l2_terms():
    # v05 carries L2 on every hidden kernel: the step's loss must exceed the plain cross-entropy.
    model = get("v05").build(input_shape=(8, 8, 3))
    assert len(model.losses) > 0
    timed = latency.train_step(model, get("v05").recipe, num_classes=10, xla=False)
    assert timed.batch_size == 128


def test_sgd_recipe_uses_its_momentum():
    optimizer = latency.make_optimizer(get("v05").recipe)
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.momentum == pytest.approx(0.9)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert isinstance(latency.make_optimizer(get("v01").recipe), keras.optimizers.Adam)


def test_reference_workload_is_fixed():
    a = latency.reference_workload().call()
    b = latency.reference_workload().call()
    np.testing.assert_array_equal(a, b)  # same seed, same constants: the same computation


def test_memory_peaks_without_a_gpu_are_unavailable_not_zero():
    with memory.MeasurePeaks() as peaks:
        block = np.ones((64, 1024, 1024), dtype=np.uint8)  # 64 MiB touched
        block[:, 0, 0] = 2
    result = peaks.result
    assert result.peak_gpu_memory_bytes is None
    assert "no GPU" in result.unavailable["peak_gpu_memory_bytes"]
    assert result.peak_host_memory_bytes >= 64 * 2**20
    del block


def test_settings_round_trip_through_the_environment(monkeypatch):
    settings = Settings(device="cpu", xla=True, precision="float32", intra_op_threads=2)
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert Settings.from_env() == settings
