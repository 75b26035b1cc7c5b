"""Training, the trained-model cache with resume, and loading user weights (`bench/training/`).

Every test uses a tiny user model (one 3x3 convolution, global pooling, two dense layers: 155
parameters) on 8x8 random images, so the whole file runs in well under a minute on two cores.
Expected values are worked out by hand from Keras' documented semantics: `EarlyStopping` with
patience P stops after P epochs without improvement, so with nothing ever improving (learning rate
0) exactly P + 1 epochs run; 96 images at batch 32 are 3 optimizer steps per epoch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from architectures import Entry, Recipe
from bench import units
from bench.training import cache, fit, weights
from bench.training.datasets import Dataset
from bench.training.profiles import PROFILE_NAMES, PROFILES, Profile

TRAIN, VALIDATION, TEST = 96, 32, 32
BATCH = 32
STEPS_PER_EPOCH = 3  # 96 training images / batch 32
REPO = Path(__file__).resolve().parents[1]


# --- helpers (the killed-subprocess test imports them from this module) ------------------------


def tiny_builder(
    input_shape: tuple[int, ...], num_classes: int, *, units: int = 8, activation: str = "relu"
) -> keras.Model:
    """No batch norm and no dropout, so a learning rate of 0 leaves every metric unchanged."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, (3, 3), activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(units, activation=activation)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def tiny_entry(recipe: Recipe | None = None, builder=tiny_builder) -> Entry:
    return Entry(
        id="tiny",
        kind="user",
        description="test model",
        builder=builder,
        recipe=recipe or Recipe(optimizer="adam", batch_size=BATCH, max_epochs=200, patience=None),
        published=None,
    )


