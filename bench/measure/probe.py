"""How fast this machine runs convolutions, in a quarter of a second: the estimate's yardstick.

The up-front estimate (`bench.suite.presentation.estimate`) costs each call from the model's
MACs at per-MAC rates fitted on one machine; two 2-core CPUs of this project's CI differed by a
factor of two on the same calls (v10 at batch 256: 3.05 s on an Intel Xeon VM, 6.97 s on an AMD
EPYC VM). So before it estimates, the run times this fixed convolution stack and scales every
rate by the ratio of its time here to its time on the machine the rates were fitted on
(`bench.suite.presentation.estimate.PROBE_FIT_S`).

The stack: 32 images of 32x32x3 -> conv 3x3x32 -> conv 3x3x32 -> max pool -> conv 3x3x64,
15 M MACs per image, about the shape of the registry's first convolution blocks. It must not
change without refitting `PROBE_FIT_S`. It runs in the calling process's thread settings, as the
timed scenarios do. `tests/test_estimate.py` checks that it returns a positive time.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

BATCH = 32
CALLS = 15


def probe_s(calls: int = CALLS) -> float:
    """Seconds of the fastest of `calls` calls of the fixed stack, after two warm-up calls (the
    fastest: what the machine can do, not what a neighbour left of it at that moment)."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((BATCH, 32, 32, 3), dtype=np.float32))
    kernels = [
        tf.constant(rng.standard_normal(shape, dtype=np.float32) * 0.1)
        for shape in ((3, 3, 3, 32), (3, 3, 32, 32), (3, 3, 32, 64))
    ]

    @tf.function
    def stack(images: tf.Tensor) -> tf.Tensor:
        h = tf.nn.relu(tf.nn.conv2d(images, kernels[0], 1, "SAME"))
        h = tf.nn.relu(tf.nn.conv2d(h, kernels[1], 1, "SAME"))
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        return tf.reduce_sum(tf.nn.conv2d(h, kernels[2], 1, "SAME"))

    for _ in range(2):
        stack(x).numpy()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        stack(x).numpy()
        times.append(time.perf_counter() - start)
    return min(times)
