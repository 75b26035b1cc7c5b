"""Datasets for the harness, read the way Keras users get them, and never a hang offline.

Claims, each checked in `tests/test_datasets.py`:

- `load_dataset` returns float32 NHWC pixels in [0, 1] and int64 labels of shape (N,), for CIFAR-10
  (the report's task), Fashion-MNIST (28x28 grey, padded with a 2-pixel zero border to 32x32 and
  repeated to 3 channels, so every variant runs unchanged) and a learnable synthetic set built
  in code (for fast tests and smoke runs).
- CIFAR-10 is read from the original pickles (`cifar-10-batches-py/data_batch_1..5`, `test_batch`;
  dict with b"data", uint8 N x 3072 channel-first, and b"labels"), from a folder, the tarball, or
  the Keras cache, before any download. Fashion-MNIST is read from IDX files (`--data-dir`, then
  Debian's `dataset-fashion-mnist` package, then the Keras cache).
- A download is the last resort, bounded by a socket timeout and a DNS deadline, and disabled by
  `allow_download=False` or `BENCH_OFFLINE=1`. Every failure a user can cause (no copy offline,
  a corrupt or truncated file, an unknown name, impossible sizes) is a `DatasetError` in one
  sentence naming the file or folder and what to do. Measured on the offline dev box: a download
  attempt fails in about 0.03 s (DNS answers "unknown host" at once), after the first
  `import keras` (about 3 s). The CIFAR-10 pickles are read with an unpickler that refuses every
  global except NumPy's array constructors, so a file passed with `--data-dir` cannot run code.
- Datasets are a registry (`SOURCES`, `register_dataset`): the three built-in names, whatever a
  plugin adds, and, for any other `--dataset` value, a folder of the user's images
  (`bench.training.images`, checked in `tests/test_image_folders.py`). `dataset_shape` tells
  the input shape and class count before any image is decoded; `image_size` resizes any of
  them (bilinear).
- Splits are deterministic from `seed` and class-stratified: the validation set is taken from the
  training images (as the report does with `x_val_scaled`), then optional train/test subsets for
  quick profiles. The validation size is not in the report: 5,000 is OUR ASSUMPTION (10 % of the
  50,000 training images, a common choice), recorded in `Recipe.validation_examples`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import math
import os
import pickle
import socket
import tarfile
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

try:  # NumPy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct, scalar

from bench.training.splits import Dataset, DatasetError, stratified_sample

DATASETS = ("cifar10", "fashion_mnist", "synthetic")  # the built-in names (`SOURCES` has all)

CIFAR10_CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)  # batches.meta of the original archive, same order as the labels
FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)  # github.com/zalandoresearch/fashion-mnist README, "Labels"

DEFAULT_VALIDATION_EXAMPLES = 5000  # ASSUMPTION: the report does not say how large x_val was
SYNTHETIC_DEFAULT_SIZES = (2000, 500, 500)  # train, validation, test: small, so tests are fast

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian dataset-fashion-mnist
DOWNLOAD_SOCKET_TIMEOUT_S = 10.0  # longest stall of any one socket operation while downloading
DNS_DEADLINE_S = 10.0  # getaddrinfo ignores socket timeouts, so it gets its own deadline
OFFLINE_ENV = "BENCH_OFFLINE"

_CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_FILES = (*_CIFAR_TRAIN_FILES, "test_batch")
_CIFAR_DIR = "cifar-10-batches-py"
# Where a CIFAR-10 copy may sit inside a folder, in the order we look (Keras >= 3.6 caches the
# tarball as `cifar-10-batches-py-target_archive` and extracts it into `...-target/`; Keras <= 3.5
# used `cifar-10-batches-py.tar.gz` and `cifar-10-batches-py/`).
_CIFAR_FOLDERS = (".", _CIFAR_DIR, f"cifar-10-batches-py-target/{_CIFAR_DIR}")
_CIFAR_TARBALLS = (
    "cifar-10-python.tar.gz",
    "cifar-10-batches-py-target_archive",
    "cifar-10-batches-py.tar.gz",
)
_CIFAR_URL_HOST = "www.cs.toronto.edu"  # keras/src/datasets/cifar10.py downloads from here
_FASHION_URL_HOST = "storage.googleapis.com"  # keras/src/datasets/fashion_mnist.py
_FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_MAGIC = {1: 2049, 3: 2051}  # unsigned-byte IDX magic numbers by rank (labels, images)


@dataclass(frozen=True, eq=False)
class RawDataset:
    """Images and labels as stored on disk (uint8 pixels, int64 labels), before any split."""

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str


_Labelled = tuple[np.ndarray, np.ndarray]  # images and their labels


def _dataset(
    name: str,
    *,
    train: _Labelled,
    val: _Labelled,
    test: _Labelled,
    source: str,
    class_names: tuple[str, ...],
) -> Dataset:
    """A Dataset of three (images, labels) splits; one class per name, shape from the images."""
    return Dataset(
        name,
        *train,  # x_train, y_train, x_val, ...: the order of Dataset's fields
        *val,
        *test,
        num_classes=len(class_names),
        input_shape=tuple(int(d) for d in train[0].shape[1:]),
        source=source,
        class_names=class_names,
    )


# --- where things are ---------------------------------------------------------------------------


def keras_home() -> Path:
    """The folder Keras keeps its cache in: `$KERAS_HOME`, else `~/.keras` (`/tmp/.keras` if the
    home folder is not writable), the rule in `keras/src/backend/config.py`."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def keras_dataset_dirs() -> list[Path]:
    """Folders where `keras.utils.get_file` stores datasets, in the order it would use them."""
    base = keras_home()
    dirs = [base / "datasets"]
    if not os.access(base, os.W_OK):  # get_file falls back to /tmp/.keras when it cannot write
        dirs.append(Path("/tmp/.keras/datasets"))
    return dirs


