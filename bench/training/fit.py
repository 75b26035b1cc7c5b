"""Train a registry entry with its recipe, cache the result, resume killed runs.

Claims, and how `tests/test_training.py` checks each on a tiny model:

- `train_variant` runs the report's recipe (VARIANTS.md): one `fit` with
  `EarlyStopping(monitor="val_loss", patience=P)` and `EarlyStopping(monitor="val_accuracy",
  patience=P, mode="max")`, whichever fires first, no `restore_best_weights` (the last epoch's
  weights are evaluated), then top-1 accuracy on the test set. With patience P and nothing
  improving after the first epoch, exactly P + 1 epochs run (checked with a learning rate of 0).
- The run is cached under a key of the architecture, recipe, dataset, profile, seed and
  TensorFlow/Keras versions (`bench.training.cache.key_inputs`); a finished entry is returned
  without training.
- Every epoch is checkpointed (model and optimizer state, and both early stoppings' counters), so a
  killed process loses at most the epoch it was in and resumes after the last saved one (checked by
  SIGKILL-ing a training subprocess). A resumed run is not bit-identical to an uninterrupted one:
  the input pipeline's shuffle order, the augmentation and dropout draws restart from the seed
  rather than continuing the interrupted random streams. The optimizer state, the weights and the
  early-stopping counters are restored exactly.
- A NaN loss, an out-of-memory error and a corrupt cache entry each become one sentence
  (`TrainingError`, or a warning through `progress` for a corrupt entry, which is moved aside and
  retrained); the NaN epoch is never saved.

Times are seconds of wall clock (`time.perf_counter`). `train_time_s` is the sum of the epochs'
wall times (training and validation passes), accumulated across resumes; checkpoint writing and the
final test evaluation are outside it.
"""

from __future__ import annotations

import math
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from architectures.spec import Recipe
from bench.training.cache import CacheEntry, CorruptEntryError, digest, key_inputs
from bench.training.profiles import Profile
from bench.training.recipes import compile_for_training

Progress = Callable[[str], None]

# --- errors ---------------------------------------------------------------------------------------


class TrainingError(Exception):
    """A training run that cannot go on (NaN loss, out of memory, unusable data); one sentence."""


