"""Image sizes given on the command line, and folders of a user's own images.

`parse_image_size` reads `--image-size`: "HxW" (e.g. "96x128") or one number for a square
("224"). Every failure is an `ImageSizeError` in one sentence.

A folder dataset is laid out as `keras.utils.image_dataset_from_directory` reads it:
`train/<class>/*.png|jpg|jpeg|bmp|gif`, an optional `val/` and a `test/` with the same class
folders. Claims, each checked in `tests/test_image_folders.py`:

- The classes are the class folders of `train/`, sorted by name (Keras' order); the channels
  come from the images: 1 when every image is greyscale, 3 when every one is colour (palette
  and alpha images are read as RGB). The size is the images' own when they all agree, else
  `--image-size` must say it; with it every image is resized (bilinear, as Keras does).
- Every fault a user can make is a `DatasetError` in one sentence naming the folder or file: no
  `train/`, no class folders, one class, a class folder without images, no `test/`, a class
  in `val/` or `test/` that `train/` lacks, an unreadable file, greyscale mixed with colour,
  images of different sizes without `--image-size`.
- Splits: `val/` when there is one, else a class-stratified tenth of `train/` at most (the
  profile's or recipe's validation count, capped: a recipe's 5,000 would empty a small folder);
  a profile's train and test counts are caps too, drawn class-stratified.
- The contents (each file's path, size and modification time) and the image size are hashed
  into `Dataset.fingerprint`, part of the trained-model cache key: an edited folder retrains.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.training.splits import Dataset, DatasetError, stratified_sample

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$")


class ImageSizeError(ValueError):
    """An `--image-size` that is not "HxW" with two positive whole numbers."""


def parse_image_size(text: str) -> tuple[int, int]:
    """(height, width) of "HxW", or of "N" for a square N x N.

    Raises:
        ImageSizeError: the text is not of that form or a side is 0.
    """
    match = _SIZE.match(str(text))
    if match is None:
        raise ImageSizeError(
            f"--image-size {text!r} is not a size; give HEIGHTxWIDTH in pixels, e.g. 224x224 "
            "(or 224 for a square)."
        )
    height = int(match.group(1))
    width = int(match.group(2) or height)
    if height < 1 or width < 1:
        raise ImageSizeError(
            f"--image-size {text!r} has a side of 0 pixels; give sides of 1 or more."
        )
    return height, width


# keras.utils.image_dataset_from_directory's ALLOWLIST_FORMATS
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
SPLITS = ("train", "val", "test")
VALIDATION_SHARE = 0.1  # of train/, at most, when there is no val/ folder
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})  # PIL modes read as one channel
_LAYOUT = (
    "train/<class>/*.png (optional val/, and test/), as keras.utils.image_dataset_from_directory "
    "reads"
)


def folder_of(name: str, *, known: tuple[str, ...], data_dir: Any = None) -> Path:
    """The folder `--dataset name` points at.

    Raises:
        DatasetError: `name` is neither a registered dataset nor an existing folder, or
            `--data-dir` was given too.
    """
    folder = Path(name).expanduser()
    if not folder.is_dir():
        if folder.exists() or os.sep in name or name.startswith("."):
            raise DatasetError(
                f"--dataset {name} is not a folder; give a folder laid out as {_LAYOUT}."
            )
        raise DatasetError(
            f"Unknown dataset {name!r}; choose one of {', '.join(known)}, or give the path of "
            f"a folder laid out as {_LAYOUT}."
        )
    if data_dir is not None:
        raise DatasetError(f"--dataset {name} is a folder of images itself; drop --data-dir.")
    return folder


@dataclass(frozen=True)
class FolderIndex:
    """What a dataset folder holds, read from the image headers only.

    Attributes:
        root: the folder.
        class_names: the class folders of `train/`, sorted.
        files: per split ("train", "val", "test"; "val" may be empty), (path, label) pairs.
        sizes: (height, width) of each file, in the order of `files`.
        channels: 1 or 3.
    """

    root: Path
    class_names: tuple[str, ...]
    files: dict[str, list[tuple[Path, int]]]
    sizes: dict[Path, tuple[int, int]]
    channels: int

    def input_shape(self, image_size: tuple[int, int] | None) -> tuple[int, int, int]:
        """(height, width, channels) of the images as loaded.

        Raises:
            DatasetError: the images differ in size and `image_size` is None.
        """
        if image_size is not None:
            return (image_size[0], image_size[1], self.channels)
        seen: dict[tuple[int, int], Path] = {}
        for path, size in self.sizes.items():
            seen.setdefault(size, path)
        if len(seen) > 1:
            (a, size_a), (b, size_b) = [(p, s) for s, p in seen.items()][:2]
            raise DatasetError(
                f"the images in {self.root} are not all one size ({a} is {size_a[0]}x{size_a[1]}, "
                f"{b} is {size_b[0]}x{size_b[1]}); pass --image-size HxW to resize them all."
            )
        ((height, width),) = seen
        return (height, width, self.channels)

    def fingerprint(self, image_size: tuple[int, int] | None) -> str:
        """sha256 of every file's path, byte size and modification time, and the image size."""
        digest = hashlib.sha256(repr(image_size).encode())
        for split in SPLITS:
            for path, label in self.files[split]:
                stat = path.stat()
                digest.update(
                    f"{path.relative_to(self.root)}|{label}|{stat.st_size}|"
                    f"{stat.st_mtime_ns}\n".encode()
                )
        return digest.hexdigest()