def offline() -> bool:
    """True when `BENCH_OFFLINE` is set to anything but "", "0" or "false"."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in {"", "0", "false"}


def _reason(exc: BaseException) -> str:
    """An exception as a short one-line phrase, for embedding in a DatasetError sentence."""
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- CIFAR-10 -----------------------------------------------------------------------------------


_PICKLE_GLOBALS: Mapping[tuple[str, str], Any] = MappingProxyType(
    {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # pickles from NumPy 1.x
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # pickles from NumPy 2.x
        ("numpy.core.multiarray", "scalar"): scalar,  # NumPy scalars, e.g. re-pickled labels
        ("numpy._core.multiarray", "scalar"): scalar,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles from Python 3 store bytes
    }
)


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batches, refusing every global but the few NumPy arrays need, so
    that a file passed with `--data-dir` cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def _parse_cifar_batch(payload: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one batch pickle into uint8 NHWC images and int64 labels."""
    try:
        batch = _CifarUnpickler(io.BytesIO(payload), encoding="bytes").load()
    except Exception as exc:  # a corrupt pickle can raise almost anything; report which file
        raise DatasetError(
            f"{where} is not a readable CIFAR-10 batch ({_reason(exc)}); "
            "replace it with a fresh copy of cifar-10-python.tar.gz."
        ) from exc
    if isinstance(batch, dict):
        batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise DatasetError(
            f"{where} is not a CIFAR-10 batch (expected a dict with b'data' and b'labels'); "
            "replace it with a fresh copy of cifar-10-python.tar.gz."
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if (
        data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3 * 32 * 32
        or labels.shape != (data.shape[0],)
        or labels.dtype.kind not in "iu"
        or (labels.size and (labels.min() < 0 or labels.max() >= 10))
    ):
        raise DatasetError(
            f"{where} has the wrong sizes for a CIFAR-10 batch (data {data.dtype} "
            f"{data.shape}, labels {labels.dtype} {labels.shape}; expected uint8 (N, 3072) and "
            "N labels in 0..9); replace it with a fresh copy of cifar-10-python.tar.gz."
        )
    # Each row is 1024 red, 1024 green, 1024 blue values, each plane row-major: channel-first.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _assemble_cifar(parts: Mapping[str, tuple[np.ndarray, np.ndarray]], source: str) -> RawDataset:
    x_train = np.concatenate([parts[name][0] for name in _CIFAR_TRAIN_FILES])
    y_train = np.concatenate([parts[name][1] for name in _CIFAR_TRAIN_FILES])
    x_test, y_test = parts["test_batch"]
    return RawDataset(x_train, y_train, x_test, y_test, source=source)


def _read_cifar_folder(folder: Path) -> RawDataset:
    missing = [name for name in _CIFAR_FILES if not (folder / name).is_file()]
    if missing:
        raise DatasetError(
            f"{folder} holds an incomplete CIFAR-10 copy (missing {', '.join(missing)}); "
            "extract cifar-10-python.tar.gz again or pass the tarball with --data-dir."
        )
    parts = {
        name: _parse_cifar_batch((folder / name).read_bytes(), str(folder / name))
        for name in _CIFAR_FILES
    }
    return _assemble_cifar(parts, source=str(folder))


def _read_cifar_tarball(path: Path) -> RawDataset:
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        # Stream mode ("r|*"): one pass over the gzip stream. Random access ("r:*") would
        # decompress the 170 MB archive again for every member read after the index scan.
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                name = Path(member.name).name
                if not member.isfile() or name not in _CIFAR_FILES or name in parts:
                    continue
                handle = archive.extractfile(member)
                if handle is None:  # not reached for regular files
                    raise tarfile.ReadError(f"cannot read {member.name}")
                parts[name] = _parse_cifar_batch(handle.read(), f"{path}:{member.name}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DatasetError(
            f"{path} is not a readable CIFAR-10 tarball ({_reason(exc)}); "
            "download cifar-10-python.tar.gz again."
        ) from exc
    missing = [name for name in _CIFAR_FILES if name not in parts]
    if missing:
        raise DatasetError(
            f"{path} is not a complete CIFAR-10 tarball (missing {', '.join(missing)}); "
            "download cifar-10-python.tar.gz again."
        )
    return _assemble_cifar(parts, source=str(path))


def _find_cifar(folder: Path) -> Path | None:
    """The first CIFAR-10 copy (a batches folder or a tarball) inside `folder`, if any."""
    for sub in _CIFAR_FOLDERS:
        candidate = folder if sub == "." else folder / sub
        if (candidate / _CIFAR_TRAIN_FILES[0]).is_file():
            return candidate
    for name in _CIFAR_TARBALLS:
        if (folder / name).is_file():
            return folder / name
    return None


def read_cifar10(path: str | os.PathLike[str]) -> RawDataset:
    """Read CIFAR-10 from the original python-version files.

    Args:
        path: a folder holding `cifar-10-batches-py/` (or its Keras-cache equivalents), the
            `cifar-10-batches-py` folder itself, a folder holding `cifar-10-python.tar.gz`, or
            the tarball.

    Returns:
        uint8 NHWC images and int64 labels, 50,000 + 10,000 for the real dataset.

    Raises:
        DatasetError: nothing usable at `path`, or a file is corrupt, truncated or mis-sized.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return _read_cifar_tarball(path)
    if not path.is_dir():
        raise DatasetError(
            f"{path} does not exist; pass --data-dir a folder holding cifar-10-batches-py or "
            "cifar-10-python.tar.gz, or the tarball itself."
        )
    found = _find_cifar(path)
    if found is None:
        raise DatasetError(
            f"no CIFAR-10 copy in {path} (looked for {', '.join(_CIFAR_FOLDERS[1:])}, "
            f"data_batch_1..5 + test_batch, and {', '.join(_CIFAR_TARBALLS)}); pass --data-dir "
            "a folder holding cifar-10-batches-py or cifar-10-python.tar.gz."
        )
    return _read_cifar_tarball(found) if found.is_file() else _read_cifar_folder(found)


def _load_cifar10_raw(data_dir: Path | None, allow_download: bool) -> RawDataset:
    if data_dir is not None:
        return read_cifar10(data_dir)
    for folder in keras_dataset_dirs():
        if folder.is_dir() and _find_cifar(folder) is not None:
            raw = read_cifar10(folder)
            return RawDataset(
                raw.x_train, raw.y_train, raw.x_test, raw.y_test, f"Keras cache: {raw.source}"
            )
    cache = keras_dataset_dirs()[0]
    hint = (
        f"Keras keeps it in {cache} (as cifar-10-batches-py-target_archive, the tarball renamed, "
        "or extracted into cifar-10-batches-py-target/), so copy it there or point the harness "
        "at a copy with --data-dir PATH (a folder holding cifar-10-python.tar.gz or "
        "cifar-10-batches-py)"
    )
    return _download(
        "CIFAR-10",
        host=_CIFAR_URL_HOST,
        keras_name="cifar10",
        cache=cache,
        allow_download=allow_download,
        hint=hint,
    )


# --- Fashion-MNIST ------------------------------------------------------------------------------


def _read_idx(path: Path, rank: int) -> np.ndarray:
    """Read an unsigned-byte IDX file (optionally gzipped) of the given rank, checking sizes."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(
            f"{path} cannot be read ({_reason(exc)}); replace it with a fresh "
            "copy of the Fashion-MNIST files."
        ) from exc
    header = 4 + 4 * rank
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != _IDX_MAGIC[rank] or len(raw) < header:
        raise DatasetError(
            f"{path} is not an IDX file of rank {rank} (magic {magic}, expected "
            f"{_IDX_MAGIC[rank]}); replace it with a fresh copy of the Fashion-MNIST files."
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    if len(raw) - header != math.prod(shape):
        raise DatasetError(
            f"{path} is truncated or padded ({len(raw) - header} bytes of data for shape "
            f"{shape}); replace it with a fresh copy of the Fashion-MNIST files."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _fashion_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _has_fashion(folder: Path) -> bool:
    return all(_fashion_file(folder, stem) is not None for stem in _FASHION_FILES.values())


def read_fashion_mnist(path: str | os.PathLike[str]) -> RawDataset:
    """Read Fashion-MNIST from its four IDX files (gzipped or not) in one folder.

    Args:
        path: a folder holding `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
            `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]`, or a folder whose
            `fashion-mnist/` subfolder does (the Keras cache layout).

    Returns:
        uint8 images of shape (N, 28, 28) and int64 labels, 60,000 + 10,000 for the real set.

    Raises:
        DatasetError: files missing, corrupt, truncated, or with a bad IDX header.
    """
    folder = Path(path).expanduser()
    if not _has_fashion(folder) and _has_fashion(folder / "fashion-mnist"):
        folder = folder / "fashion-mnist"
    files = {key: _fashion_file(folder, stem) for key, stem in _FASHION_FILES.items()}
    missing = [_FASHION_FILES[key] for key, found in files.items() if found is None]
    if missing:
        raise DatasetError(
            f"no complete Fashion-MNIST copy in {folder} (missing {', '.join(missing)}, "
            "gzipped or not); pass --data-dir a folder holding the four IDX files."
        )
    arrays = {key: _read_idx(file, 3 if key.startswith("x") else 1) for key, file in files.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        largest = int(labels.max()) if labels.size else 0
        if images.shape[1:] != (28, 28) or len(images) != len(labels) or largest >= 10:
            raise DatasetError(
                f"the Fashion-MNIST {split} files in {folder} do not match (images "
                f"{images.shape}, {len(labels)} labels, largest label {largest}); replace "
                "them with a fresh copy."
            )
    return RawDataset(
        arrays["x_train"],
        arrays["y_train"].astype(np.int64),
        arrays["x_test"],
        arrays["y_test"].astype(np.int64),
        source=str(folder),
    )


def _load_fashion_mnist_raw(data_dir: Path | None, allow_download: bool) -> RawDataset:
    if data_dir is not None:
        return read_fashion_mnist(data_dir)
    candidates = [DEBIAN_FASHION_MNIST_DIR] + [d / "fashion-mnist" for d in keras_dataset_dirs()]
    for folder in candidates:
        if _has_fashion(folder):
            return read_fashion_mnist(folder)
    cache = keras_dataset_dirs()[0] / "fashion-mnist"
    hint = (
        f"Keras keeps the four *-idx?-ubyte.gz files in {cache} and Debian's "
        f"dataset-fashion-mnist package in {DEBIAN_FASHION_MNIST_DIR}, so install that package, "
        "copy them there, or point the harness at a copy with --data-dir PATH"
    )
    return _download(
        "Fashion-MNIST",
        host=_FASHION_URL_HOST,
        keras_name="fashion_mnist",
        cache=cache,
        allow_download=allow_download,
        hint=hint,
    )


def _pad_grey_to_rgb32(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 32, 32, 3) uint8: 2-pixel zero border, grey repeated 3 times."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[..., None], 3, axis=-1)


# --- downloading, bounded -----------------------------------------------------------------------


def _check_dns(host: str, deadline_s: float) -> None:
    """Raise TimeoutError if resolving `host` takes longer than `deadline_s` (a resolver that
    hangs); a quick failure is left to the download itself, which reports it."""
    done = threading.Event()

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, 443)
        except OSError:
            pass  # the download will fail quickly with the same error, and say so
        finally:
            done.set()

    threading.Thread(target=resolve, name=f"dns-{host}", daemon=True).start()
    if not done.wait(deadline_s):
        raise TimeoutError(f"resolving {host} took more than {deadline_s:g} s")


def _load_with_keras(keras_name: str, cache: Path) -> RawDataset:
    """`keras.datasets.<keras_name>.load_data()`, which downloads into `cache`, as a RawDataset."""
    import keras

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, keras_name).load_data()
    return RawDataset(
        np.asarray(x_train, np.uint8),
        np.asarray(y_train).reshape(-1).astype(np.int64),
        np.asarray(x_test, np.uint8),
        np.asarray(y_test).reshape(-1).astype(np.int64),
        source=f"keras.datasets.{keras_name}.load_data() into {cache}",
    )


def _download(
    label: str,
    *,
    host: str,
    keras_name: str,
    cache: Path,
    allow_download: bool,
    hint: str,
) -> RawDataset:
    """Download with Keras' `load_data()` (the last resort) with bounded network waits.

    Args:
        label: the dataset's name in messages.
        host: the server Keras downloads from, resolved first under `DNS_DEADLINE_S`.
        keras_name: the module under `keras.datasets`.
        cache: where Keras will keep the download (for the source and the messages).
        allow_download: False refuses at once, as `BENCH_OFFLINE` does.
        hint: where a local copy could be put, ending the DatasetError sentence.

    Raises:
        DatasetError: downloads are off, or the download failed; one sentence.
    """
    if not allow_download or offline():
        why = f"{OFFLINE_ENV} is set" if offline() else "downloads are disabled"
        raise DatasetError(f"{label} was not found locally and {why}: {hint}.")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_S)
    try:
        _check_dns(host, DNS_DEADLINE_S)
        return _load_with_keras(keras_name, cache)
    except Exception as exc:  # Keras' get_file raises bare Exception on URL errors
        raise DatasetError(
            f"{label} was not found locally and downloading it failed ({_reason(exc)}): {hint}."
        ) from exc
    finally:
        socket.setdefaulttimeout(previous)


