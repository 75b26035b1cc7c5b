"""Train a registry entry with its recipe, resume killed runs, evaluate the last epoch's weights.

Claims, and how `tests/test_training.py` checks each on a tiny model:

- `train_variant` runs the report's recipe (docs/source-report.md): one `fit` with
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
- With a short profile (`precise_bn_images`), BatchNormalization's statistics are re-estimated for
  the final weights before the test evaluation (`bench.training.precise_bn`), and that model is
  the cached `final.keras`; the weights are the last epoch's either way.
- A NaN loss, an out-of-memory error and a corrupt cache entry each become one sentence
  (`TrainingError`, or a warning through `progress` for a corrupt entry, which is moved aside and
  retrained); the NaN epoch is never saved.
- Each training session's `fit` runs inside an energy window (`bench.measure.energy`): the
  counter of the training device (NVML on a GPU, RAPL on a CPU) read at both ends after an idle
  baseline, stored in that session's segment (`segments[i]["energy"]`, with the number of
  training jobs that shared the machine). Without a counter every figure is `None` with the
  reason; `bench.suite.executors.accuracy.run_energy` sums a run's sessions or says why it cannot.

Times are seconds of wall clock (`time.perf_counter`). `train_time_s` is the sum of the epochs'
wall times (training and validation passes), accumulated across resumes; checkpoint writing and the
final test evaluation are outside it. Progress lines render numbers with `bench.units` only.
"""

from __future__ import annotations

import contextlib
import functools
import math
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from architectures.augmentation import build_augmentation
from architectures.recipes import compile_for_training
from architectures.spec import Recipe
from bench import units
from bench.measure import energy
from bench.measure.environment import device_name
from bench.training import precise_bn
from bench.training.cache import (
    RESULT_FILE,
    CacheEntry,
    CorruptEntryError,
    EntryLockedError,
    FinishedRun,
    TrainState,
    digest,
    key_inputs,
    restore_model,
)
from bench.training.pipeline import make_pipeline
from bench.training.profiles import Profile, run_label

Progress = Callable[[str], None]

EVALUATION_BATCH_SIZE = 256  # images per `predict` call on the test set; no effect on accuracy
_MONITORS = (("val_loss", "min"), ("val_accuracy", "max"))  # the report's two early stoppings
_HISTORY_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
# What an epoch's progress line shows: Keras' log name, the short label, its rendering.
_SHOWN_METRICS = (
    ("loss", "loss", units.number),
    ("accuracy", "acc", units.percent),
    ("val_accuracy", "val_acc", units.percent),
)
# Where an out-of-memory can surface; `_is_out_of_memory` tells it from other errors of these kinds.
_DEVICE_ERRORS = (tf.errors.ResourceExhaustedError, tf.errors.InternalError, tf.errors.UnknownError)
# Seconds of idle baseline before each training session's energy window (docs/energy.md).
TRAIN_ENERGY_IDLE_S = 5.0


@dataclass(frozen=True)
class EnergySetup:
    """How a training run's energy is read.

    Attributes:
        counters: the counters to read; `None` detects those of the training device (NVML on a
            GPU, RAPL on a CPU; `bench.measure.energy.detect_counters`).
        concurrent_jobs: training jobs running at once on this machine. Both counters cover a
            whole device, so with more than one the run's share cannot be told; the figure is
            then refused (`bench.suite.executors.accuracy.run_energy`), the window still recorded.
        idle_s: seconds of idle baseline before each session's window.
    """

    counters: energy.CounterSet | None = None
    concurrent_jobs: int = 1
    idle_s: float = TRAIN_ENERGY_IDLE_S


class TrainingError(Exception):
    """A training run that cannot go on (NaN loss, out of memory, unusable data); one sentence."""


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
        predictions: the predicted class of every test image (int16), in test-set order.
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
    predictions: np.ndarray | None = None

    @classmethod
    def from_run(
        cls,
        run: FinishedRun,
        *,
        model: keras.Model,
        key: str,
        cache_dir: Path,
        resumed_from_epoch: int,
        from_cache: bool,
        predictions: np.ndarray | None = None,
    ) -> TrainResult:
        """Build from a finished run (fresh, or read from the cache's `result.json`)."""
        state = run.state
        return cls(
            model=model,
            history=state.history,
            epochs=state.epochs_done,
            train_time_s=state.train_time_s,
            test_accuracy=run.test_accuracy,
            test_examples=run.test_examples,
            stopped_by=state.stopped_by,
            resumed_from_epoch=resumed_from_epoch,
            from_cache=from_cache,
            cache_dir=cache_dir,
            provenance={"key": key, "key_inputs": state.key_inputs, "segments": state.segments},
            predictions=predictions,
        )


