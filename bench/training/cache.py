"""The trained-model cache: the key a run is stored under, and one entry's files on disk.

Claims, checked end to end by `tests/test_training.py` (resume after SIGKILL, cache hit,
corrupt checkpoint, corrupt result, cache key):

- The key (`key_inputs`, hashed by `digest`) covers what the trained weights depend on and nothing
  else: the architecture (`architecture_fingerprint`, blind to Keras' per-process layer names),
  the recipe without its prose, the dataset and its split sizes, the profile, the seed, the input
  shape, the class count and the TensorFlow and Keras versions. `train_variant` is its one user.
- Whatever instant the process dies at, the entry on disk is either a consistent resume point
  (`state.json` and the checkpoint it names, both from the same finished epoch) or a finished run
  (`result.json` and `final.keras`), never a mix that claims an epoch that was not saved. How:
  every file is written to a temporary name in the same folder, flushed to disk and moved into
  place with `os.replace` (atomic on POSIX), so a reader never sees half a file; the checkpoint of
  epoch k is written first, under its own name (`checkpoint-epoch000k.keras`), then `state.json`
  naming it, and the checkpoint of epoch k-1 is removed only after that; a finished run hard-links
  (or copies) its last checkpoint to `final.keras`, then writes `result.json`, and only then
  removes the checkpoints and `state.json`.
- `TrainState` is the one description of a run's progress: `state.json` is its JSON plus the
  format, key and checkpoint name; `result.json` is a `FinishedRun`'s (the final state with
  `epochs_done` named `epochs`, without the early-stopping counters, plus the test accuracy).
  Anything that does not parse, lacks a field, has a field of the wrong JSON type, or does not
  fit together raises `CorruptEntryError`; the caller moves the folder aside with `move_aside`
  and starts again. `result.json` holds the sha256 of `final.keras` and `predictions.npy`
  (`checksums`), so a file edited or damaged after the run is refused the same way.
- One process at a time reads, trains or publishes an entry (`CacheEntry.locked`: `flock` on a
  lock file beside the folder, released when its process dies); a second run on the same cache
  waits for the entry and then reads the finished run. `tests/test_faults.py` runs two workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import math
import os
import platform
import re
import shutil
import time
import types
import typing
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from architectures.spec import Recipe
from bench.atomic import sync_folder
from bench.training.profiles import Profile

FORMAT_VERSION = 1
STATE_FILE = "state.json"
RESULT_FILE = "result.json"
FINAL_FILE = "final.keras"
# The predicted class of every test image, written before result.json; entries older than it
# have none and the caller recomputes them from final.keras.
PREDICTIONS_FILE = "predictions.npy"
_CHECKPOINT_PATTERN = "checkpoint-epoch*.keras"
# result.json's sha256 of the files it describes, so that an edited or damaged file is never
# used; entries written before it have none (FORMAT_VERSION 1 either way).
CHECKSUMS_FIELD = "checksums"
_SUMMED = (FINAL_FILE, PREDICTIONS_FILE)

# Bump when the training code changes what a cached result means. 2: precision and XLA in the key.
_KEY_FORMAT = 2
_RECIPE_DOCUMENTATION = ("origin", "notes")  # prose about the recipe; no effect on training


class CorruptEntryError(Exception):
    """A cache entry whose files cannot be read or do not agree with each other."""


class EntryLockedError(Exception):
    """Another process holds a cache entry's lock; `holder` says which ("process 12 on box")."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