# --- synthetic ----------------------------------------------------------------------------------

# Ten classes = five colours x two stripe orientations 90 degrees apart (class c: colour c % 5,
# stripes at 18 c degrees), so colour alone reaches at most 50 % and a model must also see
# orientation; noise and per-image jitter keep it from being trivial.
_SYNTHETIC_COLOURS = np.array(
    [[0.85, 0.25, 0.2], [0.2, 0.7, 0.3], [0.25, 0.35, 0.9], [0.9, 0.8, 0.2], [0.7, 0.3, 0.8]],
    dtype=np.float32,
)
_SYNTHETIC_COLOUR_NAMES = ("red", "green", "blue", "yellow", "purple")
SYNTHETIC_CLASS_NAMES = tuple(
    f"{_SYNTHETIC_COLOUR_NAMES[c % 5]}_stripes_{18 * c}deg" for c in range(10)
)
CLASS_NAMES = {
    "cifar10": CIFAR10_CLASS_NAMES,
    "fashion_mnist": FASHION_MNIST_CLASS_NAMES,
    "synthetic": SYNTHETIC_CLASS_NAMES,
}


def _synthetic_images(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, size=count)
    rows, cols = np.mgrid[0:32, 0:32].astype(np.float32)
    angle = np.radians(18.0 * labels)[:, None, None]
    period_px = rng.uniform(5.0, 8.0, size=(count, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(count, 1, 1))
    along = cols * np.cos(angle) + rows * np.sin(angle)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * along / period_px + phase)  # (N, 32, 32) in [0, 1]
    colour = _SYNTHETIC_COLOURS[labels % 5] + rng.normal(0, 0.06, size=(count, 3))
    images = colour[:, None, None, :] * (0.45 + 0.55 * stripes[..., None])
    images += rng.normal(0, 0.08, size=images.shape)
    return np.clip(images, 0.0, 1.0).astype(np.float32), labels.astype(np.int64)