def predict_classes(
    model: keras.Model, x: np.ndarray, *, batch_size: int = EVALUATION_BATCH_SIZE
) -> np.ndarray:
    """The predicted class of every image of `x` (int16), with the model in inference mode."""
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    return np.argmax(probabilities, axis=-1).astype(np.int16)


def evaluate(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, batch_size: int = EVALUATION_BATCH_SIZE
) -> float:
    """Top-1 accuracy of `model` on images `x` with integer labels `y`, as a fraction.

    Raises:
        ValueError: `x` is empty or `x` and `y` differ in length.
    """
    labels = np.asarray(y).reshape(-1)
    if len(x) == 0 or len(x) != len(labels):
        raise ValueError(f"evaluate needs as many labels as images, got {len(x)} and {len(labels)}")
    return float(np.mean(predict_classes(model, x, batch_size=batch_size) == labels))


# --- callbacks ------------------------------------------------------------------------------------


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


def _epochs(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _not_finite(logs: dict[str, Any]) -> str | None:
    """Which of loss and val_loss became NaN or infinite, in words, or None when both are finite."""
    for quantity in ("loss", "val_loss"):
        value = logs.get(quantity)
        if value is not None and not math.isfinite(float(value)):
            return f"{quantity} became {'NaN' if math.isnan(float(value)) else 'infinite'}"
    return None


class _EpochRecorder(keras.callbacks.Callback):
    """Times each epoch, refuses NaN epochs, checkpoints the rest, and reports progress.

    It must come after the early stoppings in the callback list, so that the counters it saves
    include the epoch that just ended.
    """

    def __init__(
        self,
        *,
        cache: CacheEntry,
        state: TrainState,
        stoppers: list[ResumableEarlyStopping],
        max_epochs: int,
        label: str,
        progress: Progress,
        images_per_epoch: int,
    ) -> None:
        super().__init__()
        self.cache = cache
        self.state = state
        self.stoppers = stoppers
        self.max_epochs = max_epochs
        self.label = label
        self.progress = progress
        self.images_per_epoch = images_per_epoch
        self.nan: str | None = None  # e.g. "loss became NaN"
        self.nan_epoch: int | None = None
        self._started = 0.0
        self._validation_started = 0.0
        self._validation_s = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()
        self._validation_s = 0.0

    # fit() runs the epoch's validation pass through these hooks: its time is kept apart, so
    # that the training images per second cover the optimizer steps and the input pipeline only.
    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._validation_started = time.perf_counter()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._validation_s += time.perf_counter() - self._validation_started

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        wall_s = time.perf_counter() - self._started
        logs = logs or {}
        self.nan = _not_finite(logs)
        if self.nan is not None:
            self.nan_epoch = epoch + 1
            self.model.stop_training = True
            return  # never saved: the last checkpoint stays the last good epoch
        self._record(epoch + 1, wall_s, logs)
        self.cache.save_epoch(self.model, self.state)
        self.progress(self._line(epoch + 1, logs))

    def _record(self, done: int, wall_s: float, logs: dict[str, Any]) -> None:
        state = self.state
        state.train_time_s += wall_s
        metrics = {
            name: None if logs.get(name) is None else float(logs[name]) for name in _HISTORY_METRICS
        }
        state.history.append(
            {
                "epoch": done,
                "wall_s": wall_s,
                "cumulative_s": state.train_time_s,
                "train_s": wall_s - self._validation_s,
                "train_images": self.images_per_epoch,
                **metrics,
            }
        )
        state.epochs_done = done
        state.early_stopping = {s.monitor: s.counters() for s in self.stoppers}
        state.stopped_by = next((s.monitor for s in self.stoppers if s.fired), None)
        state.optimizer_iterations = int(self.model.optimizer.iterations)
        state.segments[-1]["to_epoch"] = done

    def _line(self, done: int, logs: dict[str, Any]) -> str:
        # The first epoch of a session includes tracing; leave it out of the rate when possible.
        session = self.state.history[-(done - self.state.segments[-1]["from_epoch"]) :]
        steady = session[1:] or session
        per_epoch_s = sum(h["wall_s"] for h in steady) / len(steady)
        metrics = "  ".join(
            f"{short} {render(logs[name])}"
            for name, short, render in _SHOWN_METRICS
            if logs.get(name) is not None
        )
        return (
            f"{self.label} epoch {done}/{self.max_epochs}  {metrics}  "
            f"{units.seconds(per_epoch_s)}/epoch  {self._eta(done, per_epoch_s)}"
        )

    def _eta(self, done: int, per_epoch_s: float) -> str:
        if self.state.stopped_by is not None:
            return "stopped early by " + self.state.stopped_by
        most = self.max_epochs - done
        if most == 0:
            return "last epoch"
        least = min([most] + [max(s.patience - s.wait, 0) for s in self.stoppers])
        if least < most:  # an early stopping may end the run sooner
            return (
                f"ETA {units.seconds(least * per_epoch_s)} to {units.seconds(most * per_epoch_s)}"
                " (early stopping)"
            )
        return f"ETA {units.seconds(most * per_epoch_s)}"


# --- one train_variant call -----------------------------------------------------------------------


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
    tag = (
        f"{dataset.name}:train={len(split.y_train)},val={len(split.y_val)},test={len(split.y_test)}"
    )
    fingerprint = getattr(dataset, "fingerprint", "")  # a folder's contents (training.images)
    return f"{tag}:{fingerprint}" if fingerprint else tag


def _epoch_cap(entry: Any, recipe: Recipe, profile: Profile, split: _Split) -> int:
    """The profile's cap on epochs, else the recipe's.

    Raises:
        TrainingError: no epoch to run, or early stopping without validation images.
    """
    cap = min(recipe.max_epochs, profile.max_epochs if profile.max_epochs is not None else math.inf)
    if cap < 1:
        raise TrainingError(
            f"{entry.id} would train for {cap} epochs; give the recipe or profile at least one."
        )
    if recipe.patience is not None and len(split.y_val) == 0:
        raise TrainingError(
            f"{entry.id} has early stopping but the dataset has no validation images; "
            "load it with validation_examples > 0."
        )
    return int(cap)


def _is_out_of_memory(exc: Exception) -> bool:
    if isinstance(exc, tf.errors.ResourceExhaustedError):
        return True
    # cuDNN and XLA report some allocation failures as Internal/Unknown errors.
    text = str(exc)
    return isinstance(exc, (tf.errors.InternalError, tf.errors.UnknownError)) and any(
        marker in text for marker in ("OOM", "out of memory", "ALLOC_FAILED")
    )


@contextlib.contextmanager
def _out_of_memory_is(message: str) -> Iterator[None]:
    """Turn an out-of-memory error inside the block into `TrainingError(message)`."""
    try:
        yield
    except _DEVICE_ERRORS as exc:
        if not _is_out_of_memory(exc):
            raise
        raise TrainingError(message) from exc


class _Job:
    """One `train_variant` call: the model, its data, its cache entry, and the steps on them."""

    def __init__(
        self,
        entry: Any,
        dataset: Any,
        *,
        profile: Profile,
        cache_root: Path,
        seed: int,
        recipe: Recipe,
        progress: Progress,
        jit_compile: bool,
        energy_setup: EnergySetup,
    ) -> None:
        self.entry = entry
        self.energy_setup = energy_setup
        self.recipe = recipe
        self.seed = seed
        self.jit_compile = jit_compile
        self.say = progress
        self.label = run_label(entry.id, profile.name, seed)
        self.split = _apply_profile(dataset, profile)
        self.input_shape = tuple(int(d) for d in dataset.input_shape)
        self.num_classes = int(dataset.num_classes)
        self.profile = profile
        self.max_epochs = _epoch_cap(entry, recipe, profile, self.split)
        self.steps_per_epoch = profile.steps_per_epoch
        self.images_per_epoch = (
            len(self.split.y_train)
            if self.steps_per_epoch is None
            else self.steps_per_epoch * recipe.batch_size
        )
        self.model = self.fresh_model()
        self.key_inputs = key_inputs(
            self.model,
            recipe,
            dataset=_dataset_tag(dataset, self.split),
            profile=profile,
            seed=seed,
            input_shape=self.input_shape,
            num_classes=self.num_classes,
            jit_compile=jit_compile,
        )
        self.key = digest(self.key_inputs)
        self.cache = CacheEntry(Path(cache_root) / f"{entry.id}-{self.key[:16]}", self.key)

    @functools.cached_property
    def device(self) -> str:
        """Where this call trains, as `bench.measure.environment.device_name` says."""
        return device_name()

    def fresh_model(self) -> keras.Model:
        """The entry's model, built from the seed (the same initial weights on every (re)start)."""
        keras.utils.set_random_seed(self.seed)
        model = self.entry.build(input_shape=self.input_shape, num_classes=self.num_classes)
        compile_for_training(model, self.recipe, jit_compile=self.jit_compile)
        return model

    def waiting(self, holder: str, waited_s: float) -> None:
        """Say that another process holds this entry and that this one waits for it."""
        self.say(
            f"{self.label} waits for {holder}, which is training it into {self.cache.directory}"
            f" (another run on the same cache; waited {units.seconds(waited_s)}); its finished "
            "run will be read from the cache."
        )

    def _discard(self, reason: str) -> None:
        """Move the corrupt entry aside, say so, and start again from a freshly built model.

        A failed load may have overwritten some of the model's weights, hence the rebuild.
        """
        moved = self.cache.move_aside()
        self.say(
            f"{self.label} cache entry {self.cache.directory} is corrupt ({reason}); moved it to "
            f"{moved.name} and training from scratch."
        )
        self.model = self.fresh_model()

    def _result(
        self,
        run: FinishedRun,
        *,
        resumed_from_epoch: int,
        from_cache: bool,
        predictions: np.ndarray,
    ) -> TrainResult:
        return TrainResult.from_run(
            run,
            model=self.model,
            key=self.key,
            cache_dir=self.cache.directory,
            resumed_from_epoch=resumed_from_epoch,
            from_cache=from_cache,
            predictions=predictions,
        )

    def _predictions(self) -> np.ndarray:
        with _out_of_memory_is(
            f"{self.entry.id} ran out of memory evaluating at batch size {EVALUATION_BATCH_SIZE} "
            f"on {self.device}; use a device with more memory."
        ):
            return predict_classes(self.model, self.split.x_test)

    def from_cache(self) -> TrainResult | None:
        """A finished run with its model loaded, or None (a corrupt entry is moved aside)."""
        try:
            run = self.cache.read_result()
            if run is None:
                return None
            restore_model(
                self.model,
                self.cache.final_path,
                optimizer_iterations=run.state.optimizer_iterations,
            )
        except CorruptEntryError as exc:
            self._discard(str(exc))
            return None
        predictions = self.cache.read_predictions(run.test_examples)
        if predictions is None:  # an entry written before predictions were kept
            predictions = self._predictions()
            self.cache.write_predictions(predictions)
        contradiction = self._contradiction(run, predictions)
        if contradiction is not None:
            self._discard(contradiction)
            return None
        accuracy = units.percent(run.test_accuracy)
        self.say(
            f"{self.label} taken from the cache {self.cache.directory} "
            f"({_epochs(run.state.epochs_done)}, test accuracy {accuracy}); nothing trained."
        )
        return self._result(
            run,
            resumed_from_epoch=run.state.epochs_done,
            from_cache=True,
            predictions=predictions,
        )

    def _contradiction(self, run: FinishedRun, predictions: np.ndarray) -> str | None:
        """Why the cached accuracy cannot be used, when the stored predictions, scored against
        this run's test labels, do not give it (a `result.json` edited by hand), else None."""
        labels = np.asarray(self.split.y_test).reshape(-1)
        if run.test_examples != len(labels) or len(predictions) != len(labels):
            return (
                f"{RESULT_FILE} describes {run.test_examples} test images with "
                f"{len(predictions)} predictions, the test set has {len(labels)}"
            )
        scored = float(np.mean(predictions == labels))
        if abs(scored - run.test_accuracy) > 1e-9:
            return (
                f"{RESULT_FILE} says test accuracy {units.percent(run.test_accuracy)} but its "
                f"stored predictions score {units.percent(scored)}"
            )
        return None

    def restore_or_start(self) -> TrainState:
        """A killed run's state with its last saved epoch loaded, else a fresh state."""
        self.cache.remove_temporaries()
        try:
            state = self.cache.read_state()
            if state is not None:
                restore_model(
                    self.model,
                    self.cache.checkpoint_path(state.epochs_done),
                    optimizer_iterations=state.optimizer_iterations,
                )
                return state
        except CorruptEntryError as exc:
            self._discard(str(exc))
        return TrainState(variant=self.entry.id, key_inputs=self.key_inputs)

    def _stoppers(self, state: TrainState) -> list[ResumableEarlyStopping]:
        if self.recipe.patience is None:
            return []
        return [
            ResumableEarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=self.recipe.patience,
                wait=state.early_stopping.get(monitor, {}).get("wait", 0),
                best=state.early_stopping.get(monitor, {}).get("best"),
            )
            for monitor, mode in _MONITORS
        ]

    def _start_segment(self, state: TrainState) -> None:
        """Say what is about to train, and open this session's segment of the provenance."""
        done = state.epochs_done
        self.say(
            f"{self.label} {f'resuming after epoch {done}' if done else 'training'}: "
            f"{len(self.split.y_train)} training / {len(self.split.y_val)} validation images, up "
            f"to {_epochs(self.max_epochs)}, batch {self.recipe.batch_size}, on {self.device}, "
            f"XLA {'on' if self.jit_compile else 'off'}; cache {self.cache.directory}"
        )
        state.segments.append(
            {
                "device": self.device,
                "node": platform.node(),  # a retried job may resume on another machine
                "jit_compile": bool(self.jit_compile),
                "precision": keras.mixed_precision.global_policy().name,
                "tensorflow_version": tf.__version__,
                "keras_version": keras.__version__,
                "from_epoch": done,
                "to_epoch": done,
                "concurrent_jobs": self.energy_setup.concurrent_jobs,
            }
        )

    def _energy_window(self) -> energy.EnergyWindow:
        """The energy window of one training session, on the training device's counter."""
        setup = self.energy_setup
        on_gpu = self.device.startswith("GPU")
        counters = setup.counters
        if counters is None:
            counters = energy.detect_counters(kind="gpu" if on_gpu else "cpu")
        sync = tf.test.experimental.sync_devices if on_gpu else None
        return energy.EnergyWindow(counters, idle_s=setup.idle_s, sync=sync)

    def _pipelines(self) -> tuple[Any, Any]:
        """The training pipeline (augmented, shuffled from the seed) and the validation one."""
        batch = self.recipe.batch_size
        split = self.split
        train_data = make_pipeline(
            split.x_train,
            split.y_train,
            batch_size=batch,
            augment=build_augmentation(self.recipe.augmentation, seed=self.seed),
            shuffle_seed=self.seed,
        )
        if self.steps_per_epoch is not None:  # an epoch of the profile is a number of steps
            train_data = train_data.repeat()
        validation_data = (
            make_pipeline(split.x_val, split.y_val, batch_size=batch) if len(split.y_val) else None
        )
        return train_data, validation_data

    def fit_remaining(self, state: TrainState) -> None:
        """Train from `state.epochs_done` to the cap or an early stop, checkpointing every epoch.

        Raises:
            TrainingError: the loss became NaN or infinite, or the device ran out of memory.
        """
        self._start_segment(state)
        stoppers = self._stoppers(state)
        recorder = _EpochRecorder(
            cache=self.cache,
            state=state,
            stoppers=stoppers,
            max_epochs=self.max_epochs,
            label=self.label,
            progress=self.say,
            images_per_epoch=self.images_per_epoch,
        )
        batch = self.recipe.batch_size
        train_data, validation_data = self._pipelines()
        out_of_memory = (
            f"{self.entry.id} ran out of memory training at batch size {batch} on {self.device}; "
            "use a device with more memory or a smaller batch (which changes the recipe, so it "
            "trains under a new cache key)."
        )
        with _out_of_memory_is(out_of_memory), self._energy_window() as window:
            self.model.fit(
                train_data,
                validation_data=validation_data,
                epochs=self.max_epochs,
                initial_epoch=state.epochs_done,
                steps_per_epoch=self.steps_per_epoch,
                # TerminateOnNaN ends the epoch at the first NaN batch; the recorder then refuses it
                callbacks=[keras.callbacks.TerminateOnNaN(), *stoppers, recorder],
                shuffle=False,  # make_pipeline shuffles; Keras cannot shuffle a tf.data input
                verbose=0,
            )
        # stored with the state the cache publishes at the end (`CacheEntry.finish`)
        state.segments[-1]["energy"] = window.result.to_json()
        if recorder.nan is not None:
            rate = (
                "the Keras default"
                if self.recipe.learning_rate is None
                else self.recipe.learning_rate
            )
            done = state.epochs_done
            kept = (
                f"the {_epochs(done)} before it stay checkpointed in {self.cache.directory}"
                if done
                else "no epoch had finished, so nothing was saved"
            )
            raise TrainingError(
                f"{recorder.nan} at epoch {recorder.nan_epoch} for {self.entry.id} "
                f"({self.recipe.optimizer}, learning rate {rate}); lower the learning rate or "
                f"check the data; {kept}."
            )

    def _precise_bn(self) -> bool:
        """Re-estimate BN statistics for the final weights when the profile asks (True if done)."""
        count = self.profile.precise_bn_images
        if not count:
            return False
        rng = np.random.default_rng(self.seed)
        chosen = rng.permutation(len(self.split.x_train))[:count]
        with _out_of_memory_is(
            f"{self.entry.id} ran out of memory re-estimating BatchNormalization statistics on "
            f"{self.device}; use a device with more memory."
        ):
            layers = precise_bn.reestimate(self.model, self.split.x_train[np.sort(chosen)])
        if layers:
            self.say(
                f"{self.label} BatchNormalization statistics of {layers} layers re-estimated on "
                f"{len(chosen)} training images for the final weights"
            )
        return bool(layers)

    def evaluate_and_publish(self, state: TrainState, *, resumed_from_epoch: int) -> TrainResult:
        """Test the last epoch's weights, publish the finished run in the cache, and return it.

        Raises:
            TrainingError: the device ran out of memory.
        """
        recalibrated = self._precise_bn()
        predictions = self._predictions()
        labels = np.asarray(self.split.y_test).reshape(-1)
        test_accuracy = float(np.mean(predictions == labels))
        run = FinishedRun(state=state, test_accuracy=test_accuracy, test_examples=len(labels))
        self.cache.finish(run, predictions, model=self.model if recalibrated else None)
        self.say(
            f"{self.label} done: {_epochs(state.epochs_done)} in "
            f"{units.seconds(state.train_time_s)}, test accuracy {units.percent(test_accuracy)} "
            f"on {run.test_examples} images"
            + (f", stopped by {state.stopped_by}" if state.stopped_by else "")
        )
        return self._result(
            run, resumed_from_epoch=resumed_from_epoch, from_cache=False, predictions=predictions
        )

    def run(self) -> TrainResult:
        """The finished run from the cache, else resume or start, train, test and publish it
        (with the entry's lock held)."""
        cached = self.from_cache()
        if cached is not None:
            return cached
        state = self.restore_or_start()
        resumed_from = state.epochs_done
        if state.stopped_by is None and resumed_from < self.max_epochs:
            self.fit_remaining(state)
        return self.evaluate_and_publish(state, resumed_from_epoch=resumed_from)


