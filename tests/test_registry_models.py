"""Every registered model, one test each: builds, runs, round-trips, trains a step, is counted.

Parametrized over the whole registry as the suite sees it: the report's ten, the ResNet
references and a user model registered through a plugin (`tests/conftest.py`), so an 11th model
gets these checks by being registered. Expected MACs for the user model are its hand count.
"""

from __future__ import annotations

import dataclasses
import sys

import keras
import numpy as np
import pytest

import architectures
from bench.measure import timing
from bench.measure.flops import analytic_counts

ENTRIES = list(architectures.VARIANTS.values())


def test_the_registry_holds_a_user_model():
    assert [e.kind for e in ENTRIES].count("user") >= 1
    assert architectures.get("depthwise_net").kind == "user"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_registered_model_builds_runs_round_trips_trains_and_is_counted(entry, tmp_path):
    keras.utils.set_random_seed(0)
    model = entry.build(input_shape=(32, 32, 3), num_classes=10)
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)

    probabilities = np.asarray(model(x, training=False))
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    path = tmp_path / f"{entry.id}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), probabilities, atol=1e-6)

    counts = analytic_counts(model)
    assert counts.uncounted == (), f"the FLOP counter does not know {counts.uncounted}"
    assert [r["name"] for r in counts.layers] == [layer.name for layer in model.layers]
    assert counts.macs > 0 and counts.flops >= 2 * counts.macs

    before = [w.copy() for w in model.get_weights()]
    step = timing.train_step(
        model, dataclasses.replace(entry.recipe, batch_size=2), num_classes=10, xla=False
    )
    loss = step.call()
    assert np.isfinite(loss)
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)]
    assert any(changed), "one training step changed no weight"


def test_user_model_macs_match_the_hand_count():
    plugin = sys.modules["depthwise_net"]
    model = architectures.get("depthwise_net").build()
    assert analytic_counts(model).macs == plugin.DEPTHWISE_NET_MACS