def _synthetic(seed: int, validation: int | None, train: int | None, test: int | None) -> Dataset:
    default_train, default_val, default_test = SYNTHETIC_DEFAULT_SIZES
    sizes = {
        "train_examples": default_train if train is None else train,
        "validation_examples": default_val if validation is None else validation,
        "test_examples": default_test if test is None else test,
    }
    for key, value in sizes.items():
        if value < 0:
            raise DatasetError(f"{key}={value} is negative; pass a count of at least 0.")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    train_split, val_split, test_split = (
        _synthetic_images(count, rng) for count, rng in zip(sizes.values(), rngs, strict=True)
    )
    return _dataset(
        "synthetic",
        train=train_split,
        val=val_split,
        test=test_split,
        source=f"generated by bench.training.datasets (seed {seed})",
        class_names=SYNTHETIC_CLASS_NAMES,
    )


# --- splitting ----------------------------------------------------------------------------------


def _check_count(key: str, value: int, maximum: int, context: str) -> None:
    if not 0 <= value <= maximum:
        raise DatasetError(
            f"{key}={value} is out of range ({context}); pass a value from 0 to {maximum}."
        )


def _split(
    raw: RawDataset,
    *,
    name: str,
    prepare: Callable[[np.ndarray], np.ndarray],
    class_names: tuple[str, ...],
    seed: int,
    validation: int,
    train: int | None,
    test: int | None,
) -> Dataset:
    rng_val, rng_train, rng_test = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    n_train = len(raw.y_train)
    _check_count(
        "validation_examples",
        validation,
        n_train - 1,
        f"{n_train} training images, and at least one must stay for training",
    )
    val_idx = stratified_sample(raw.y_train, validation, rng_val)
    pool = np.setdiff1d(np.arange(n_train), val_idx, assume_unique=True)
    if train is not None:
        _check_count("train_examples", train, len(pool), f"{len(pool)} left after validation")
        pool = pool[stratified_sample(raw.y_train[pool], train, rng_train)]
    test_idx = np.arange(len(raw.y_test))
    if test is not None:
        _check_count("test_examples", test, len(test_idx), f"{len(test_idx)} test images")
        test_idx = stratified_sample(raw.y_test, test, rng_test)

    def scaled(images: np.ndarray) -> np.ndarray:
        return prepare(images).astype(np.float32) / np.float32(255.0)

    return _dataset(
        name,
        train=(scaled(raw.x_train[pool]), raw.y_train[pool]),
        val=(scaled(raw.x_train[val_idx]), raw.y_train[val_idx]),
        test=(scaled(raw.x_test[test_idx]), raw.y_test[test_idx]),
        source=raw.source,
        class_names=class_names,
    )