def _silent(line: str) -> None:
    """The `progress` sink when none is given."""


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
    energy_setup: EnergySetup | None = None,
    wait: bool = True,
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
        jit_compile: compile the training step with XLA (part of the cache key).
        energy_setup: how each training session's energy is read (default: the training
            device's counter, one job on the machine).
        wait: wait for another run training the same entry, then read it (False: fail).

    Returns:
        The trained model with its history, times and test accuracy.

    Raises:
        TrainingError: NaN loss, out of memory, no usable validation data, or (`wait` False)
            the entry busy; one sentence.
    """
    job = _Job(
        entry,
        dataset,
        profile=profile,
        cache_root=cache_root,
        seed=seed,
        recipe=recipe or entry.recipe,
        progress=progress if progress is not None else _silent,
        jit_compile=jit_compile,
        energy_setup=energy_setup or EnergySetup(),
    )
    return _run_locked(job, wait=wait)


def _run_locked(job: _Job, *, wait: bool) -> TrainResult:
    """`job.run()` with its cache entry's lock held (`CacheEntry.locked`)."""
    try:
        with job.cache.locked(wait=wait, waiting=job.waiting):
            return job.run()
    except EntryLockedError as exc:
        raise TrainingError(
            f"{job.label} is being trained into {job.cache.directory} by {exc.holder} (another "
            "run on the same --model-cache); wait for it (leave out --no-wait) or give another "
            "--model-cache."
        ) from None
