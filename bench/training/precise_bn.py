"""Re-estimate BatchNormalization's statistics for a model's final weights ("precise BN").

Claim: after `reestimate`, every BatchNormalization layer's moving mean is the mean of its inputs
over `images` under the final weights, and its moving variance the mean of the per-batch
variances (Wu and Johnson 2021, "Rethinking 'Batch' in BatchNorm", §3): the statistics the
evaluated network normalises with are those of the network that was trained, not averages that
lag behind weights still moving fast after a short training (`bench.training.profiles`).

How: the images pass once through the model in training mode, batch by batch, with each BN
layer's momentum set to (k - 1) / k for the k-th batch, which makes the moving statistics the
running average of the batches' statistics; the momentum is restored afterwards. No weight is
trained. `tests/test_training.py` checks the moving mean against the images' own mean for a BN
layer on the input.
"""

from __future__ import annotations

import keras
import numpy as np


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer of `model`, nested models included."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def reestimate(model: keras.Model, images: np.ndarray, *, batch_size: int = 256) -> int:
    """Set every BN layer's moving statistics from `images` under the current weights.

    Returns:
        The number of BN layers re-estimated (0: the model has none, nothing was run).
    """
    layers = batch_norm_layers(model)
    if not layers or len(images) == 0:
        return 0
    saved = [layer.momentum for layer in layers]
    try:
        for k, start in enumerate(range(0, len(images), batch_size), start=1):
            for layer in layers:
                layer.momentum = (k - 1) / k  # moving = running mean of the batches' statistics
            model(images[start : start + batch_size], training=True)
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
    return len(layers)