# --- the entry points ---------------------------------------------------------------------------


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    validation_examples: int | None = None,
    train_examples: int | None = None,
    test_examples: int | None = None,
    allow_download: bool = True,
    image_size: tuple[int, int] | None = None,
) -> Dataset:
    """Load, split and scale a registered dataset (`SOURCES`) or a folder of images.

    Args:
        name: "cifar10", "fashion_mnist", "synthetic", a name a plugin registered
            (`register_dataset`), or the path of a folder laid out as
            `keras.utils.image_dataset_from_directory` reads it (`bench.training.images`).
        data_dir: where a local copy lies (see `read_cifar10`, `read_fashion_mnist`); None looks
            in the usual places first (Debian's folder for Fashion-MNIST, the Keras cache).
        seed: fixes the validation split, the subsets and the synthetic images.
        validation_examples: images moved from the training set to the validation set,
            class-stratified. None means the dataset's default: 5,000 for CIFAR-10 and
            Fashion-MNIST (OUR ASSUMPTION, the report does not say), 500 for "synthetic"
            (generated apart from the training images).
        train_examples: keep only this many training images (stratified, after the validation
            split); None keeps them all. For "synthetic", the number generated (default 2,000).
        test_examples: keep only this many test images (stratified); None keeps them all. For
            "synthetic", the number generated (default 500).
        allow_download: let Keras download the data when no local copy is found (never when
            the `BENCH_OFFLINE` environment variable is set).
        image_size: (height, width) to resize every image to (bilinear); None keeps the
            dataset's own size.

    Returns:
        The split dataset, float32 pixels in [0, 1], int64 labels.

    Raises:
        DatasetError: unknown name, no copy found offline, a corrupt file, impossible sizes,
            or a folder that is not a usable image dataset.
    """
    counts = {
        "seed": seed,
        "validation_examples": validation_examples,
        "train_examples": train_examples,
        "test_examples": test_examples,
    }
    if name not in SOURCES:
        from bench.training import images  # a folder of the user's own images

        folder = images.folder_of(name, known=tuple(SOURCES), data_dir=data_dir)
        return images.load_folder(folder, image_size=image_size, **counts)
    dataset = SOURCES[name].load(data_dir=data_dir, allow_download=allow_download, **counts)
    if image_size is not None and tuple(image_size) != tuple(dataset.input_shape[:2]):
        from bench.training import images

        return images.resized(dataset, image_size)
    return dataset


