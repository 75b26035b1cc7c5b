"""The trained-model cache: the key a run is stored under, and one entry's files on disk.

Claim: the key (`key_inputs`, hashed by `digest`) covers what the trained weights depend on and
nothing else: the architecture (`architecture_fingerprint`, blind to Keras' per-process layer
names), the recipe without its prose, the dataset and its split sizes, the profile, the seed, the
input shape, the class count and the TensorFlow and Keras versions. `train_variant` is its one
user; `tests/test_training.py` checks what changes the key and what does not.

Claim: whatever instant the process dies at, the entry on disk is either a consistent resume point
(a `state.json` and the checkpoint it names, both from the same finished epoch) or a finished run
(`result.json` and `final.keras`), never a mix that claims an epoch that was not saved. How:

- every file is written to a temporary name in the same folder, flushed to disk and moved into
  place with `os.replace` (atomic on POSIX), so a reader never sees half a file;
- the checkpoint of epoch k is written first, under its own name (`checkpoint-epoch000k.keras`),
  then `state.json` naming it; the checkpoint of epoch k-1 is removed only after that. A crash in
  between leaves the older state pointing at the older checkpoint, which still exists;
- a finished run hard-links (or copies) its last checkpoint to `final.keras`, then writes
  `result.json`, and only then removes the checkpoints and `state.json`.

Anything that does not parse or does not fit together raises `CorruptEntryError`; the caller moves
the folder aside with `move_aside` and starts again. `tests/test_training.py` checks the resume,
the cache hit and the corrupt-entry paths end to end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from architectures.spec import Recipe
from bench.training.profiles import Profile

FORMAT_VERSION = 1
STATE_FILE = "state.json"
RESULT_FILE = "result.json"
FINAL_FILE = "final.keras"
_CHECKPOINT_PATTERN = "checkpoint-epoch*.keras"
_KEY_FORMAT = 1  # bump when the training code changes what a cached result means
_RECIPE_DOCUMENTATION = ("origin", "notes")  # prose about the recipe; no effect on training
_NUMBER = (int, float)
_OPTIONAL_TEXT = (str, type(None))
# What the training code reads back, with the JSON types it needs; anything else is corrupt.
_STATE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "key": str,
    "key_inputs": dict,
    "epochs_done": int,
    "history": list,
    "train_time_s": _NUMBER,
    "checkpoint": str,
    "early_stopping": dict,
    "stopped_by": _OPTIONAL_TEXT,
    "optimizer_iterations": int,
    "segments": list,
}
_RESULT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "key": str,
    "key_inputs": dict,
    "epochs": int,
    "history": list,
    "train_time_s": _NUMBER,
    "test_accuracy": _NUMBER,
    "test_examples": int,
    "stopped_by": _OPTIONAL_TEXT,
    "optimizer_iterations": int,
    "segments": list,
}


class CorruptEntryError(Exception):
    """A cache entry whose files cannot be read or do not agree with each other."""


# --- the key --------------------------------------------------------------------------------------


def _all_layers(model: keras.Layer) -> list[keras.Layer]:
    layers: list[keras.Layer] = []
    for layer in getattr(model, "layers", None) or []:
        layers.append(layer)
        layers.extend(_all_layers(layer))
    return layers


def architecture_fingerprint(model: keras.Model) -> str:
    """The model's `get_config()` and weight shapes as canonical JSON, with names made positional.

    Keras names unnamed layers from a per-process counter ("dense", then "dense_1" for the next
    model built), so the same builder gives different names depending on what was built before.
    Every layer name (and the model's) is replaced by its position, so the fingerprint depends on
    the architecture only; this works for any builder, not only the report's named layers.
    """
    layers = _all_layers(model)
    positions = {model.name: "model"}
    for index, layer in enumerate(layers):
        positions.setdefault(layer.name, f"layer{index}")

    def canonical(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): canonical(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [canonical(v) for v in value]
        if isinstance(value, str):
            return positions.get(value, value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        # Objects without a JSON form: their repr, minus memory addresses (which vary per run).
        return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))

    try:
        config = model.get_config()
    except NotImplementedError:  # a subclassed model without get_config: weight shapes only
        config = None
    shapes = [[type(layer).__name__, [list(w.shape) for w in layer.weights]] for layer in layers]
    return json.dumps(
        {"config": canonical(config), "layers": canonical(shapes)}, sort_keys=True, default=str
    )


def key_inputs(
    model: keras.Model,
    recipe: Recipe,
    *,
    dataset: str,
    profile: Profile,
    seed: int,
    input_shape: tuple[int, ...],
    num_classes: int,
) -> dict[str, Any]:
    """What a training run's result depends on, as JSON; `digest` makes the cache key of it.

    Args:
        model: the built model (its `architecture_fingerprint` is hashed, so user builders are
            covered too).
        recipe: the recipe the run uses (`dataclasses.asdict`, without its `origin` and `notes`).
        dataset: the dataset's name; `train_variant` adds its split sizes.
        profile: the profile (its sizes and epoch cap, without its description).
        seed: the run's seed.
        input_shape: (height, width, channels).
        num_classes: number of classes.

    Returns:
        The inputs, with the TensorFlow and Keras versions and `_KEY_FORMAT` added.
    """
    architecture = architecture_fingerprint(model)
    recipe_fields = dataclasses.asdict(recipe)
    for documentation in _RECIPE_DOCUMENTATION:
        recipe_fields.pop(documentation, None)
    profile_fields = dataclasses.asdict(profile)
    profile_fields.pop("description")
    return {
        "key_format": _KEY_FORMAT,
        "architecture_sha256": hashlib.sha256(architecture.encode()).hexdigest(),
        "recipe": recipe_fields,
        "dataset": dataset,
        "profile": profile_fields,
        "seed": int(seed),
        "input_shape": [int(d) for d in input_shape],
        "num_classes": int(num_classes),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
    }


def digest(inputs: dict[str, Any]) -> str:
    """The cache key of `key_inputs`: the sha256 of their canonical JSON, 64 hex digits."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def checkpoint_name(epoch: int) -> str:
    """File name of the checkpoint written after `epoch` epochs (1-based)."""
    return f"checkpoint-epoch{epoch:04d}.keras"


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every filesystem allows opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` as JSON to `path` so that readers see the old file or the new one, whole."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """`model.save(path)` (architecture, weights, optimizer state) through a temporary file."""
    # model.save insists on the ".keras" suffix, so the temporary name keeps it.
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    model.save(temporary)
    _fsync_file(temporary)
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def _read_json(path: Path, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptEntryError(f"{path.name} is unreadable ({exc})") from exc
    if not isinstance(payload, dict):
        raise CorruptEntryError(f"{path.name} does not hold a JSON object")
    missing = [key for key in fields if key not in payload]
    if missing:
        raise CorruptEntryError(f"{path.name} lacks {', '.join(missing)}")
    for key, kind in fields.items():
        if not isinstance(payload[key], kind) or isinstance(payload[key], bool):
            raise CorruptEntryError(f"{path.name} has {key}={payload[key]!r} of the wrong type")
    if payload["format"] != FORMAT_VERSION:
        raise CorruptEntryError(
            f"{path.name} has format {payload['format']!r}, this version reads {FORMAT_VERSION}"
        )
    return payload


class CacheEntry:
    """The folder `cache_root/<variant>-<key[:16]>/` of one training run.

    Args:
        directory: the entry's folder (created on the first write).
        key: the full cache key; files that name another key are treated as corrupt.
    """

    def __init__(self, directory: Path, key: str) -> None:
        self.directory = Path(directory)
        self.key = key

    @property
    def final_path(self) -> Path:
        """The finished model (`final.keras`)."""
        return self.directory / FINAL_FILE

    def _check_key(self, payload: dict[str, Any], name: str) -> None:
        if payload["key"] != self.key:
            raise CorruptEntryError(f"{name} belongs to cache key {payload['key'][:16]}...")

    def read_result(self) -> dict[str, Any] | None:
        """The finished run's `result.json`, or None when the run has not finished.

        Raises:
            CorruptEntryError: the file is unreadable, or `final.keras` is missing.
        """
        path = self.directory / RESULT_FILE
        if not path.exists():
            return None
        result = _read_json(path, _RESULT_FIELDS)
        self._check_key(result, RESULT_FILE)
        if not self.final_path.is_file():
            raise CorruptEntryError(f"{RESULT_FILE} exists but {FINAL_FILE} is missing")
        return result

    def read_state(self) -> tuple[dict[str, Any], Path] | None:
        """The resume state and the checkpoint it names, or None when no epoch was saved.

        Raises:
            CorruptEntryError: `state.json` is unreadable or names a checkpoint that is missing.
        """
        path = self.directory / STATE_FILE
        if not path.exists():
            return None
        state = _read_json(path, _STATE_FIELDS)
        self._check_key(state, STATE_FILE)
        checkpoint = self.directory / state["checkpoint"]
        if state["checkpoint"] != checkpoint_name(state["epochs_done"]):
            raise CorruptEntryError(
                f"{STATE_FILE} claims {state['epochs_done']} epochs but names {state['checkpoint']}"
            )
        if len(state["history"]) != state["epochs_done"]:
            raise CorruptEntryError(
                f"{STATE_FILE} claims {state['epochs_done']} epochs but holds "
                f"{len(state['history'])} history entries"
            )
        if not checkpoint.is_file():
            raise CorruptEntryError(f"{STATE_FILE} names {checkpoint.name}, which is missing")
        return state, checkpoint

    def remove_temporaries(self) -> None:
        """Delete files a killed writer left behind (they were never moved into place)."""
        if self.directory.is_dir():
            for stray in self.directory.glob(".*.tmp-*"):
                stray.unlink(missing_ok=True)

    def save_epoch(self, model: keras.Model, state: dict[str, Any]) -> None:
        """Checkpoint the model after epoch `state["epochs_done"]`, then record the state.

        The state is written last, so it never names a checkpoint that is not complete on disk.
        `state` gains the `format`, `key` and `checkpoint` entries that were written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        name = checkpoint_name(int(state["epochs_done"]))
        save_model_atomic(model, self.directory / name)
        state.update(format=FORMAT_VERSION, key=self.key, checkpoint=name)
        write_json_atomic(self.directory / STATE_FILE, state)
        for old in self.directory.glob(_CHECKPOINT_PATTERN):
            if old.name != name:
                old.unlink(missing_ok=True)

    def finish(self, checkpoint: Path, result: dict[str, Any]) -> None:
        """Publish the last checkpoint as `final.keras` with `result.json`; drop the checkpoints."""
        temporary = self.directory / f".{FINAL_FILE}.tmp-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        try:
            os.link(checkpoint, temporary)  # no copy of a 440 MB v10 checkpoint where possible
        except OSError:
            shutil.copyfile(checkpoint, temporary)
            _fsync_file(temporary)
        os.replace(temporary, self.final_path)
        write_json_atomic(
            self.directory / RESULT_FILE, {**result, "format": FORMAT_VERSION, "key": self.key}
        )
        # result.json now holds everything state.json did; a finished entry is those two files.
        for old in [*self.directory.glob(_CHECKPOINT_PATTERN), self.directory / STATE_FILE]:
            old.unlink(missing_ok=True)

    def move_aside(self) -> Path:
        """Rename the folder to `<folder>.corrupt-<UTC time>` so that nothing of it is reused.

        Returns:
            The new path (the evidence is kept for a human to look at).
        """
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.directory.with_name(f"{self.directory.name}.corrupt-{stamp}")
        suffix = 1
        while target.exists():
            suffix += 1
            target = self.directory.with_name(f"{self.directory.name}.corrupt-{stamp}-{suffix}")
        os.replace(self.directory, target)
        return target
