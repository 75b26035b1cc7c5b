"""User weights: a trained `.keras` file loaded for a registry entry, or refused in one sentence.

Claim: `load_user_model` loads a `.keras` file in Keras safe mode and refuses it, naming the first
difference, unless it has the registry architecture's layers, weight shapes and layer settings;
what it returns is the registry's own model (its layer names) holding the file's weights.
`tests/test_training.py` checks acceptance of a Sequential copy, the first difference named for
a wider layer, another activation and another input shape, and the refusal of a missing file, a
non-archive and a Lambda layer (which safe mode refuses to deserialise).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import keras


class WeightsError(Exception):
    """A user's weights file that is missing, unreadable or not the registry's architecture."""


_IGNORED_SETTINGS = frozenset({"name", "seed", "dtype", "trainable"})


def _settings(layer: keras.Layer) -> dict[str, Any]:
    """A layer's config without what does not change the function it computes or trains."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _IGNORED_SETTINGS}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    # A JSON round trip, because a loaded config has lists where a built one has tuples.
    return strip(json.loads(json.dumps(layer.get_config(), default=str)))


def _first_setting_difference(expected: dict[str, Any], got: dict[str, Any]) -> str | None:
    for name in sorted(set(expected) | set(got)):
        if expected.get(name) != got.get(name):
            return f"{name}={got.get(name)!r} where the registry has {expected.get(name)!r}"
    return None


def architecture_difference(expected: keras.Model, got: keras.Model) -> str | None:
    """The first way `got` differs from `expected`, in words, or None when they match.

    Compared in order: input shape, the sequence of layer classes (input layers aside, so a
    Sequential file matches a functional registry model), each layer's weight shapes, then each
    layer's settings without names, seeds, dtype policy and `trainable`. The wiring between layers
    is not compared; the report's models are plain chains, where the shapes pin it down.
    """
    try:
        got_input_shape = got.input_shape
    except (AttributeError, ValueError):  # an unbuilt Sequential has no input shape, nor weights
        return "it was saved before being built, so it holds no weights"
    if tuple(expected.input_shape) != tuple(got_input_shape):
        return (
            f"it takes inputs of shape {got_input_shape} where the registry has "
            f"{expected.input_shape}"
        )
    ours = [layer for layer in expected.layers if not isinstance(layer, keras.layers.InputLayer)]
    theirs = [layer for layer in got.layers if not isinstance(layer, keras.layers.InputLayer)]
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=False), start=1):
        where = f"layer {index} ({mine.name})"
        if type(mine).__name__ != type(other).__name__:
            return (
                f"{where} is a {type(other).__name__} in the file where the registry has a "
                f"{type(mine).__name__}"
            )
        mine_shapes = [tuple(w.shape) for w in mine.weights]
        other_shapes = [tuple(w.shape) for w in other.weights]
        if mine_shapes != other_shapes:
            return (
                f"{where} has weights of shapes {other_shapes} in the file where the registry has "
                f"{mine_shapes}"
            )
        difference = _first_setting_difference(_settings(mine), _settings(other))
        if difference:
            return f"{where} ({type(mine).__name__}) has {difference}"
    if len(ours) != len(theirs):
        return f"the file has {len(theirs)} layers where the registry has {len(ours)}"
    return None


def _first_sentence(text: str) -> str:
    """The first sentence of an error message from a library (theirs can run to a paragraph)."""
    lines = text.strip().splitlines()
    return lines[0].split(". ")[0].rstrip(".") if lines else ""


def load_user_model(
    path: Path, entry: Any, *, input_shape: tuple[int, ...], num_classes: int
) -> keras.Model:
    """Load a user's trained `.keras` file for `entry`, refusing anything but its architecture.

    The file is loaded with `keras.saving.load_model(safe_mode=True, compile=False)` (safe mode
    refuses to deserialise Python lambdas, which could run arbitrary code), compared with
    `entry.build(input_shape, num_classes)` by `architecture_difference`, and its weights are
    copied into that freshly built model, so what gets measured has the registry's layer names.

    Args:
        path: the `.keras` file.
        entry: the registry entry the weights claim to be.
        input_shape: (height, width, channels) of the dataset.
        num_classes: the dataset's class count.

    Returns:
        The registry's model holding the file's weights (uncompiled).

    Raises:
        WeightsError: the file is missing, not loadable in safe mode, or another architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"no weights for {entry.id}: {path} does not exist; save the trained model there with "
            f"model.save() or point --weights-dir at the folder holding {entry.id}.keras."
        )
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise WeightsError(
            f"{path} is not a Keras 3 .keras archive (truncated, or another format); save the "
            f"{entry.id} model again with model.save('{entry.id}.keras')."
        )
    try:
        loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # a user file can trip any of Keras' deserialisers; report it
        reason = _first_sentence(str(exc)) or type(exc).__name__
        raise WeightsError(
            f"{path} could not be loaded in Keras safe mode ({reason}); re-save it with "
            "model.save() from standard Keras layers."
        ) from exc
    if not isinstance(loaded, keras.Model):
        raise WeightsError(f"{path} does not hold a Keras model; save a model with model.save().")
    expected = entry.build(input_shape=tuple(input_shape), num_classes=num_classes)
    difference = architecture_difference(expected, loaded)
    if difference is not None:
        raise WeightsError(
            f"{path} is not {entry.id}'s architecture: {difference}; load weights trained for "
            f"{entry.id} itself."
        )
    expected.set_weights(loaded.get_weights())
    return expected