# --- training -------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """A trained model and how it got there.

    Attributes:
        model: the trained (compiled) model, last epoch's weights.
        history: one dict per epoch: epoch (1-based), wall_s, cumulative_s, loss, accuracy,
            val_loss, val_accuracy. `cumulative_s` is the time-to-accuracy curve.
        epochs: epochs run in total (across resumes).
        train_time_s: sum of the epochs' wall times, across resumes, without the test evaluation.
        test_accuracy: top-1 fraction on the test set.
        test_examples: size of that test set.
        stopped_by: "val_loss" or "val_accuracy" when an early stopping ended the run (both at
            once counts as "val_loss", the first callback), None when the epoch cap did.
        resumed_from_epoch: epochs already done when this call started (0 for a fresh run, equal
            to `epochs` when taken from the cache).
        from_cache: True when nothing was trained in this call.
        cache_dir: the cache entry's folder (`final.keras` is the trained model).
        provenance: the cache key and its inputs, and per training session the device, XLA flag
            and epochs it ran (a resumed run can span devices).
    """

    model: keras.Model
    history: list[dict[str, Any]]
    epochs: int
    train_time_s: float
    test_accuracy: float
    test_examples: int
    stopped_by: str | None
    resumed_from_epoch: int
    from_cache: bool
    cache_dir: Path
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(
        cls,
        result: dict[str, Any],
        *,
        model: keras.Model,
        key: str,
        cache_dir: Path,
        resumed_from_epoch: int,
        from_cache: bool,
    ) -> TrainResult:
        """Build from a finished run's `result.json` record (fresh or read from the cache)."""
        return cls(
            model=model,
            history=result["history"],
            epochs=result["epochs"],
            train_time_s=result["train_time_s"],
            test_accuracy=result["test_accuracy"],
            test_examples=result["test_examples"],
            stopped_by=result["stopped_by"],
            resumed_from_epoch=resumed_from_epoch,
            from_cache=from_cache,
            cache_dir=cache_dir,
            provenance={
                "key": key,
                "key_inputs": result["key_inputs"],
                "segments": result["segments"],
            },
        )


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping`, whose `wait` and `best` can be carried over from a killed run.

    `on_train_begin` resets both; they are set back right after it, so a resumed run stops at the
    same epoch an uninterrupted one would (given the same metric values).
    """

    def __init__(
        self, *, monitor: str, mode: str, patience: int, wait: int = 0, best: float | None = None
    ) -> None:
        super().__init__(monitor=monitor, mode=mode, patience=patience)
        self._resume_wait = wait
        self._resume_best = best
        self.fired = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.wait = self._resume_wait
        self.best = self._resume_best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        self.fired = bool(self.model.stop_training) and self.stopped_epoch == epoch > 0

    def counters(self) -> dict[str, Any]:
        """What a resumed run needs: `wait` (epochs without improvement) and `best`."""
        return {"wait": int(self.wait), "best": None if self.best is None else float(self.best)}


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _epochs(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class _EpochRecorder(keras.callbacks.Callback):
    """Times each epoch, refuses NaN epochs, checkpoints the rest, and reports progress.

    It must come after the early stoppings in the callback list, so that the counters it saves
    include the epoch that just ended.
    """

    def __init__(
        self,
        *,
        cache: CacheEntry,
        state: dict[str, Any],
        stoppers: list[ResumableEarlyStopping],
        max_epochs: int,
        label: str,
        progress: Progress,
    ) -> None:
        super().__init__()
        self.cache = cache
        self.state = state
        self.stoppers = stoppers
        self.max_epochs = max_epochs
        self.label = label
        self.progress = progress
        self.nan: str | None = None  # e.g. "loss became NaN"
        self.nan_epoch: int | None = None
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        wall_s = time.perf_counter() - self._started
        logs = logs or {}
        for quantity in ("loss", "val_loss"):
            if quantity in logs and not _finite(logs[quantity]):
                value = float(logs[quantity])
                self.nan = f"{quantity} became {'NaN' if math.isnan(value) else 'infinite'}"
                self.nan_epoch = epoch + 1
                self.model.stop_training = True
                return  # never saved: the last checkpoint stays the last good epoch
        state = self.state
        state["train_time_s"] += wall_s
        state["history"].append(
            {
                "epoch": epoch + 1,
                "wall_s": wall_s,
                "cumulative_s": state["train_time_s"],
                **{
                    name: None if logs.get(name) is None else float(logs[name])
                    for name in ("loss", "accuracy", "val_loss", "val_accuracy")
                },
            }
        )
        state["epochs_done"] = epoch + 1
        state["early_stopping"] = {s.monitor: s.counters() for s in self.stoppers}
        state["stopped_by"] = next((s.monitor for s in self.stoppers if s.fired), None)
        state["optimizer_iterations"] = int(self.model.optimizer.iterations)
        state["segments"][-1]["to_epoch"] = epoch + 1
        self.cache.save_epoch(self.model, state)
        self.progress(self._line(epoch + 1, logs))

    def _line(self, done: int, logs: dict[str, Any]) -> str:
        history = self.state["history"]
        # The first epoch of a session includes tracing; leave it out of the rate when possible.
        session = history[-(done - self.state["segments"][-1]["from_epoch"]) :]
        steady = session[1:] or session
        per_epoch_s = sum(h["wall_s"] for h in steady) / len(steady)
        if self.state["stopped_by"] is not None:
            eta = "stopped early by " + self.state["stopped_by"]
        else:
            most = self.max_epochs - done
            least = min(
                [most] + [max(s.patience - s.wait, 0) for s in self.stoppers],
            )
            eta = f"ETA {_duration(most * per_epoch_s)}"
            if least < most:  # an early stopping may end the run sooner
                eta = f"ETA {_duration(least * per_epoch_s)} to {_duration(most * per_epoch_s)}"
                eta += " (early stopping)"
        metrics = "  ".join(
            f"{short} {logs[name]:.3f}"
            for name, short in (("loss", "loss"), ("accuracy", "acc"), ("val_accuracy", "val_acc"))
            if logs.get(name) is not None
        )
        return (
            f"{self.label} epoch {done}/{self.max_epochs}  {metrics}  "
            f"{per_epoch_s:.1f} s/epoch  {eta}"
        )


@dataclass(frozen=True)
class _Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _apply_profile(dataset: Any, profile: Profile) -> _Split:
    """The dataset cut to the profile's sizes (first examples; the loader already shuffled).

    The suite loads the dataset at the profile's sizes already; cutting again here keeps
    `train_variant` honest when it is handed a bigger dataset.
    """

    def first(x: np.ndarray, y: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        return (x, y) if limit is None else (x[:limit], y[:limit])

    x_train, y_train = first(dataset.x_train, dataset.y_train, profile.train_examples)
    x_val, y_val = first(dataset.x_val, dataset.y_val, profile.validation_examples)
    x_test, y_test = first(dataset.x_test, dataset.y_test, profile.test_examples)
    return _Split(x_train, y_train, x_val, y_val, x_test, y_test)


def _dataset_tag(dataset: Any, split: _Split) -> str:
    return (
        f"{dataset.name}:train={len(split.y_train)},val={len(split.y_val)},test={len(split.y_test)}"
    )


def _restore(model: keras.Model, path: Path, *, optimizer_iterations: int) -> None:
    """Load weights and optimizer state from our own `.keras` file into the rebuilt model.

    The model is rebuilt from its builder rather than deserialised, so user builders with custom
    layers resume too. Keras only warns when the optimizer state does not fit (and then silently
    starts from zero), so the optimizer's step counter is checked against the saved one.

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


# Where an out-of-memory can surface; `_is_out_of_memory` tells it from other errors of these kinds.
_DEVICE_ERRORS = (tf.errors.ResourceExhaustedError, tf.errors.InternalError, tf.errors.UnknownError)


def _is_out_of_memory(exc: Exception) -> bool:
    if isinstance(exc, tf.errors.ResourceExhaustedError):
        return True
    # cuDNN and XLA report some allocation failures as Internal/Unknown errors.
    text = str(exc)
    return isinstance(exc, (tf.errors.InternalError, tf.errors.UnknownError)) and any(
        marker in text for marker in ("OOM", "out of memory", "ALLOC_FAILED")
    )


def _device() -> str:
    from bench.measure.environment import device_name

    return device_name()


def train_variant(
    entry: Any,
    dataset: Any,
    *,
    profile: Profile,
    cache_root: Path,
    seed: int,
    recipe: Recipe | None = None,
    progress: Progress | None = None,
    jit_compile: bool = False,
) -> TrainResult:
    """Train `entry` on `dataset` with its recipe, or take the finished run from the cache.

    The recipe is the report's: `fit` for up to `max_epochs` (the profile's cap, else the
    recipe's) with the two early stoppings, augmentation in the `tf.data` pipeline, then top-1
    accuracy on the test set with the last epoch's weights. Each epoch is checkpointed under
    `cache_root/<id>-<key[:16]>/`; a killed run resumes after its last saved epoch (not
    bit-identically: see the module docstring).

    Args:
        entry: a registry entry (`id`, `recipe`, `build`).
        dataset: a `bench.training.datasets.Dataset` (x/y train, val, test; `name`, `input_shape`,
            `num_classes`), cut to the profile's sizes if bigger.
        profile: one of `PROFILES`.
        cache_root: folder holding the cache entries.
        seed: seeds Keras, NumPy, Python and TensorFlow before the model is built, the shuffle and
            the augmentation.
        recipe: overrides `entry.recipe` (it is part of the cache key).
        progress: receives one line per epoch and one per notable event (resume, cache hit,
            corrupt entry moved aside).
        jit_compile: compile the training step with XLA (recorded in `provenance`, not in the key).

    Returns:
        The trained model with its history, times and test accuracy.

    Raises:
        TrainingError: NaN loss, out of memory, or no usable validation data; one sentence.
    """
    from architectures.augmentation import build_augmentation
    from bench.training.pipeline import make_pipeline

    recipe = recipe or entry.recipe
    say = progress if progress is not None else (lambda line: None)
    label = f"{entry.id} [{profile.name}]"
    split = _apply_profile(dataset, profile)
    input_shape = tuple(int(d) for d in dataset.input_shape)
    num_classes = int(dataset.num_classes)
    max_epochs = min(
        recipe.max_epochs, profile.max_epochs if profile.max_epochs is not None else math.inf
    )
    if max_epochs < 1:
        raise TrainingError(
            f"{entry.id} would train for {max_epochs} epochs; give the recipe or profile at "
            "least one."
        )
    if recipe.patience is not None and len(split.y_val) == 0:
        raise TrainingError(
            f"{entry.id} has early stopping but the dataset has no validation images; "
            "load it with validation_examples > 0."
        )

    def fresh_model() -> keras.Model:
        keras.utils.set_random_seed(seed)  # the same initial weights on every (re)start
        built = entry.build(input_shape=input_shape, num_classes=num_classes)
        compile_for_training(built, recipe, jit_compile=jit_compile)
        return built

    model = fresh_model()
    inputs = key_inputs(
        model,
        recipe,
        dataset=_dataset_tag(dataset, split),
        profile=profile,
        seed=seed,
        input_shape=input_shape,
        num_classes=num_classes,
    )
    key = digest(inputs)
    cache = CacheEntry(Path(cache_root) / f"{entry.id}-{key[:16]}", key)

    def discard(reason: str) -> None:
        moved = cache.move_aside()
        say(
            f"{label} cache entry {cache.directory} is corrupt ({reason}); moved it to "
            f"{moved.name} and training from scratch."
        )

    # 1. A finished run: load it and return.
    try:
        result = cache.read_result()
        if result is not None:
            _restore(model, cache.final_path, optimizer_iterations=result["optimizer_iterations"])
            say(
                f"{label} taken from the cache {cache.directory} ({_epochs(result['epochs'])}, "
                f"test accuracy {result['test_accuracy']:.4f}); nothing trained."
            )
            return TrainResult.from_record(
                result,
                model=model,
                key=key,
                cache_dir=cache.directory,
                resumed_from_epoch=result["epochs"],
                from_cache=True,
            )
    except CorruptEntryError as exc:
        discard(str(exc))
        model = fresh_model()  # a failed load may have overwritten some weights

    # 2. A killed run: restore its last epoch.
    cache.remove_temporaries()
    loaded = None
    try:
        loaded = cache.read_state()
        if loaded is not None:
            _restore(model, loaded[1], optimizer_iterations=loaded[0]["optimizer_iterations"])
    except CorruptEntryError as exc:
        discard(str(exc))
        model = fresh_model()
        loaded = None
    if loaded is None:
        state: dict[str, Any] = {
            "variant": entry.id,
            "key_inputs": inputs,
            "epochs_done": 0,
            "history": [],
            "train_time_s": 0.0,
            "early_stopping": {},
            "stopped_by": None,
            "optimizer_iterations": 0,
            "segments": [],
        }
        checkpoint = None
    else:
        state, checkpoint = loaded
    resumed_from = int(state["epochs_done"])
    device = _device()

    # 3. Train the remaining epochs, unless the last saved epoch already ended the run.
    if state["stopped_by"] is None and resumed_from < max_epochs:
        say(
            f"{label} {'resuming after epoch ' + str(resumed_from) if resumed_from else 'training'}"
            f": {len(split.y_train)} training / {len(split.y_val)} validation images, up to "
            f"{_epochs(max_epochs)}, batch {recipe.batch_size}, on {device}, XLA "
            f"{'on' if jit_compile else 'off'}; cache {cache.directory}"
        )
        state["segments"].append(
            {
                "device": device,
                "jit_compile": bool(jit_compile),
                "tensorflow_version": tf.__version__,
                "keras_version": keras.__version__,
                "from_epoch": resumed_from,
                "to_epoch": resumed_from,
            }
        )
        stoppers = []
        if recipe.patience is not None:
            for monitor, mode in (("val_loss", "min"), ("val_accuracy", "max")):
                counters = state["early_stopping"].get(monitor, {})
                stoppers.append(
                    ResumableEarlyStopping(
                        monitor=monitor,
                        mode=mode,
                        patience=recipe.patience,
                        wait=counters.get("wait", 0),
                        best=counters.get("best"),
                    )
                )
        recorder = _EpochRecorder(
            cache=cache,
            state=state,
            stoppers=stoppers,
            max_epochs=max_epochs,
            label=label,
            progress=say,
        )
        train_data = make_pipeline(
            split.x_train,
            split.y_train,
            batch_size=recipe.batch_size,
            augment=build_augmentation(recipe.augmentation, seed=seed),
            shuffle_seed=seed,
        )
        validation_data = (
            make_pipeline(split.x_val, split.y_val, batch_size=recipe.batch_size)
            if len(split.y_val)
            else None
        )
        try:
            model.fit(
                train_data,
                validation_data=validation_data,
                epochs=max_epochs,
                initial_epoch=resumed_from,
                # TerminateOnNaN ends the epoch at the first NaN batch; the recorder then refuses it
                callbacks=[keras.callbacks.TerminateOnNaN(), *stoppers, recorder],
                shuffle=False,  # make_pipeline shuffles; Keras cannot shuffle a tf.data input
                verbose=0,
            )
        except _DEVICE_ERRORS as exc:
            if not _is_out_of_memory(exc):
                raise
            raise TrainingError(
                f"{entry.id} ran out of memory training at batch size {recipe.batch_size} on "
                f"{device}; use a device with more memory or a smaller batch (which changes the "
                "recipe, so it trains under a new cache key)."
            ) from exc
        if recorder.nan is not None:
            optimizer = recipe.optimizer
            rate = "the Keras default" if recipe.learning_rate is None else recipe.learning_rate
            raise TrainingError(
                f"{recorder.nan} at epoch {recorder.nan_epoch} for {entry.id} "
                f"({optimizer}, learning rate {rate}); lower the learning rate or check the "
                f"data; epochs before it stay checkpointed in {cache.directory}."
            )
        checkpoint = cache.directory / state["checkpoint"]

    # 4. Evaluate the last epoch's weights and publish the finished run.
    try:
        test_accuracy = evaluate(model, split.x_test, split.y_test)
    except _DEVICE_ERRORS as exc:
        if not _is_out_of_memory(exc):
            raise
        raise TrainingError(
            f"{entry.id} ran out of memory evaluating at batch size 256 on {device}; use a device "
            "with more memory."
        ) from exc
    result = {
        "variant": entry.id,
        "key_inputs": inputs,
        "epochs": int(state["epochs_done"]),
        "history": state["history"],
        "train_time_s": float(state["train_time_s"]),
        "test_accuracy": float(test_accuracy),
        "test_examples": len(split.y_test),
        "stopped_by": state["stopped_by"],
        "optimizer_iterations": int(state["optimizer_iterations"]),
        "segments": state["segments"],
    }
    cache.finish(checkpoint, result)
    say(
        f"{label} done: {_epochs(result['epochs'])} in {_duration(result['train_time_s'])}, "
        f"test accuracy {test_accuracy:.4f} on {len(split.y_test)} images"
        + (f", stopped by {state['stopped_by']}" if state["stopped_by"] else "")
    )
    return TrainResult.from_record(
        result,
        model=model,
        key=key,
        cache_dir=cache.directory,
        resumed_from_epoch=resumed_from,
        from_cache=False,
    )


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, *, batch_size: int = 256) -> float:
    """Top-1 accuracy of `model` on images `x` with integer labels `y`, as a fraction.

    Raises:
        ValueError: `x` is empty or `x` and `y` differ in length.
    """
    labels = np.asarray(y).reshape(-1)
    if len(x) == 0 or len(x) != len(labels):
        raise ValueError(f"evaluate needs as many labels as images, got {len(x)} and {len(labels)}")
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == labels))