def _class_folders(split: Path) -> list[Path]:
    return sorted((p for p in split.iterdir() if p.is_dir()), key=lambda p: p.name)


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )


def _train_classes(root: Path) -> tuple[str, ...]:
    train = root / "train"
    if not train.is_dir():
        raise DatasetError(f"{root} has no train/ folder; lay it out as {_LAYOUT}.")
    classes = tuple(p.name for p in _class_folders(train))
    if not classes:
        raise DatasetError(
            f"{train} has no class folders; put each class's images in train/<class name>/."
        )
    if len(classes) == 1:
        raise DatasetError(
            f"{train} has one class folder ({classes[0]}); a classifier needs at least two."
        )
    if not (root / "test").is_dir():
        raise DatasetError(
            f"{root} has no test/ folder; accuracy is measured on held-out images: put them in "
            "test/<class>/ with the class names of train/."
        )
    return classes


def _split_files(root: Path, split: str, classes: tuple[str, ...]) -> list[tuple[Path, int]]:
    folder = root / split
    if not folder.is_dir():
        return []
    files: list[tuple[Path, int]] = []
    for class_folder in _class_folders(folder):
        if class_folder.name not in classes:
            raise DatasetError(
                f"{class_folder} is a class that train/ does not have; use the class names of "
                f"train/ ({', '.join(classes)})."
            )
        images = _images_in(class_folder)
        if not images and split == "train":
            raise DatasetError(
                f"{class_folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}); add some or "
                "remove the folder."
            )
        files += [(path, classes.index(class_folder.name)) for path in images]
    if not files and split != "val":
        raise DatasetError(f"{folder} holds no images; lay it out as {_LAYOUT}.")
    return files


