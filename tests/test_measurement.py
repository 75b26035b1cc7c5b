"""Timed functions and memory peaks: the properties the suite's figures rely on.

No wall-clock thresholds here (they flake on a shared machine); the figures themselves are
printed by `bench/test_harness_overhead.py`.
"""

from __future__ import annotations

import mmap
import statistics
import time
from dataclasses import replace

import keras
import numpy as np
import pytest

from architectures import Recipe, get
from architectures.builder import build_from_spec
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
    later = []
    for _ in range(5):
        start = time.perf_counter()
        out = timed.call()
        later.append(time.perf_counter() - start)
    assert isinstance(out, np.ndarray) and out.shape == (4, 10)  # read back to the host
    assert timed.tracing_count == 1
    # The first call traces the function (tens of ms); it is kept apart from the samples.
    assert timed.first_call_s > 5 * statistics.median(later)


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


def _without_dropout(spec):
    blocks = tuple(
        replace(b, dropout=0.0, convs=tuple(replace(c, dropout=0.0) for c in b.convs))
        for b in spec.blocks
    )
    return replace(spec, blocks=blocks, head=tuple(replace(d, dropout=0.0) for d in spec.head))


def test_train_step_loss_is_cross_entropy_plus_the_l2_terms():
    # v05's layers with dropout removed (so one forward pass is deterministic) keep its L2(5e-4)
    # on every hidden kernel. With a learning rate of 0 the step leaves the weights alone, so
    # its loss must be the plain cross-entropy of the batch plus 5e-4 * sum(kernel ** 2), the
    # L2 term computed here by hand from the weights.
    spec = _without_dropout(get("v05").spec)
    model = build_from_spec(spec, input_shape=(8, 8, 3), name="v05_no_dropout")
    recipe = replace(get("v05").recipe, learning_rate=0.0, batch_size=16)
    timed = latency.train_step(model, recipe, num_classes=10, xla=False, seed=3)
    images, labels = timed.inputs
    predictions = model(images, training=True)  # batch statistics, as in the step
    cross_entropy = float(keras.losses.SparseCategoricalCrossentropy()(labels, predictions))
    kernels = [
        layer.kernel.numpy() for layer in model.layers if getattr(layer, "kernel_regularizer", None)
    ]
    assert len(kernels) == 8  # six convolutions and two hidden dense layers
    l2 = 5e-4 * sum(float(np.sum(k.astype(np.float64) ** 2)) for k in kernels)
    loss = float(timed.call())
    assert l2 > 0.01 * cross_entropy  # large enough to see
    assert loss == pytest.approx(cross_entropy + l2, rel=1e-4)


def test_sgd_recipe_uses_its_momentum():
    optimizer = latency.make_optimizer(get("v05").recipe)
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.momentum == pytest.approx(0.9)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert isinstance(latency.make_optimizer(get("v01").recipe), keras.optimizers.Adam)


def _conv_same(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A 3x3 'same' convolution in plain NumPy (NHWC, HWIO), independent of TensorFlow."""
    h, w, _ = x.shape
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, w, k.shape[-1]))
    for i in range(3):
        for j in range(3):
            out += padded[i : i + h, j : j + w, :] @ k[i, j]
    return out


def test_reference_workload_is_the_fixed_computation_it_documents():
    # Recomputed here from its definition (seed 0: a 32x32x3 image and two 3x3 kernels of 16
    # filters drawn in that order; conv, relu, 2x2 max pool, conv, relu, spatial mean) with
    # NumPy only: any change to the workload would change these figures and every saved
    # baseline with them.
    rng = np.random.default_rng(0)
    x = rng.random((1, 32, 32, 3), dtype=np.float32)[0].astype(np.float64)
    k1 = rng.standard_normal((3, 3, 3, 16), dtype=np.float32).astype(np.float64)
    k2 = rng.standard_normal((3, 3, 16, 16), dtype=np.float32).astype(np.float64)
    h = np.maximum(_conv_same(x, k1), 0)
    h = h.reshape(16, 2, 16, 2, 16).max(axis=(1, 3))
    expected = np.maximum(_conv_same(h, k2), 0).mean(axis=(0, 1))
    got = latency.reference_workload().call()
    assert got.shape == (1, 16)
    np.testing.assert_allclose(got[0], expected, rtol=1e-4, atol=1e-4)


def _rss_bytes() -> int:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_memory_peak_covers_the_phase_only_and_gpu_figures_are_unavailable_not_zero():
    mib = 2**20
    earlier = np.ones(512 * mib, dtype=np.uint8)  # a 512 MiB peak before the phase...
    del earlier  # ...given back to the system: it must not count
    before = _rss_bytes()
    with memory.MeasurePeaks() as peaks:
        # 96 MiB touched inside the phase, in fresh pages: an anonymous map, since numpy's block
        # could come from heap pages an earlier test freed and the process still holds (glibc
        # raises its mmap threshold after a large free), which would not grow the RSS at all.
        block = mmap.mmap(-1, 96 * mib)
        block.write(b"\x01" * (96 * mib))
    result = peaks.result
    assert result.peak_gpu_memory_bytes is None
    assert "no GPU" in result.unavailable["peak_gpu_memory_bytes"]
    assert before + 90 * mib <= result.peak_host_memory_bytes < before + 400 * mib
    block.close()


def test_settings_round_trip_through_the_environment(monkeypatch):
    settings = Settings(device="cpu", xla=True, precision="float32", intra_op_threads=2)
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert Settings.from_env() == settings