LOCK_POLL_S = 0.5  # how often a waiting run tries the lock again
LOCK_SAY_EVERY_S = 30.0  # how often it says it is still waiting


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
    jit_compile: bool = False,
) -> dict[str, Any]:
    """What a training run's result depends on, as JSON; `digest` makes the cache key of it.

    The precision (Keras' global dtype policy) and XLA are in the key: both change the numbers a
    training produces, so a run cached under one setting is never reused under another. The
    device is not: the same run on another device gives the same model (up to its numerics),
    only its time differs, and that is recorded with the run (`segments`), not hidden.

    Args:
        model: the built model (its `architecture_fingerprint` is hashed, so user builders are
            covered too).
        recipe: the recipe the run uses (`dataclasses.asdict`, without its `origin` and `notes`).
        dataset: the dataset's name; `train_variant` adds its split sizes.
        profile: the profile (its sizes and epoch cap, without its description).
        seed: the run's seed.
        input_shape: (height, width, channels).
        num_classes: number of classes.
        jit_compile: whether the training step is compiled with XLA.

    Returns:
        The inputs, with the precision, the TensorFlow and Keras versions and `_KEY_FORMAT`
        added.
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
        "precision": keras.mixed_precision.global_policy().name,
        "jit_compile": bool(jit_compile),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
    }


def digest(inputs: dict[str, Any]) -> str:
    """The cache key of `key_inputs`: the sha256 of their canonical JSON, 64 hex digits."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


# --- what the files hold --------------------------------------------------------------------------

# The JSON types a field's annotation allows. A float field accepts an int, as JSON may write
# 0.0 as 0; bool is refused everywhere, although Python counts it as an int.
_JSON_TYPES: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    str: (str,),
    type(None): (type(None),),
    dict: (dict,),
    list: (list,),
}
_ENVELOPE = {"format": (int,), "key": (str,)}  # in both files, around the run's own fields
_CHECKPOINT_FIELD = {"checkpoint": (str,)}  # in state.json: the file of the last saved epoch


def _json_types(cls: type, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[type, ...]]:
    """Each field of dataclass `cls` (but `skip`) with the JSON types its annotation allows."""
    allowed = {}
    for name, hint in typing.get_type_hints(cls).items():
        if name in skip:
            continue
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        allowed[name] = tuple(t for o in options for t in _JSON_TYPES[typing.get_origin(o) or o])
    return allowed


def _check_fields(payload: Any, allowed: dict[str, tuple[type, ...]], source: str) -> None:
    """Raise CorruptEntryError unless `payload` is a JSON object with every field, well typed."""
    if not isinstance(payload, dict):
        raise CorruptEntryError(f"{source} does not hold a JSON object")
    missing = [name for name in allowed if name not in payload]
    if missing:
        raise CorruptEntryError(f"{source} lacks {', '.join(missing)}")
    for name, kinds in allowed.items():
        if not isinstance(payload[name], kinds) or isinstance(payload[name], bool):
            raise CorruptEntryError(f"{source} has {name}={payload[name]!r} of the wrong type")


@dataclass
class TrainState:
    """Where a training run stands after its last saved epoch; `state.json` without its envelope.

    Attributes:
        variant: the registry entry's id.
        key_inputs: what the cache key was made of (`key_inputs`).
        epochs_done: epochs finished and saved (1-based count).
        history: one dict per epoch: epoch, wall_s, cumulative_s, loss, accuracy, val_loss,
            val_accuracy.
        train_time_s: sum of the epochs' wall times, across resumes.
        early_stopping: per monitored quantity, the stopping's `wait` and `best`.
        stopped_by: the monitor whose early stopping ended the run, or None.
        optimizer_iterations: the optimizer's step counter, checked when the checkpoint is loaded.
        segments: per training session, its device, node (host name), XLA flag, versions and
            epoch range.
    """

    variant: str
    key_inputs: dict[str, Any]
    epochs_done: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    train_time_s: float = 0.0
    early_stopping: dict[str, dict[str, Any]] = field(default_factory=dict)
    stopped_by: str | None = None
    optimizer_iterations: int = 0
    segments: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (a deep copy)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, payload: Any, *, source: str = STATE_FILE) -> TrainState:
        """Read back `to_json`'s dict; extra keys (the file's envelope) are ignored.

        Raises:
            CorruptEntryError: not a dict, a field missing or of the wrong JSON type.
        """
        allowed = _json_types(cls)
        _check_fields(payload, allowed, source)
        return cls(**{name: payload[name] for name in allowed})


# result.json names the state's fields as state.json does, but for these (FORMAT_VERSION 1).
_RESULT_NAMES = {"epochs_done": "epochs"}
_RESULT_OMITS = ("early_stopping",)  # a finished run's counters are never read again


