"""A user's own images: `--dataset FOLDER` (bench/training/images.py) and the dataset registry.

Every folder here is written by the test (PNG files made with Pillow), so the expected classes,
channels, sizes and counts are known from how it was written, not from the code under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.training import datasets
from bench.training.datasets import DatasetError, dataset_shape, load_dataset

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("circle", "cross", "square")  # written in this order on purpose: sorted already


def _image(label: int, size: tuple[int, int], channels: int, rng: np.random.Generator) -> Image:
    """A noisy picture whose class shows (a block, a cross, a bar), so a CNN can learn it."""
    height, width = size
    pixels = rng.integers(0, 40, (height, width)).astype(np.uint8)
    h, w = height // 4, width // 4
    if label == 0:
        pixels[h : 3 * h, w : 3 * w] += 200
    elif label == 1:
        pixels[height // 2 - 2 : height // 2 + 2, :] += 200
        pixels[:, width // 2 - 2 : width // 2 + 2] += 200
    else:
        pixels[:, w : w + 3] += 200
    image = Image.fromarray(pixels, "L")
    return image if channels == 1 else image.convert("RGB")


def write_folder(
    root: Path,
    *,
    per_class: dict[str, int] | None = None,
    size: tuple[int, int] = (48, 48),
    channels: int = 1,
    classes: tuple[str, ...] = CLASSES,
) -> Path:
    """train/ and test/ (and val/ when `per_class` names it) of PNG files."""
    rng = np.random.default_rng(0)
    for split, count in (per_class or {"train": 20, "test": 5}).items():
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                _image(label, size, channels, rng).save(folder / f"{i:03d}.png")
    return root


def assert_one_sentence(message: str, *fragments: str) -> None:
    assert "\n" not in message and message.endswith(".")
    for fragment in fragments:
        assert fragment in message, message


# --- a good folder ------------------------------------------------------------------------------


def test_classes_channels_size_and_splits_come_from_the_folder(tmp_path):
    root = write_folder(tmp_path / "shapes")
    assert dataset_shape(str(root)) == ((48, 48, 1), 3)
    data = load_dataset(str(root), validation_examples=5_000)
    assert data.class_names == CLASSES and data.num_classes == 3
    assert data.input_shape == (48, 48, 1) and data.x_train.shape[1:] == (48, 48, 1)
    # no val/: a tenth of the 60 training images (the recipe's 5,000 capped), class-stratified
    assert data.sizes == {"train": 54, "val": 6, "test": 15}
    assert sorted(np.bincount(data.y_val)) == [2, 2, 2]
    assert data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() < data.x_train.max() <= 1
    assert data.name == "shapes" and data.fingerprint


def test_a_val_folder_is_used_and_profile_counts_are_caps(tmp_path):
    root = write_folder(tmp_path / "d", per_class={"train": 10, "val": 4, "test": 6})
    data = load_dataset(str(root), train_examples=256, validation_examples=128, test_examples=9)
    assert data.sizes == {"train": 30, "val": 12, "test": 9}
    assert sorted(np.bincount(data.y_test)) == [3, 3, 3]


def test_colour_images_have_three_channels_and_image_size_resizes(tmp_path):
    root = write_folder(tmp_path / "rgb", channels=3, size=(20, 30))
    assert dataset_shape(str(root)) == ((20, 30, 3), 3)
    data = load_dataset(str(root), image_size=(16, 16))
    assert data.input_shape == (16, 16, 3) and data.x_test.shape[1:] == (16, 16, 3)
    assert dataset_shape(str(root), image_size=(16, 16)) == ((16, 16, 3), 3)


def test_images_of_different_sizes_need_image_size(tmp_path):
    root = write_folder(tmp_path / "d")
    _image(0, (40, 44), 1, np.random.default_rng(1)).save(root / "test" / "circle" / "odd.png")
    with pytest.raises(DatasetError) as info:
        dataset_shape(str(root))
    assert_one_sentence(str(info.value), "odd.png", "40x44", "--image-size")
    assert load_dataset(str(root), image_size=(48, 48)).input_shape == (48, 48, 1)


def test_the_fingerprint_follows_the_contents(tmp_path):
    root = write_folder(tmp_path / "d")
    before = load_dataset(str(root)).fingerprint
    assert load_dataset(str(root)).fingerprint == before
    _image(2, (48, 48), 1, np.random.default_rng(2)).save(root / "train" / "square" / "new.png")
    assert load_dataset(str(root)).fingerprint != before


# --- bad folders: one sentence each -------------------------------------------------------------


def _no_train(root: Path) -> None:
    (root / "test").mkdir(parents=True)


def _no_classes(root: Path) -> None:
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()


def _one_class(root: Path) -> None:
    write_folder(root, classes=("only",))


def _empty_class(root: Path) -> None:
    write_folder(root)
    (root / "train" / "empty").mkdir()


def _no_test(root: Path) -> None:
    write_folder(root, per_class={"train": 3})


def _unknown_test_class(root: Path) -> None:
    write_folder(root)
    write_folder(root, per_class={"test": 1}, classes=("dog",))


def _unreadable(root: Path) -> None:
    write_folder(root)
    (root / "train" / "cross" / "broken.png").write_bytes(b"not a png at all")


def _mixed_channels(root: Path) -> None:
    write_folder(root)
    _image(1, (48, 48), 3, np.random.default_rng(3)).save(root / "test" / "cross" / "rgb.png")


BAD_FOLDERS = {
    "no_train": (_no_train, ["has no train/ folder"]),
    "no_classes": (_no_classes, ["has no class folders"]),
    "one_class": (_one_class, ["one class folder (only)", "at least two"]),
    "empty_class": (_empty_class, ["empty holds no images"]),
    "no_test": (_no_test, ["has no test/ folder"]),
    "unknown_test_class": (_unknown_test_class, ["dog is a class that train/ does not have"]),
    "unreadable": (_unreadable, ["broken.png cannot be read as an image"]),
    "mixed_channels": (_mixed_channels, ["mixes greyscale and colour", "rgb.png"]),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_a_bad_folder_is_one_sentence(tmp_path, case):
    make, fragments = BAD_FOLDERS[case]
    root = tmp_path / "d"
    make(root)
    for call in (lambda: dataset_shape(str(root)), lambda: load_dataset(str(root))):
        with pytest.raises(DatasetError) as info:
            call()
        assert_one_sentence(str(info.value), *fragments)


def test_a_missing_folder_and_an_unknown_name_are_one_sentence(tmp_path):
    with pytest.raises(DatasetError) as info:
        load_dataset(str(tmp_path / "nowhere"))
    assert_one_sentence(str(info.value), "nowhere is not a folder")
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist")
    assert_one_sentence(str(info.value), "'mnist'", "cifar10", "a folder")
    with pytest.raises(DatasetError) as info:
        load_dataset(str(write_folder(tmp_path / "d")), data_dir=tmp_path)
    assert_one_sentence(str(info.value), "drop --data-dir")


# --- the registry ---------------------------------------------------------------------------------


def test_a_plugin_can_register_a_dataset(tmp_path):
    root = write_folder(tmp_path / "d")

    def load(**kwargs):
        kwargs.pop("data_dir"), kwargs.pop("allow_download")
        return load_dataset(str(root), **kwargs)

    source = datasets.DatasetSource("my_shapes", (48, 48, 1), 3, load, CLASSES)
    datasets.register_dataset(source)
    try:
        assert dataset_shape("my_shapes") == ((48, 48, 1), 3)
        assert load_dataset("my_shapes").class_names == CLASSES
        assert load_dataset("my_shapes", image_size=(24, 24)).x_train.shape[1:] == (24, 24, 1)
        with pytest.raises(DatasetError, match="already registered"):
            datasets.register_dataset(source)
    finally:
        del datasets.SOURCES["my_shapes"]


# --- end to end: python -m bench run on a folder -----------------------------------------------


def _bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_run_on_a_folder_trains_at_its_size_and_the_report_says_so(tmp_path):
    root = write_folder(tmp_path / "shapes")
    out = tmp_path / "results"
    proc = _bench(
        "run",
        "--dataset",
        str(root),
        "--accuracy",
        "train",
        "--profile",
        "smoke",
        "--variants",
        "v01,v02",
        "--out",
        str(out),
        "--model-cache",
        str(tmp_path / "models"),
        "--latency-budget",
        "0.2",
        "--throughput-batch",
        "8",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "benchmark.json").read_text())
    assert doc["run"]["input_shape"] == [48, 48, 1] and doc["run"]["num_classes"] == 3
    assert doc["run"]["class_names"] == list(CLASSES)
    for vid in ("v01", "v02"):
        record = doc["variants"][vid]
        assert record["errors"] == [] and record["input_shape"] == [48, 48, 1]
        assert record["accuracy_source"] == "measured" and record["accuracy"] is not None
        assert record["test_examples"] == 15  # every test image: smoke's 256 is a cap
    report = (out / "report" / "report.md").read_text()
    assert "48x48x1 images, 3 classes" in report
    terminal = " ".join(proc.stdout.split())  # the provenance line is wrapped to the width
    assert "48x48x1 images, 3 classes" in terminal


@pytest.mark.slow
def test_run_on_a_bad_folder_stops_in_one_sentence(tmp_path):
    root = tmp_path / "d"
    _one_class(root)
    proc = _bench(
        "run",
        "--dataset",
        str(root),
        "--accuracy",
        "train",
        "--variants",
        "v01",
        "--out",
        str(tmp_path / "results"),
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert (
        "has one class folder (only); a classifier needs at least two." in proc.stdout + proc.stderr
    )
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_model_too_deep_for_the_image_size_is_one_sentence_and_the_others_run(tmp_path):
    # v10 pools its maps away before its classifier at 4x4 (three 2x2 poolings: 4, 2, 1, then
    # none left); ResNet-20 (two stride-2 stages, then global pooling) still trains, is timed
    # and reported.
    root = write_folder(tmp_path / "shapes")
    out = tmp_path / "results"
    proc = _bench(
        "run",
        "--dataset",
        str(root),
        "--image-size",
        "4x4",
        "--accuracy",
        "train",
        "--profile",
        "smoke",
        "--variants",
        "resnet20,v10",
        "--out",
        str(out),
        "--model-cache",
        str(tmp_path / "models"),
        "--latency-budget",
        "0.2",
        "--throughput-batch",
        "8",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "benchmark.json").read_text())
    assert doc["run"]["input_shape"] == [4, 4, 1]
    v10 = doc["variants"]["v10"]
    assert v10["errors"][0].startswith("v10 cannot be built for 4x4x1 images: ")
    assert "\n" not in v10["errors"][0] and v10["macs"] is None
    resnet = doc["variants"]["resnet20"]
    assert resnet["errors"] == [] and resnet["accuracy_source"] == "measured"
    assert resnet["input_shape"] == [4, 4, 1] and resnet["latency_median_s"] > 0
    assert "Traceback" not in proc.stdout + proc.stderr