def _header(path: Path) -> tuple[tuple[int, int], int]:
    """((height, width), channels) of one image file, from its header."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            mode = image.mode
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DatasetError(
            f"{path} cannot be read as an image ({type(exc).__name__}); remove or replace it."
        ) from exc
    return (height, width), 1 if mode in _GREY_MODES else 3


def scan_folder(root: Path) -> FolderIndex:
    """Index a dataset folder (module docstring), reading only the image headers.

    Raises:
        DatasetError: the folder is not a usable dataset; the message says why and what to do.
    """
    classes = _train_classes(root)
    files = {split: _split_files(root, split, classes) for split in SPLITS}
    sizes: dict[Path, tuple[int, int]] = {}
    channels: dict[int, Path] = {}
    for split in SPLITS:
        for path, _ in files[split]:
            sizes[path], kind = _header(path)
            channels.setdefault(kind, path)
    if len(channels) > 1:
        raise DatasetError(
            f"{root} mixes greyscale and colour images ({channels[1]} has 1 channel, "
            f"{channels[3]} has 3); convert them all to one kind."
        )
    return FolderIndex(root, classes, files, sizes, next(iter(channels)))


def _decode(path: Path, channels: int, image_size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image_size is not None and image.size != (image_size[1], image_size[0]):
                image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(
            f"{path} cannot be decoded as an image ({type(exc).__name__}); remove or replace it."
        ) from exc
    return pixels.reshape(*pixels.shape[:2], channels)


def _read(
    files: list[tuple[Path, int]], channels: int, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """float32 pixels in [0, 1] and int64 labels of `files`."""
    if not files:
        shape = (0, *(image_size or (1, 1)), channels)
        return np.zeros(shape, np.float32), np.zeros(0, np.int64)
    pixels = np.stack([_decode(path, channels, image_size) for path, _ in files])
    labels = np.array([label for _, label in files], dtype=np.int64)
    return pixels.astype(np.float32) / np.float32(255.0), labels


def _capped(
    files: list[tuple[Path, int]], limit: int | None, rng: np.random.Generator
) -> list[tuple[Path, int]]:
    """At most `limit` of `files`, class-stratified (all of them when `limit` is None)."""
    if limit is None or limit >= len(files):
        return files
    labels = np.array([label for _, label in files])
    return [files[i] for i in stratified_sample(labels, max(0, limit), rng)]


def load_folder(
    root: Path,
    *,
    image_size: tuple[int, int] | None = None,
    seed: int = 0,
    validation_examples: int | None = None,
    train_examples: int | None = None,
    test_examples: int | None = None,
) -> Dataset:
    """Read a dataset folder into a `Dataset` (module docstring: layout, splits, caps).

    Raises:
        DatasetError: the folder is not a usable dataset.
    """
    index = scan_folder(root)
    height, width, channels = index.input_shape(image_size)
    size = None if all(s == (height, width) for s in index.sizes.values()) else (height, width)
    rng_val, rng_train, rng_test = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    train, val = index.files["train"], index.files["val"]
    if not val:
        share = int(VALIDATION_SHARE * len(train))
        count = share if validation_examples is None else min(validation_examples, share)
        val = _capped(train, count, rng_val) if count else []
        taken = {path for path, _ in val}
        train = [item for item in train if item[0] not in taken]
    else:
        val = _capped(val, validation_examples, rng_val)
    train = _capped(train, train_examples, rng_train)
    test = _capped(index.files["test"], test_examples, rng_test)
    return Dataset(
        root.name,
        *_read(train, channels, size),
        *_read(val, channels, size),
        *_read(test, channels, size),
        num_classes=len(index.class_names),
        input_shape=(height, width, channels),
        source=str(root.resolve()),
        class_names=index.class_names,
        fingerprint=index.fingerprint(image_size),
    )


def resized(dataset: Dataset, image_size: tuple[int, int]) -> Dataset:
    """`dataset` with every image resized to `image_size` (bilinear, as Keras resizes)."""
    import tensorflow as tf

    def resize(images: np.ndarray) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, *image_size, images.shape[-1]), np.float32)
        out = [
            tf.image.resize(images[i : i + 1024], image_size).numpy()
            for i in range(0, len(images), 1024)
        ]
        return np.concatenate(out).astype(np.float32)

    return Dataset(
        dataset.name,
        resize(dataset.x_train),
        dataset.y_train,
        resize(dataset.x_val),
        dataset.y_val,
        resize(dataset.x_test),
        dataset.y_test,
        num_classes=dataset.num_classes,
        input_shape=(*image_size, dataset.input_shape[-1]),
        source=dataset.source,
        class_names=dataset.class_names,
        fingerprint=dataset.fingerprint,
    )
