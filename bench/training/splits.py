"""A dataset as split arrays (`Dataset`), its one error (`DatasetError`) and the stratified draw.

The types every loader returns: the built-in sources (`bench.training.datasets`) and a folder of
the user's images (`bench.training.images`). They live apart from both so that `datasets` can
hand a folder to `images` without the two importing each other (`tests/test_layers.py`).
`tests/test_datasets.py` checks that the splits drawn with it are stratified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DatasetError(Exception):
    """A dataset that cannot be loaded as asked; the message says what is wrong and what to do."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset, split and scaled, ready for `model.fit`.

    Pixels are float32 NHWC in [0, 1]; labels are int64 class indices of shape (N,).

    Attributes:
        name: one of `DATASETS`.
        x_train, y_train: training images and labels (after the validation split and subsetting).
        x_val, y_val: validation images and labels, taken from the original training images.
        x_test, y_test: test images and labels.
        num_classes: number of classes.
        input_shape: shape of one image, (height, width, channels).
        source: where the data was read from (a path, the Keras cache, a download, or code).
        class_names: names of the classes in label order, or None.
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    num_classes: int
    input_shape: tuple[int, ...]
    source: str
    class_names: tuple[str, ...] | None = None
    fingerprint: str = ""  # a folder's contents (bench.training.images): part of the cache key

    @property
    def sizes(self) -> dict[str, int]:
        """Number of images in each split."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def stratified_sample(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `count` examples, each class represented in proportion to its share.

    Per-class counts are `count x share` rounded down, with the remainder going to the classes
    with the largest fractional parts (ties to the lower class index); the examples of each
    class are drawn uniformly without replacement.
    """
    classes, per_class = np.unique(labels, return_counts=True)
    exact = count * per_class / len(labels)
    take = np.floor(exact).astype(int)
    leftover = count - take.sum()
    by_fraction = np.lexsort((np.arange(len(classes)), -(exact - take)))
    take[by_fraction[:leftover]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
        for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