def tiny_dataset(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)

    def split(count: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.random((count, 8, 8, 3), dtype=np.float32), rng.integers(0, 3, count)

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = map(split, (TRAIN, VALIDATION, TEST))
    return Dataset(
        name="random8",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        num_classes=3,
        input_shape=(8, 8, 3),
        source="tests/test_training.py",
    )


def epochs_profile(max_epochs: int) -> Profile:
    return Profile(
        name=f"test{max_epochs}",
        train_examples=None,
        validation_examples=None,
        test_examples=None,
        max_epochs=max_epochs,
        description="tests",
    )


class Lines(list):
    """A `progress` sink that keeps the lines."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def epoch_lines(self) -> list[str]:
        return [line for line in self if " epoch " in line and "/" in line]


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and len(message) < 400


# --- profiles and key -----------------------------------------------------------------------------


def test_profiles_are_nested_budgets() -> None:
    assert set(PROFILES) == {"paper", "cpu", "quick", "smoke"}
    paper, cpu, quick, smoke = (PROFILES[n] for n in ("paper", "cpu", "quick", "smoke"))
    # paper runs the report's recipe unchanged: all data, the recipe's 200 epochs.
    assert (paper.train_examples, paper.test_examples, paper.max_epochs) == (None, None, None)
    assert paper.validation_examples is None and paper.steps is None
    # The CPU-sized profiles are budgeted in optimizer steps, equal for every model: 250 and 150.
    assert cpu.steps == 5 * 50 == 250 and quick.steps == 3 * 50 == 150
    assert cpu.test_examples is None  # the full test set: accuracies comparable to the paper's
    assert 0 < quick.test_examples < 10_000 and 0 < quick.validation_examples <= 5_000
    # smoke: seconds, two epochs (so a run can be interrupted between them and resumed).
    assert smoke.train_examples < 1_000 and smoke.test_examples < quick.test_examples
    assert smoke.max_epochs == 2 and smoke.steps is None


def test_profiles_import_without_tensorflow() -> None:
    # The suite's option table imports the names; a framework import there would cost seconds.
    assert PROFILE_NAMES == ("paper", "cpu", "quick", "smoke")
    probe = (
        "import sys, bench.training.profiles as p; "
        "print(p.PROFILE_NAMES, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    expected = "('paper', 'cpu', 'quick', 'smoke') False False"
    assert done.stdout.strip() == expected, done.stderr[-2000:]


def _key(entry: Entry, **changes) -> str:
    arguments = {
        "recipe": entry.recipe,
        "dataset": "random8",
        "profile": "smoke",
        "seed": 0,
        "input_shape": (8, 8, 3),
        "num_classes": 3,
    } | changes
    recipe = arguments.pop("recipe")
    arguments["profile"] = PROFILES[arguments["profile"]]
    model = entry.build(input_shape=arguments["input_shape"], num_classes=arguments["num_classes"])
    return cache.digest(cache.key_inputs(model, recipe, **arguments))


def test_cache_key_changes_with_what_the_run_depends_on_and_nothing_else() -> None:
    entry = tiny_entry()
    base = _key(entry)
    # Building again gives auto-named layers ("dense_3" instead of "dense_1"): same key.
    first, second = entry.build((8, 8, 3), 3), entry.build((8, 8, 3), 3)
    assert [layer.name for layer in first.layers] != [layer.name for layer in second.layers]
    assert _key(entry) == base
    # Prose about the recipe does not change what is trained.
    assert _key(entry, recipe=replace(entry.recipe, notes={"lr": "a new note"})) == base
    changed = {
        "learning rate": _key(entry, recipe=replace(entry.recipe, learning_rate=0.01)),
        "batch size": _key(entry, recipe=replace(entry.recipe, batch_size=16)),
        "seed": _key(entry, seed=1),
        "profile": _key(entry, profile="quick"),
        "dataset": _key(entry, dataset="cifar10"),
        "classes": _key(entry, num_classes=4),
        "units": _key(tiny_entry(builder=lambda **kw: tiny_builder(**kw, units=9))),
        "activation": _key(tiny_entry(builder=lambda **kw: tiny_builder(**kw, activation="tanh"))),
    }
    assert len(set(changed.values()) | {base}) == len(changed) + 1, changed
    assert len(base) == 64 and int(base, 16) >= 0


def _state() -> cache.TrainState:
    return cache.TrainState(
        variant="tiny",
        key_inputs={"seed": 0},
        epochs_done=1,
        history=[{"epoch": 1, "wall_s": 0.5, "cumulative_s": 0.5, "loss": 1.1}],
        train_time_s=0.5,
        early_stopping={"val_loss": {"wait": 0, "best": 1.1}},
        stopped_by=None,
        optimizer_iterations=STEPS_PER_EPOCH,
        segments=[{"device": "CPU", "from_epoch": 0, "to_epoch": 1}],
    )


def test_train_state_and_finished_run_round_trip_through_json() -> None:
    state = _state()
    assert cache.TrainState.from_json(json.loads(json.dumps(state.to_json()))) == state
    run = cache.FinishedRun(state=state, test_accuracy=0.25, test_examples=TEST)
    payload = json.loads(json.dumps(run.to_json()))
    # result.json's layout (cache format 1): `epochs`, no early-stopping counters.
    assert payload["epochs"] == 1 and "epochs_done" not in payload
    assert "early_stopping" not in payload
    back = cache.FinishedRun.from_json(payload)
    assert (back.test_accuracy, back.test_examples) == (0.25, TEST)
    assert back.state == replace(state, early_stopping={})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("epochs_done", "1"),
        ("epochs_done", True),  # a bool is not an epoch count, although Python calls it an int
        ("train_time_s", None),
        ("history", {}),
        ("stopped_by", 3),
        ("key_inputs", []),
    ],
)
def test_train_state_of_the_wrong_type_is_corrupt(name: str, value: object) -> None:
    with pytest.raises(cache.CorruptEntryError, match=f"{name}=.* of the wrong type"):
        cache.TrainState.from_json({**_state().to_json(), name: value})


def test_finished_run_missing_a_field_is_corrupt() -> None:
    payload = cache.FinishedRun(state=_state(), test_accuracy=0.25, test_examples=TEST).to_json()
    del payload["epochs"]
    with pytest.raises(cache.CorruptEntryError, match="lacks epochs"):
        cache.FinishedRun.from_json(payload)
    with pytest.raises(cache.CorruptEntryError, match="JSON object"):
        cache.FinishedRun.from_json([payload])


def test_evaluate_is_the_fraction_of_correct_argmaxes() -> None:
    # An identity "classifier": the prediction is the argmax of the input features.
    inputs = keras.Input((3,))
    layer = keras.layers.Dense(3, use_bias=False)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.eye(3, dtype=np.float32)])
    x = np.array([[1, 0, 0], [0, 2, 1], [0, 0, 5], [3, 1, 0]], dtype=np.float32)
    y = np.array([0, 1, 2, 2])  # the last one is wrong: 3 of 4 correct
    assert fit.evaluate(model, x, y, batch_size=3) == 0.75


# --- training, cache, resume ----------------------------------------------------------------------


def test_finished_run_is_taken_from_the_cache(tmp_path: Path) -> None:
    entry, data = tiny_entry(), tiny_dataset()
    first = fit.train_variant(entry, data, profile=epochs_profile(2), cache_root=tmp_path, seed=0)
    assert not first.from_cache and first.epochs == 2 and first.resumed_from_epoch == 0
    assert [h["epoch"] for h in first.history] == [1, 2]
    walls = [h["wall_s"] for h in first.history]
    assert first.history[-1]["cumulative_s"] == pytest.approx(sum(walls))
    assert first.train_time_s == pytest.approx(sum(walls))
    assert first.test_examples == TEST
    assert sorted(p.name for p in first.cache_dir.iterdir()) == [
        "final.keras",
        "predictions.npy",
        "result.json",
    ]
    final_mtime_ns = (first.cache_dir / "final.keras").stat().st_mtime_ns

    lines = Lines()
    again = fit.train_variant(
        entry, data, profile=epochs_profile(2), cache_root=tmp_path, seed=0, progress=lines
    )
    assert again.from_cache and again.epochs == 2 and again.cache_dir == first.cache_dir
    assert lines.epoch_lines() == [], lines
    assert (first.cache_dir / "final.keras").stat().st_mtime_ns == final_mtime_ns
    assert again.history == first.history
    assert again.test_accuracy == first.test_accuracy
    for ours, cached in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, cached)
    # A different seed is another run.
    other = fit.train_variant(entry, data, profile=epochs_profile(2), cache_root=tmp_path, seed=1)
    assert not other.from_cache and other.cache_dir != first.cache_dir


def test_early_stopping_stops_after_patience_plus_one_epochs(tmp_path: Path) -> None:
    # Learning rate 0: epoch 1 sets the best values, nothing improves afterwards, so both
    # stoppings fire at the end of epoch 1 + patience (val_loss is listed first).
    frozen = Recipe(optimizer="adam", learning_rate=0.0, batch_size=BATCH, patience=2)
    lines = Lines()
    result = fit.train_variant(
        tiny_entry(frozen),
        tiny_dataset(),
        profile=epochs_profile(10),
        cache_root=tmp_path,
        seed=0,
        progress=lines,
    )
    assert result.epochs == 3
    assert result.stopped_by == "val_loss"
    assert len({h["val_loss"] for h in result.history}) == 1  # the premise: nothing changed
    assert "epoch 3/10" in lines.epoch_lines()[-1] and "stopped early" in lines.epoch_lines()[-1]
    # Numbers in the progress lines are rendered by bench.units, nowhere else.
    last = result.history[-1]
    assert (
        f"loss {units.number(last['loss'])}  acc {units.percent(last['accuracy'])}"
        in (lines.epoch_lines()[-1])
    )
    assert f"val_acc {units.percent(last['val_accuracy'])}" in lines.epoch_lines()[-1]
    assert f"test accuracy {units.percent(result.test_accuracy)}" in lines[-1]
    assert f"in {units.seconds(result.train_time_s)}" in lines[-1]
    # Without early stopping the same run goes to the epoch cap.
    unbounded = fit.train_variant(
        tiny_entry(replace(frozen, patience=None)),
        tiny_dataset(),
        profile=epochs_profile(4),
        cache_root=tmp_path,
        seed=0,
    )
    assert (unbounded.epochs, unbounded.stopped_by) == (4, None)


_KILLED_RUN = """
import os, signal, sys
from pathlib import Path
import test_training as t
from bench.training.fit import train_variant

def progress(line):
    if " epoch 2/" in line:  # epoch 2 is saved: die the hard way, no cleanup runs
        os.kill(os.getpid(), signal.SIGKILL)

train_variant(
    t.tiny_entry(t.FROZEN), t.tiny_dataset(), profile=t.epochs_profile(10),
    cache_root=Path(sys.argv[1]), seed=0, progress=progress,
)
"""
FROZEN = Recipe(optimizer="adam", learning_rate=0.0, batch_size=BATCH, patience=2)


def test_killed_run_resumes_after_its_last_saved_epoch(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
    }
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_RUN), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # the killed process held the entry's lock: its lock file stays beside the entry, unlocked
    (entry_dir,) = (p for p in tmp_path.iterdir() if not p.name.startswith("."))
    state = json.loads((entry_dir / "state.json").read_text())
    assert state["epochs_done"] == 2
    assert (entry_dir / "checkpoint-epoch0002.keras").is_file()
    assert not (entry_dir / "result.json").exists()
    # The killed run's early-stopping counters: best from epoch 1, one epoch without improvement.
    assert state["early_stopping"]["val_loss"]["wait"] == 1

    lines = Lines()
    resumed = fit.train_variant(
        tiny_entry(FROZEN),
        tiny_dataset(),
        profile=epochs_profile(10),
        cache_root=tmp_path,
        seed=0,
        progress=lines,
    )
    assert resumed.cache_dir == entry_dir  # the same key in another process
    assert resumed.resumed_from_epoch == 2
    assert "resuming after epoch 2" in lines[0]
    # Restored counters stop at epoch 3; reset counters would have run to epoch 5.
    assert resumed.epochs == 3 and resumed.stopped_by == "val_loss"
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history[:2] == state["history"]
    assert resumed.train_time_s == pytest.approx(sum(h["wall_s"] for h in resumed.history))
    # The optimizer state came back too: 3 epochs of 3 steps.
    assert int(resumed.model.optimizer.iterations) == 3 * STEPS_PER_EPOCH


def test_interrupted_run_keeps_its_epochs_and_a_corrupt_checkpoint_is_moved_aside(
    tmp_path: Path,
) -> None:
    class Interrupted(Exception):
        pass

    def stop_after_first_epoch(line: str) -> None:
        if " epoch 1/" in line:
            raise Interrupted

    with pytest.raises(Interrupted):
        fit.train_variant(
            tiny_entry(),
            tiny_dataset(),
            profile=epochs_profile(2),
            cache_root=tmp_path,
            seed=0,
            progress=stop_after_first_epoch,
        )
    (entry_dir,) = tmp_path.iterdir()
    checkpoint = entry_dir / "checkpoint-epoch0001.keras"
    truncated = checkpoint.read_bytes()[: checkpoint.stat().st_size // 2]
    checkpoint.write_bytes(truncated)

    lines = Lines()
    result = fit.train_variant(
        tiny_entry(),
        tiny_dataset(),
        profile=epochs_profile(2),
        cache_root=tmp_path,
        seed=0,
        progress=lines,
    )
    assert result.resumed_from_epoch == 0 and result.epochs == 2  # retrained from scratch
    warning = next(line for line in lines if "corrupt" in line)
    assert "checkpoint-epoch0001.keras" in warning and "moved it to" in warning
    (aside,) = tmp_path.glob("tiny-*.corrupt-*")
    assert (aside / "checkpoint-epoch0001.keras").read_bytes() == truncated  # kept as evidence


def test_corrupt_result_is_moved_aside_and_retrained(tmp_path: Path) -> None:
    first = fit.train_variant(
        tiny_entry(), tiny_dataset(), profile=epochs_profile(1), cache_root=tmp_path, seed=0
    )
    (first.cache_dir / "result.json").write_text("{not json", encoding="utf-8")
    lines = Lines()
    again = fit.train_variant(
        tiny_entry(),
        tiny_dataset(),
        profile=epochs_profile(1),
        cache_root=tmp_path,
        seed=0,
        progress=lines,
    )
    assert not again.from_cache and again.epochs == 1
    assert any("corrupt" in line and "result.json" in line for line in lines), lines
    (aside,) = tmp_path.glob("tiny-*.corrupt-*")
    assert (aside / "result.json").read_text(encoding="utf-8") == "{not json"
    assert json.loads((again.cache_dir / "result.json").read_text())["epochs"] == 1


class NanAfter(keras.layers.Layer):
    """Passes its input through for `calls` training calls, then outputs NaN."""

    def __init__(self, calls: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = calls

    def build(self, input_shape) -> None:
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, inputs, training=False):
        if training:
            self.count.assign_add(1.0)
        return keras.ops.where(self.count > self.calls, float("nan"), inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "calls": self.calls}


def nan_in_second_epoch(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    inputs = keras.Input(input_shape)
    x = NanAfter(STEPS_PER_EPOCH)(inputs)  # the first step of epoch 2 is the first NaN
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_nan_loss_is_one_sentence_and_the_nan_epoch_is_not_saved(tmp_path: Path) -> None:
    entry = tiny_entry(builder=nan_in_second_epoch)
    with pytest.raises(fit.TrainingError) as caught:
        fit.train_variant(
            entry, tiny_dataset(), profile=epochs_profile(3), cache_root=tmp_path, seed=0
        )
    message = str(caught.value)
    assert one_sentence(message), message
    assert "NaN at epoch 2 for tiny" in message and "learning rate" in message
    (entry_dir,) = tmp_path.iterdir()
    assert json.loads((entry_dir / "state.json").read_text())["epochs_done"] == 1
    assert sorted(p.name for p in entry_dir.glob("checkpoint-*")) == ["checkpoint-epoch0001.keras"]
    assert not (entry_dir / "result.json").exists()


class OutOfMemoryWhenTraining(keras.layers.Layer):
    """Raises the error TensorFlow raises when an allocation fails, as soon as fit traces it."""

    def call(self, inputs, training=False):
        if training:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return inputs


def out_of_memory(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    inputs = keras.Input(input_shape)
    x = keras.layers.GlobalAveragePooling2D()(OutOfMemoryWhenTraining()(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


def test_out_of_memory_names_the_batch_size(tmp_path: Path) -> None:
    with pytest.raises(fit.TrainingError) as caught:
        fit.train_variant(
            tiny_entry(builder=out_of_memory),
            tiny_dataset(),
            profile=epochs_profile(1),
            cache_root=tmp_path,
            seed=0,
        )
    message = str(caught.value)
    assert one_sentence(message), message
    assert "tiny ran out of memory training at batch size 32" in message


def test_profile_sizes_cut_a_bigger_dataset(tmp_path: Path) -> None:
    profile = Profile(
        name="cut",
        train_examples=64,
        validation_examples=16,
        test_examples=16,
        max_epochs=1,
        description="tests",
    )
    result = fit.train_variant(
        tiny_entry(), tiny_dataset(), profile=profile, cache_root=tmp_path, seed=0
    )
    assert result.test_examples == 16
    assert int(result.model.optimizer.iterations) == 2  # 64 images / batch 32, one epoch


# --- user weights ---------------------------------------------------------------------------------


def _saved(tmp_path: Path, model: keras.Model, name: str = "tiny.keras") -> Path:
    path = tmp_path / name
    model.save(path)
    return path


def test_load_user_model_accepts_the_registry_architecture(tmp_path: Path) -> None:
    theirs = tiny_builder((8, 8, 3), 3)
    rng = np.random.default_rng(0)
    theirs.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in theirs.weights])
    # Saved as a Sequential of the same layers: the class of the container does not matter.
    copy = keras.Sequential([keras.Input((8, 8, 3)), *theirs.layers[1:]], name="sequential_copy")
    path = _saved(tmp_path, copy)
    loaded = weights.load_user_model(path, tiny_entry(), input_shape=(8, 8, 3), num_classes=3)
    for expected, got in zip(theirs.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(expected, got)


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (lambda: tiny_builder((8, 8, 3), 3, units=16), "(4, 16)"),
        (lambda: tiny_builder((8, 8, 3), 3, activation="tanh"), "activation='tanh'"),
        (lambda: tiny_builder((8, 8, 1), 3), "(None, 8, 8, 1)"),
    ],
    ids=["width", "activation", "input"],
)
def test_load_user_model_names_the_first_difference(tmp_path: Path, builder, expected) -> None:
    path = _saved(tmp_path, builder())
    with pytest.raises(weights.WeightsError) as caught:
        weights.load_user_model(path, tiny_entry(), input_shape=(8, 8, 3), num_classes=3)
    message = str(caught.value)
    assert one_sentence(message), message
    assert "not tiny's architecture" in message and expected in message


def test_load_user_model_refuses_missing_garbage_and_unsafe_files(tmp_path: Path) -> None:
    def refuse(path: Path) -> str:
        with pytest.raises(weights.WeightsError) as caught:
            weights.load_user_model(path, tiny_entry(), input_shape=(8, 8, 3), num_classes=3)
        assert one_sentence(str(caught.value)), str(caught.value)
        return str(caught.value)

    assert "does not exist" in refuse(tmp_path / "absent.keras")
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"\x00not a zip archive" * 10)
    assert "not a Keras 3 .keras archive" in refuse(garbage)
    inputs = keras.Input((8, 8, 3))
    unsafe = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    assert "safe mode" in refuse(_saved(tmp_path, unsafe, "lambda.keras"))


def test_precise_bn_sets_the_moving_statistics_from_the_images():
    # BN right on the input: its moving mean must become the images' mean per channel (two
    # batches of equal size: the mean of the batch means) and its moving variance the mean of
    # the two batches' variances, computed here with NumPy.
    from bench.training import precise_bn

    inputs = keras.Input(shape=(4, 4, 3))
    x = keras.layers.BatchNormalization(momentum=0.99, name="bn")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    rng = np.random.default_rng(0)
    images = rng.normal(loc=[1.0, -2.0, 5.0], scale=[0.5, 2.0, 1.0], size=(512, 4, 4, 3))
    images = images.astype(np.float32)
    assert precise_bn.reestimate(model, images, batch_size=256) == 1
    layer = model.get_layer("bn")
    np.testing.assert_allclose(layer.moving_mean.numpy(), images.mean(axis=(0, 1, 2)), atol=1e-4)
    halves = [images[:256].var(axis=(0, 1, 2)), images[256:].var(axis=(0, 1, 2))]
    np.testing.assert_allclose(layer.moving_variance.numpy(), np.mean(halves, axis=0), rtol=1e-3)
    assert layer.momentum == 0.99  # restored
    assert precise_bn.reestimate(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]),
                                 images[:, 0, 0, :2]) == 0  # fmt: skip