def _load_builtin(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None,
    seed: int,
    validation_examples: int | None,
    train_examples: int | None,
    test_examples: int | None,
    allow_download: bool,
) -> Dataset:
    """CIFAR-10, Fashion-MNIST or the synthetic set (the loaders of `DATASETS`)."""
    if name == "synthetic":
        if data_dir is not None:
            raise DatasetError("the synthetic dataset is generated in code; drop --data-dir.")
        return _synthetic(seed, validation_examples, train_examples, test_examples)
    folder = None if data_dir is None else Path(data_dir).expanduser()
    validation = DEFAULT_VALIDATION_EXAMPLES if validation_examples is None else validation_examples
    if name == "cifar10":
        raw = _load_cifar10_raw(folder, allow_download)
        prepare, class_names = (lambda images: images), CIFAR10_CLASS_NAMES
    else:
        raw = _load_fashion_mnist_raw(folder, allow_download)
        prepare, class_names = _pad_grey_to_rgb32, FASHION_MNIST_CLASS_NAMES
    return _split(
        raw,
        name=name,
        prepare=prepare,
        class_names=class_names,
        seed=seed,
        validation=validation,
        train=train_examples,
        test=test_examples,
    )


# --- the registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSource:
    """A dataset the harness loads by name.

    Attributes:
        name: the `--dataset` value.
        input_shape: (height, width, channels) of the images `load` returns, known before any
            file is read: the worker builds and measures the model before it loads the data.
        num_classes: the number of classes.
        load: `load(*, data_dir, seed, validation_examples, train_examples, test_examples,
            allow_download) -> Dataset`, with the meaning of `load_dataset`'s arguments.
        class_names: the names of the classes in label order.
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    load: Callable[..., Dataset]
    class_names: tuple[str, ...] = ()


SOURCES: dict[str, DatasetSource] = {}


def register_dataset(source: DatasetSource) -> DatasetSource:
    """Add a dataset that `--dataset NAME` can name (from a `--plugin` module, say).

    Raises:
        DatasetError: the name is taken.
    """
    if source.name in SOURCES:
        raise DatasetError(
            f"a dataset called {source.name!r} is already registered; choose another name."
        )
    SOURCES[source.name] = source
    return source


for _name in DATASETS:
    # Fashion-MNIST is padded to 32x32 and repeated to 3 channels, so every variant runs unchanged
    register_dataset(
        DatasetSource(_name, (32, 32, 3), 10, partial(_load_builtin, _name), CLASS_NAMES[_name])
    )


def dataset_shape(
    name: str, *, image_size: tuple[int, int] | None = None
) -> tuple[tuple[int, int, int], int]:
    """(input_shape, num_classes) of what `load_dataset(name, image_size=...)` returns, known
    without decoding an image (a folder's image headers are read).

    Raises:
        DatasetError: as `load_dataset` would for this name.
    """
    if name in SOURCES:
        (height, width, channels), classes = SOURCES[name].input_shape, SOURCES[name].num_classes
    else:
        from bench.training import images

        index = images.scan_folder(images.folder_of(name, known=tuple(SOURCES)))
        (height, width, channels), classes = index.input_shape(image_size), len(index.class_names)
    if image_size is not None:
        height, width = image_size
    return (int(height), int(width), int(channels)), int(classes)


def class_names_of(name: str) -> tuple[str, ...]:
    """The class names of a dataset, in label order; () when they cannot be had."""
    if name in SOURCES:
        return SOURCES[name].class_names
    from bench.training import images

    try:
        return images.scan_folder(images.folder_of(name, known=tuple(SOURCES))).class_names
    except DatasetError:
        return ()
