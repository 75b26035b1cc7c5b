"""The `tf.data` input pipeline that feeds `fit`: batching, seeded shuffling, augmentation.

Claims, each checked in `tests/test_datasets.py` on images whose every pixel is their own index:
batches come in the order of `x` without a seed, and in a seed-fixed order that changes every
epoch with one, each image staying with its label; augmentation runs on whole batches in training
mode only, outside the model, and gives the same images for the same seed; mismatched arrays are a
`DatasetError` in one sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from bench.training.datasets import DatasetError


def make_pipeline(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    augment: Callable[..., Any] | None = None,
    shuffle_seed: int | None = None,
    drop_remainder: bool = False,
    deterministic: bool = True,
) -> tf.data.Dataset:
    """A batched `tf.data.Dataset` of (images, labels), optionally shuffled and augmented.

    Augmentation is applied to whole batches in a `map` after batching, as
    `augment(images, training=True)`, so it stays out of the model and the inference graph is the
    bare network. Batches are gathered from in-memory tensors by index, so shuffling moves
    indices rather than a second copy of the images.

    Args:
        x: images, (N, H, W, C).
        y: labels, (N,).
        batch_size: images per batch.
        augment: a callable such as `architectures.augmentation.build_augmentation("A")`, or None.
        shuffle_seed: shuffle all N examples, reshuffling every epoch, in an order fixed by this
            seed; None keeps the order of `x`.
        drop_remainder: drop the last, smaller batch.
        deterministic: run the augmentation map sequentially, so a seeded `augment` gives the
            same images every run; False runs it in parallel (faster on many cores, but the
            layers' shared random state is then consumed in a nondeterministic order).

    Returns:
        A `tf.data.Dataset` yielding `(images, labels)` batches, prefetched.

    Raises:
        DatasetError: `x` and `y` differ in length, or `batch_size` is below 1.
    """
    if len(x) != len(y):
        raise DatasetError(
            f"x has {len(x)} images but y has {len(y)} labels; pass matching arrays."
        )
    if batch_size < 1:
        raise DatasetError(f"batch_size={batch_size} is below 1; pass a positive batch size.")
    images = tf.convert_to_tensor(x)
    labels = tf.convert_to_tensor(y)
    ds = tf.data.Dataset.range(len(x))
    if shuffle_seed is not None:
        ds = ds.shuffle(max(len(x), 1), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
    if augment is not None:
        ds = ds.map(
            lambda batch, batch_labels: (augment(batch, training=True), batch_labels),
            num_parallel_calls=None if deterministic else tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)
