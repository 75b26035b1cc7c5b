"""Write Fashion-MNIST out as a folder of PNG files, the layout `--dataset FOLDER` reads.

Claim: the folder holds every image of Fashion-MNIST once, unchanged (28x28, one grey channel,
PNG is lossless), as `train/<class>/<index>.png` (60,000) and `test/<class>/<index>.png`
(10,000), the class folders named after the dataset's labels in label order ("0_T-shirt_top",
"1_Trouser", ...: prefixed so that sorting them, as Keras and the harness do, keeps label
order). Checked by reading it back: `python -m experiments.image_folder OUT --check` compares
every decoded PNG with the IDX arrays and exits 1 on the first difference.

It is how docs/results/image-folder was made: a user's folder of real images, at its own size.

Run (about a minute on 2 cores; reads the Debian package `dataset-fashion-mnist` or `--data-dir`):
    python -m experiments.image_folder /tmp/fashion-png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bench.training.datasets import (
    DEBIAN_FASHION_MNIST_DIR,
    FASHION_MNIST_CLASS_NAMES,
    read_fashion_mnist,
)


def class_folder(label: int) -> str:
    """'0_T-shirt_top' for label 0: the label first, so that sorted names keep label order."""
    return f"{label}_{FASHION_MNIST_CLASS_NAMES[label].replace('/', '_')}"


def _splits(data_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    raw = read_fashion_mnist(data_dir)
    return {"train": (raw.x_train, raw.y_train), "test": (raw.x_test, raw.y_test)}


def write(out: Path, data_dir: Path) -> int:
    """Write every image; returns how many."""
    count = 0
    for split, (images, labels) in _splits(data_dir).items():
        for label in range(len(FASHION_MNIST_CLASS_NAMES)):
            (out / split / class_folder(label)).mkdir(parents=True, exist_ok=True)
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            path = out / split / class_folder(int(label)) / f"{index:05d}.png"
            Image.fromarray(image.reshape(28, 28), "L").save(path)
            count += 1
    return count


def check(out: Path, data_dir: Path) -> int:
    """Compare every PNG with its IDX image; the number of images that differ or are missing."""
    wrong = 0
    for split, (images, labels) in _splits(data_dir).items():
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            path = out / split / class_folder(int(label)) / f"{index:05d}.png"
            if not path.is_file() or not np.array_equal(
                np.asarray(Image.open(path)), image.reshape(28, 28)
            ):
                wrong += 1
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.image_folder")
    parser.add_argument("out", type=Path, help="the folder to write")
    parser.add_argument("--data-dir", type=Path, default=DEBIAN_FASHION_MNIST_DIR)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        wrong = check(args.out, args.data_dir)
        print(f"{wrong} images differ or are missing")
        return 1 if wrong else 0
    print(f"wrote {write(args.out, args.data_dir)} PNG files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
