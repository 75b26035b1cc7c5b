"""Parameter counts of a built model: total, trainable and non-trainable.

The total is Keras' `count_params()` (weights only; the optimizer's variables are not counted,
unlike `model.summary()` after a fit). `tests/test_variants.py` checks all ten variants against
the course report's own `model.summary()` totals.
"""

from __future__ import annotations

import math

import keras


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """`params_total`, `params_trainable` and `params_non_trainable` of `model`."""

    def size(weights: list) -> int:
        return sum(math.prod(int(d) for d in w.shape) for w in weights)

    return {
        "params_total": int(model.count_params()),
        "params_trainable": size(model.trainable_weights),
        "params_non_trainable": size(model.non_trainable_weights),
    }