@dataclass(frozen=True)
class FinishedRun:
    """A finished run as `result.json` holds it: its final state and its test accuracy.

    Attributes:
        state: the state after the last epoch.
        test_accuracy: top-1 fraction on the test set, with the last epoch's weights.
        test_examples: size of that test set.
    """

    state: TrainState
    test_accuracy: float
    test_examples: int

    def to_json(self) -> dict[str, Any]:
        """The fields as `result.json` holds them, without the envelope."""
        state = self.state.to_json()
        payload = {
            _RESULT_NAMES.get(name, name): value
            for name, value in state.items()
            if name not in _RESULT_OMITS
        }
        return {**payload, "test_accuracy": self.test_accuracy, "test_examples": self.test_examples}

    @classmethod
    def from_json(cls, payload: Any, *, source: str = RESULT_FILE) -> FinishedRun:
        """Read back `to_json`'s dict; the omitted state fields take their defaults.

        Raises:
            CorruptEntryError: not a dict, a field missing or of the wrong JSON type.
        """
        state_types = _json_types(TrainState, skip=_RESULT_OMITS)
        allowed = {_RESULT_NAMES.get(name, name): kinds for name, kinds in state_types.items()}
        own = _json_types(cls, skip=("state",))
        _check_fields(payload, {**allowed, **own}, source)
        state = TrainState(**{name: payload[_RESULT_NAMES.get(name, name)] for name in state_types})
        return cls(state=state, **{name: payload[name] for name in own})


# --- writing and reading --------------------------------------------------------------------------


def checkpoint_name(epoch: int) -> str:
    """File name of the checkpoint written after `epoch` epochs (1-based)."""
    return f"checkpoint-epoch{epoch:04d}.keras"


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
    sync_folder(path.parent)


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """`model.save(path)` (architecture, weights, optimizer state) through a temporary file."""
    # model.save insists on the ".keras" suffix, so the temporary name keeps it.
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    model.save(temporary)
    _fsync_file(temporary)
    os.replace(temporary, path)
    sync_folder(path.parent)


def restore_model(model: keras.Model, path: Path, *, optimizer_iterations: int) -> None:
    """Load weights and optimizer state from our own `.keras` file into the rebuilt model.

    The model is rebuilt from its builder rather than deserialised, so user builders with custom
    layers resume too. Keras only warns when the optimizer state does not fit (and then silently
    starts from zero), so the optimizer's step counter is checked against the saved one.

    Args:
        model: the freshly built and compiled model.
        path: a checkpoint or `final.keras`.
        optimizer_iterations: the step counter the state or result recorded.

    Raises:
        CorruptEntryError: the file is unreadable or does not fit the model.
    """
    model.optimizer.build(model.trainable_variables)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptEntryError(f"{path.name} is unreadable ({type(exc).__name__}: {exc})") from exc
    skipped = [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]
    for other in caught:
        if "Skipping variable loading" not in str(other.message):
            warnings.warn(other.message, other.category, stacklevel=2)
    if skipped:
        raise CorruptEntryError(f"{path.name} does not fit the model ({skipped[0].strip()})")
    if int(model.optimizer.iterations) != optimizer_iterations:
        raise CorruptEntryError(
            f"{path.name} holds optimizer step {int(model.optimizer.iterations)}, the state "
            f"expected {optimizer_iterations}"
        )


