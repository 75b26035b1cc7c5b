"""Timed functions: batch-1 inference, large-batch throughput, one training step, a reference load.

The claim each timing makes (docs/measurement.md §1): the time of one call of a pre-built
`tf.function` with a fixed input signature (one trace, checked by `tracing_count`), the result
read back to the host before the clock stops (`.numpy()`), the first call (trace / XLA compile)
timed and kept apart.
`model.predict` is never used: its per-call overhead is 30-100x the model on small inputs.

`tests/test_measurement.py` checks the single trace and the read-back; the harness overhead
against a hand-written loop is a benchmark that prints its figure
(`bench/test_harness_overhead.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from architectures import Recipe
from architectures.augmentation import build_augmentation
from architectures.recipes import make_optimizer


@dataclass
class Timed:
    """A zero-argument callable that runs one synchronised call, and what it was built from.

    `clock` times every call after the first (warm-up and rounds): the wall clock, unless
    `call_clock` chose the process's CPU time.
    """

    call: Callable[[], object]
    batch_size: int
    function: tf.types.experimental.PolymorphicFunction
    first_call_s: float = float("nan")
    warm_call_s: float = float("nan")  # the last warm-up call after the first
    inputs: tuple = ()  # the fixed inputs every call uses (before any augmentation)
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)

    def warm_up(self, calls: int) -> None:
        """Run the first call (timed apart: trace, compile, cuDNN autotune) and `calls - 1` more.

        The last of the later calls is timed too (`warm_call_s`): a first estimate of one call,
        to size the rounds without spending calls on it.
        """
        start = time.perf_counter()  # wall: tracing and compiling may use several threads
        self.call()
        self.first_call_s = time.perf_counter() - start
        self.more_warm_up(calls - 1)

    def more_warm_up(self, calls: int) -> None:
        """`calls` more untimed calls, the last one timed into `warm_call_s`."""
        for _ in range(max(calls, 0)):
            start = self.clock()
            self.call()
            self.warm_call_s = self.clock() - start

    @property
    def tracing_count(self) -> int:
        return self.function.experimental_get_tracing_count()


def call_clock(*, on_cpu: bool | None = None) -> tuple[Callable[[], float], str]:
    """The clock for long calls (throughput), and its name for the record.

    On the CPU with one intra-op and one inter-op thread (the suite's CPU default), a call runs
    on one thread at a time, so the process's CPU time of the call is its time on a core of its
    own. The wall clock adds whatever time other processes held that core: with a CPU-burning
    neighbour on a loaded 2-core box a 44 ms batch-256 call of v01 took 127 ms of wall time
    (spread 49 %) against 44 ms of CPU time (spread 3 %), and two identical graphs read 1.08
    apart on the wall clock, 1.003 on CPU time (docs/measurement.md §1). A GPU, or several op
    threads, keep the wall clock: there CPU time is not the call's duration.

    Args:
        on_cpu: the calls run on the CPU; None: no GPU is visible to TensorFlow.
    """
    if on_cpu is None:
        on_cpu = not tf.config.list_logical_devices("GPU")
    one_thread = (
        tf.config.threading.get_intra_op_parallelism_threads() == 1
        and tf.config.threading.get_inter_op_parallelism_threads() == 1
    )
    if on_cpu and one_thread:
        return time.process_time, "process CPU time (one op thread on the CPU)"
    return time.perf_counter, "wall clock (perf_counter)"


def _on_device(array: np.ndarray) -> tf.Tensor:
    """Put the input on the timed device once, so the host-to-device copy is not in the claim."""
    device = "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"
    with tf.device(device):
        return tf.identity(tf.constant(array))


def inference(model: keras.Model, *, batch_size: int, xla: bool, seed: int = 0) -> Timed:
    """One inference call on a fixed random batch of `batch_size` images."""
    shape = (batch_size, *model.input_shape[1:])
    x = _on_device(np.random.default_rng(seed).random(shape, dtype=np.float32))
    function = tf.function(
        lambda images: model(images, training=False),
        input_signature=[tf.TensorSpec(shape, tf.float32)],
        jit_compile=xla,
    )
    return Timed(
        call=lambda: function(x).numpy(), batch_size=batch_size, function=function, inputs=(x,)
    )


def train_step(
    model: keras.Model, recipe: Recipe, *, num_classes: int, xla: bool, seed: int = 0
) -> Timed:
    """One optimizer step at the recipe's batch size, its augmentation included, synchronised:
    the call returns when the device has finished the whole step.

    Augmentation runs in its own (never XLA) function, as in the input pipeline: Keras' random
    image layers do not support XLA (docs/measurement.md §1). Both are in the timed call, because
    the report's training time includes them.
    """
    batch = recipe.batch_size
    shape = (batch, *model.input_shape[1:])
    rng = np.random.default_rng(seed)
    x = _on_device(rng.random(shape, dtype=np.float32))
    y = _on_device(rng.integers(0, num_classes, size=(batch,)).astype(np.int64))
    optimizer = make_optimizer(recipe)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    augment = build_augmentation(recipe.augmentation, seed=seed)

    @tf.function(jit_compile=xla, reduce_retracing=False)
    def step(images, labels):
        with tf.GradientTape() as tape:
            predictions = model(images, training=True)
            loss = loss_fn(labels, predictions)
            if model.losses:
                loss = loss + tf.add_n(model.losses)
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    augment_fn = (
        (lambda images: images)
        if augment is None
        else tf.function(lambda images: augment(images, training=True))
    )
    # Reading the loss back waits for the loss, not for the optimizer's updates queued after it
    # on the GPU; a sync makes the call end when the whole step has (experiments/gpu_check.py).
    sync = tf.test.experimental.sync_devices if tf.config.list_logical_devices("GPU") else None

    def call() -> np.ndarray:
        loss = step(augment_fn(x), y).numpy()
        if sync is not None:
            sync()
        return loss

    return Timed(call=call, batch_size=batch, function=step, inputs=(x, y))


def reference_workload(seed: int = 0) -> Timed:
    """A fixed computation, identical in every run and version of this project.

    The latency gate divides each run's samples by this workload's samples from the same rounds
    (by default by their minimum over the run, see bench/gates/twofile.py) so that a machine that is
    uniformly slower cancels out. A small convolution stack: 32x32x3 -> conv 16 (442 k MACs) ->
    pool -> conv 16 at 16x16 (590 k MACs), about 2 MFLOPs, a tenth of v01. It must never change:
    changing it invalidates every saved baseline.
    """
    rng = np.random.default_rng(seed)
    x = _on_device(rng.random((1, 32, 32, 3), dtype=np.float32))
    k1 = tf.constant(rng.standard_normal((3, 3, 3, 16), dtype=np.float32))
    k2 = tf.constant(rng.standard_normal((3, 3, 16, 16), dtype=np.float32))

    @tf.function(input_signature=[tf.TensorSpec((1, 32, 32, 3), tf.float32)])
    def workload(images):
        h = tf.nn.relu(tf.nn.conv2d(images, k1, strides=1, padding="SAME"))
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.relu(tf.nn.conv2d(h, k2, strides=1, padding="SAME"))
        return tf.reduce_mean(h, axis=[1, 2])

    return Timed(call=lambda: workload(x).numpy(), batch_size=1, function=workload)


def rounds_for(timed: Timed, *, budget_s: float, min_rounds: int, max_rounds: int) -> int:
    """Rounds that fit `budget_s`, from three calls timed after warm-up, within [min, max]."""
    start = time.perf_counter()
    for _ in range(3):
        timed.call()
    per_call = (time.perf_counter() - start) / 3
    return int(min(max(budget_s / max(per_call, 1e-9), min_rounds), max_rounds))