def _read_json(path: Path, envelope: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """The JSON object in `path`, its envelope checked (the caller checks the run's fields)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptEntryError(f"{path.name} is unreadable ({exc})") from exc
    _check_fields(payload, envelope, path.name)
    if payload["format"] != FORMAT_VERSION:
        raise CorruptEntryError(
            f"{path.name} has format {payload['format']!r}, this version reads {FORMAT_VERSION}"
        )
    return payload


def _sha256(path: Path) -> str | None:
    """The file's sha256 in hex, or None when it is missing."""
    digest_ = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest_.update(block)
    except FileNotFoundError:
        return None
    return digest_.hexdigest()


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd`."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _holder(lock_path: Path) -> str:
    """Who holds a lock, in words, from what the holder wrote into the lock file."""
    with contextlib.suppress(OSError, ValueError):
        pid, host = lock_path.read_text(encoding="utf-8").split()
        return f"process {int(pid)} on {host}"
    return "another process"


def _writer_alive(name: str) -> bool:
    """Whether the process a temporary is named after (`.<file>.tmp-<pid>...`) still runs and
    is not this one."""
    found = re.search(r"\.tmp-(\d+)", name)
    if found is None:
        return False
    pid = int(found.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


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

    def checkpoint_path(self, epochs_done: int) -> Path:
        """The checkpoint written after `epochs_done` epochs."""
        return self.directory / checkpoint_name(epochs_done)

    def _read(self, name: str, envelope: dict[str, tuple[type, ...]]) -> dict[str, Any] | None:
        path = self.directory / name
        if not path.exists():
            return None
        payload = _read_json(path, envelope)
        if payload["key"] != self.key:
            raise CorruptEntryError(f"{name} belongs to cache key {payload['key'][:16]}...")
        return payload

    def read_result(self) -> FinishedRun | None:
        """The finished run's `result.json`, or None when the run has not finished.

        Raises:
            CorruptEntryError: the file is unreadable, `final.keras` is missing, or a file does
                not match the checksum `result.json` holds for it (edited or damaged).
        """
        payload = self._read(RESULT_FILE, _ENVELOPE)
        if payload is None:
            return None
        run = FinishedRun.from_json(payload)
        if not self.final_path.is_file():
            raise CorruptEntryError(f"{RESULT_FILE} exists but {FINAL_FILE} is missing")
        self._check_sums(payload.get(CHECKSUMS_FIELD))
        return run

    def _check_sums(self, sums: Any) -> None:
        """Each file `result.json` has a checksum for must still have it (entries written
        before checksums were kept have none; their predictions are checked by the caller)."""
        if sums is None:
            return
        if not isinstance(sums, dict) or set(sums) != set(_SUMMED):
            raise CorruptEntryError(f"{RESULT_FILE} has malformed {CHECKSUMS_FIELD}: {sums!r}")
        for name in _SUMMED:
            found = _sha256(self.directory / name)
            if found != sums[name]:
                raise CorruptEntryError(
                    f"{name} does not match the checksum in {RESULT_FILE} "
                    f"({'missing' if found is None else 'edited or damaged'})"
                )

    def read_state(self) -> TrainState | None:
        """The resume state, or None when no epoch was saved; its checkpoint is on disk.

        Raises:
            CorruptEntryError: `state.json` is unreadable or names a checkpoint that is missing.
        """
        payload = self._read(STATE_FILE, {**_ENVELOPE, **_CHECKPOINT_FIELD})
        if payload is None:
            return None
        state = TrainState.from_json(payload)
        if payload["checkpoint"] != checkpoint_name(state.epochs_done):
            raise CorruptEntryError(
                f"{STATE_FILE} claims {state.epochs_done} epochs but names {payload['checkpoint']}"
            )
        if len(state.history) != state.epochs_done:
            raise CorruptEntryError(
                f"{STATE_FILE} claims {state.epochs_done} epochs but holds "
                f"{len(state.history)} history entries"
            )
        if not self.checkpoint_path(state.epochs_done).is_file():
            raise CorruptEntryError(f"{STATE_FILE} names {payload['checkpoint']}, which is missing")
        return state

    @property
    def lock_path(self) -> Path:
        """The entry's lock file, beside its folder (the folder may be moved aside)."""
        return self.directory.with_name(f".{self.directory.name}.lock")

    @contextlib.contextmanager
    def locked(
        self, *, wait: bool = True, waiting: Callable[[str, float], None] = lambda h, s: None
    ) -> Iterator[None]:
        """Hold the entry's lock for the block: one process at a time reads, trains or publishes
        the entry. The lock is `flock` on `lock_path`, so it dies with its process (a killed run
        never leaves the entry locked; its lock file, left behind, is taken over). The holder
        removes the lock file when it lets go; a waiter that locked a removed file tries again.

        Args:
            wait: wait for the holder to let go; False raises `EntryLockedError` at once.
            waiting: told (holder, seconds waited so far) when the wait starts and every
                `LOCK_SAY_EVERY_S` after.

        Raises:
            EntryLockedError: `wait` is False and another process holds the lock.
        """
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        started, said = time.monotonic(), -math.inf
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            while not _try_lock(fd):
                holder = _holder(self.lock_path)
                if not wait:
                    os.close(fd)
                    raise EntryLockedError(holder)
                if time.monotonic() - said >= LOCK_SAY_EVERY_S:
                    said = time.monotonic()
                    waiting(holder, said - started)
                time.sleep(LOCK_POLL_S)
            if _same_file(fd, self.lock_path):
                break
            os.close(fd)  # the holder removed the file we locked: lock the current one
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {platform.node()}\n".encode())
            yield
        finally:
            self.lock_path.unlink(missing_ok=True)  # still holding it: no one else can
            os.close(fd)  # lets go of the lock

    def remove_temporaries(self) -> None:
        """Delete the files a killed writer left behind (never moved into place): this
        process's own, and those of processes that no longer run, never a live writer's."""
        if not self.directory.is_dir():
            return
        for stray in self.directory.glob(".*.tmp-*"):
            if not _writer_alive(stray.name):
                stray.unlink(missing_ok=True)

    def save_epoch(self, model: keras.Model, state: TrainState) -> None:
        """Checkpoint the model after epoch `state.epochs_done`, then record the state.

        The state is written last, so it never names a checkpoint that is not complete on disk.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        name = checkpoint_name(state.epochs_done)
        save_model_atomic(model, self.directory / name)
        envelope = {"format": FORMAT_VERSION, "key": self.key, "checkpoint": name}
        write_json_atomic(self.directory / STATE_FILE, {**state.to_json(), **envelope})
        for old in self.directory.glob(_CHECKPOINT_PATTERN):
            if old.name != name:
                old.unlink(missing_ok=True)

    def write_predictions(self, classes: np.ndarray) -> None:
        """Store the predicted class of every test image (atomically, as `predictions.npy`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{PREDICTIONS_FILE}.tmp-{os.getpid()}.npy"
        np.save(temporary, np.asarray(classes))
        _fsync_file(temporary)
        os.replace(temporary, self.directory / PREDICTIONS_FILE)
        sync_folder(self.directory)

    def read_predictions(self, expected: int) -> np.ndarray | None:
        """The stored predictions, or None when absent, unreadable or not `expected` long."""
        path = self.directory / PREDICTIONS_FILE
        try:
            classes = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return classes if classes.ndim == 1 and len(classes) == expected else None

    def finish(
        self,
        run: FinishedRun,
        predictions: np.ndarray | None = None,
        model: keras.Model | None = None,
    ) -> None:
        """Publish the last checkpoint as `final.keras` with `result.json`; drop the checkpoints.

        `predictions` (the test set's predicted classes) are written first, so a finished entry
        has them whenever the code that wrote it knew about them. `model`, when given, is saved
        as `final.keras` instead of the checkpoint (its BatchNormalization statistics were
        re-estimated after the last epoch: `bench.training.precise_bn`).
        """
        if predictions is not None:
            self.write_predictions(predictions)
        if model is not None:
            save_model_atomic(model, self.final_path)
            self._publish(run)
            return
        checkpoint = self.checkpoint_path(run.state.epochs_done)
        temporary = self.directory / f".{FINAL_FILE}.tmp-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        try:
            os.link(checkpoint, temporary)  # no copy of a 440 MB v10 checkpoint where possible
        except OSError:
            shutil.copyfile(checkpoint, temporary)
            _fsync_file(temporary)
        os.replace(temporary, self.final_path)
        self._publish(run)

    def _publish(self, run: FinishedRun) -> None:
        """Write `result.json` (after `final.keras` and the predictions, with their checksums),
        then drop the checkpoints and the state."""
        sums = {name: _sha256(self.directory / name) for name in _SUMMED}
        envelope = {"format": FORMAT_VERSION, "key": self.key, CHECKSUMS_FIELD: sums}
        write_json_atomic(self.directory / RESULT_FILE, {**run.to_json(), **envelope})
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
