"""The store of runs: every saved suite run, kept apart by machine and by comparable settings.

Layout (pytest-benchmark's FileStorage, so `pytest-benchmark list/compare` and
`--benchmark-compare=<machine>/NNNN` read it):

    <storage>/<machine>/NNNN_<commit>_<YYYYmmdd_HHMMSS>[_uncommited-changes].json
    <storage>/predictions/<sha256>.gz          per-image classes, stored once, by reference

`<machine>` is read from the file's `machine_info`: a readable stem (system, architecture, CPU
model, logical CPUs, device) and a hash of every hardware and timing key the two-file gate refuses
to mix (`bench.gates.files.MACHINE_KEYS`: threads, XLA, precision, GPU, memory limit, ...), so a
run with XLA on and one with XLA off land in different folders. Within a folder, runs are further
told apart by a settings key: a hash of the `run` keys the gate refuses to mix
(`bench.gates.files.RUN_KEYS`: accuracy mode, profile, batch sizes, latency budget and
reference) plus those it refuses unless --allow-mixed (`MIXED_KEYS`: dataset, seed, seeds,
deployments). Two runs are comparable when both keys agree; `python -m bench history list`
shows one group per key, and nothing in this package compares runs across groups. The keys are
recomputed from each file's content when it is read, never
taken from its folder name, so a file copied into the wrong folder is not mixed silently.

Small: each stored file is pytest-benchmark's JSON written without indentation; every raw
sample list (`stats.data`, `extra_info.reference_samples_s`) is replaced by its float64 bytes,
byte-shuffled and zlib-compressed (lossless: `expand` gives back the same floats, bit for bit);
every per-image class list (`runs[].predictions`, deployments' predictions, `test_labels`) is
replaced by a reference to `predictions/<sha256>.gz`, which a rerun from the model cache shares.
`Store.load` restores the suite JSON exactly, checksums checked.

How it is checked: `tests/test_history.py` round-trips a hand-made suite file through the store
(equal to the original), damages a blob (one sentence), saves runs of two machines and two
settings (kept apart), and measures the size of stored runs.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.contract import ContractError, upgrade, validate
from bench.gates.files import MACHINE_KEYS, MIXED_KEYS, RUN_KEYS

DEFAULT_STORAGE = Path(".benchmarks")  # pytest-benchmark's default --benchmark-storage
FORMAT = 1  # of the `history` section and of the compaction below
SAMPLES_ENCODING = "zlib-shuffled-float64le"
# Where a suite JSON keeps raw samples, inside each benchmark entry.
SAMPLE_PATHS = (("stats", "data"), ("extra_info", "reference_samples_s"))
# `run` keys beside RUN_KEYS that the gate refuses to mix (`MIXED_KEYS`: dataset, seed, seeds,
# deployments): other seeds average other trainings, other deployments time other points.
EXTRA_SETTINGS = tuple(k for k in MIXED_KEYS if k not in RUN_KEYS)
BLOBS = "predictions"
_CLASS_ENCODINGS = ("base64-uint8", "base64-uint16le")  # bench.contract.encode_classes
_NAME = re.compile(r"^(\d{4})_(.+)\.json$")


class StoreError(ValueError):
    """The store or one of its files is unusable; one sentence saying what to do."""


def storage_path(text: str | Path) -> Path:
    """A `--benchmark-storage` value as a folder (a `file://` prefix is allowed, as there)."""
    text = str(text)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "file":
            raise StoreError(
                f"the history reads a folder, not {scheme}:// storage; give a folder or file://DIR."
            )
        text = rest
    return Path(text)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _slug(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", str(text)).strip("_") or "unknown"


def machine_values(info: Mapping[str, Any]) -> dict[str, Any]:
    """The hardware and timing values that must match (GPU by name: its driver is software)."""
    values = {key: info.get(key) for key in MACHINE_KEYS}
    if isinstance(values.get("gpu"), Mapping):
        values["gpu"] = values["gpu"].get("name")
    return values


def machine_key(info: Mapping[str, Any]) -> str:
    """The store folder of a run: a readable stem and the hash of `machine_values`."""
    device = str(info.get("device") or "unknown").split(" ", 1)[-1] if info.get("gpu") else "CPU"
    stem = "-".join(
        _slug(part)
        for part in (
            info.get("system"),
            info.get("machine"),
            info.get("cpu_model"),
            f"{info.get('cpu_count_logical')}cpu",
            device,
        )
    )
    return f"{stem[:80]}-{_digest(machine_values(info))}"


def settings(run: Mapping[str, Any]) -> dict[str, Any]:
    """The `run` settings that make two runs comparable (a key absent from a file is None)."""
    return {key: run.get(key) for key in (*RUN_KEYS, *EXTRA_SETTINGS)}


def settings_key(run: Mapping[str, Any]) -> str:
    """A short hash of `settings`: equal for runs that may be compared."""
    return _digest(settings(run))


# ---------------------------------------------------------------------------------------------
# Samples and predictions


def encode_samples(values: Any) -> dict[str, Any]:
    """Float samples as shuffled, compressed float64 bytes (lossless).

    Byte-shuffling (all first bytes, then all second bytes, ...) puts the nearly constant sign,
    exponent and high mantissa bytes of similar timings side by side, which zlib then packs.
    """
    array = np.asarray(values, dtype="<f8").reshape(-1)
    shuffled = array.view(np.uint8).reshape(-1, 8).T.tobytes()
    return {
        "encoding": SAMPLES_ENCODING,
        "length": int(array.size),
        "data": base64.b64encode(zlib.compress(shuffled, 9)).decode("ascii"),
    }


def decode_samples(encoded: Mapping[str, Any], source: str) -> list[float]:
    """The floats `encode_samples` wrote.

    Raises:
        StoreError: an unknown encoding or damaged data.
    """
    try:
        if encoded["encoding"] != SAMPLES_ENCODING:
            raise ValueError(f"unknown encoding {encoded['encoding']!r}")
        raw = zlib.decompress(base64.b64decode(encoded["data"], validate=True))
        n = int(encoded["length"])
        array = np.frombuffer(raw, dtype=np.uint8).reshape(8, n).T.copy().view("<f8")
    except (KeyError, TypeError, ValueError, binascii.Error, zlib.error) as exc:
        raise StoreError(f"{source}: compressed samples that cannot be read ({exc}).") from None
    return [float(x) for x in array.reshape(-1)]


def _is_classes(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("encoding") in _CLASS_ENCODINGS
        and isinstance(value.get("data"), str)
        and isinstance(value.get("sha256"), str)
    )


def _by_reference(node: Any, write: Any) -> Any:
    """`node` with every encoded class list replaced by a reference (`write` stores its bytes)."""
    if _is_classes(node):
        raw = base64.b64decode(node["data"])
        write(node["sha256"], raw)
        return {k: v for k, v in node.items() if k != "data"} | {"ref": f"{BLOBS}/{node['sha256']}"}
    if isinstance(node, dict):
        return {k: _by_reference(v, write) for k, v in node.items()}
    if isinstance(node, list):
        return [_by_reference(v, write) for v in node]
    return node


def _restore(node: Any, read: Any) -> Any:
    """The inverse of `_by_reference`: every reference replaced by its data (`read` loads it)."""
    if isinstance(node, dict) and "ref" in node and node.get("encoding") in _CLASS_ENCODINGS:
        data = base64.b64encode(read(node["sha256"])).decode("ascii")
        return {k: v for k, v in node.items() if k != "ref"} | {"data": data}
    if isinstance(node, dict):
        return {k: _restore(v, read) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore(v, read) for v in node]
    return node


def _compact_benchmarks(benchmarks: list[dict[str, Any]]) -> None:
    """Replace each benchmark's raw sample lists by their compressed form, in place."""
    for bench in benchmarks:
        packed = {}
        for section, key in SAMPLE_PATHS:
            values = (bench.get(section) or {}).get(key)
            if isinstance(values, list):
                packed[f"{section}.{key}"] = encode_samples(values)
                del bench[section][key]
        if packed:
            bench["samples"] = packed


def _expand_benchmarks(benchmarks: list[dict[str, Any]], source: str) -> None:
    """The inverse of `_compact_benchmarks`, in place."""
    for bench in benchmarks:
        for path, encoded in (bench.pop("samples", None) or {}).items():
            section, _, key = path.partition(".")
            bench.setdefault(section, {})[key] = decode_samples(encoded, source)


def _commit_tag(document: Mapping[str, Any]) -> str:
    """pytest-benchmark's autosave tag: `<commit>_<YYYYmmdd_HHMMSS>[_uncommited-changes]`."""
    commit = document.get("commit_info") or {}
    try:
        when = datetime.fromisoformat(str(document.get("datetime")))
    except ValueError:
        when = datetime.now()
    parts = [_slug(commit.get("id") or "unversioned"), when.strftime("%Y%m%d_%H%M%S")]
    if commit.get("dirty"):
        parts.append("uncommited-changes")  # sic: pytest-benchmark's spelling
    return "_".join(parts)


@dataclass(frozen=True)
class Entry:
    """One stored run, as `history list` shows it.

    Attributes:
        path: the file.
        number: its NNNN in its folder.
        machine: `machine_key` of its machine_info.
        settings_key: `settings_key` of its run section.
        settings: the settings themselves.
        commit: commit id (`unversioned` outside git).
        branch: the branch it was run on.
        commit_time: the commit's time (ISO), or "" when unknown.
        run_time: when the run was saved (pytest-benchmark's `datetime`).
        dirty: the working tree had uncommitted changes.
        variants: the models it measured.
    """

    path: Path
    number: int
    machine: str
    settings_key: str
    settings: dict[str, Any]
    commit: str
    branch: str
    commit_time: str
    run_time: str
    dirty: bool
    variants: tuple[str, ...]

    @property
    def group(self) -> tuple[str, str]:
        """Runs with the same group may be compared."""
        return self.machine, self.settings_key

    @property
    def order(self) -> tuple[str, str]:
        """Commit order: the commit's time, then the run's (reruns of one commit stay apart)."""
        return self.commit_time, self.run_time


def entry_of(path: Path, document: Mapping[str, Any], number: int = 0) -> Entry:
    """The `Entry` of a (stored or plain) suite document."""
    commit = document.get("commit_info") or {}
    run = document.get("run") or {}
    return Entry(
        path=path,
        number=number,
        machine=machine_key(document.get("machine_info") or {}),
        settings_key=settings_key(run),
        settings=settings(run),
        commit=str(commit.get("id") or "unversioned"),
        branch=str(commit.get("branch") or "(unknown)"),
        commit_time=str(commit.get("time") or ""),
        run_time=str(document.get("datetime") or ""),
        dirty=bool(commit.get("dirty")),
        variants=tuple(document.get("variants") or ()),
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(
            f"{path} in the store cannot be read ({exc}); restore it from your cache or delete it."
        ) from None


class Store:
    """A folder of saved runs (see the module docstring for the layout).

    Args:
        root: the folder (`.benchmarks` by default, as pytest-benchmark's storage), or
            `file://DIR`.
    """

    def __init__(self, root: str | Path = DEFAULT_STORAGE) -> None:
        self.root = storage_path(root)

    def save(self, document: Mapping[str, Any], name: str | None = None) -> Path:
        """Keep one suite run; returns the file written.

        Args:
            document: a suite JSON object with its raw samples (`--benchmark-json`'s content).
            name: the part after `NNNN_` (pytest-benchmark's `--benchmark-save NAME`); default
                `<commit>_<time>[_uncommited-changes]`, as `--benchmark-autosave` names it.

        Raises:
            StoreError: the document is not a suite JSON, or the store cannot be written.
        """
        try:
            validate(copy.deepcopy(dict(document)), source="the run to save")
        except ContractError as exc:
            raise StoreError(str(exc)) from None
        data = copy.deepcopy(dict(document))
        key = machine_key(data["machine_info"])
        _compact_benchmarks(data["benchmarks"])
        data = _by_reference(data, self._write_blob)
        run = document.get("run") or {}
        data["history"] = {
            "format": FORMAT,
            "machine": key,
            "settings_key": settings_key(run),
            "settings": settings(run),
        }
        text = json.dumps(data, separators=(",", ":"))
        return self._write_numbered(self.root / key, name or _commit_tag(document), text)

    def _write_numbered(self, folder: Path, name: str, text: str) -> Path:
        """Write `NNNN_<name>.json` with the next free number (two savers never overwrite)."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name))]
            number = max(numbers, default=0) + 1
            while True:
                path = folder / f"{number:04d}_{_slug(name)}.json"
                try:
                    with path.open("x", encoding="utf-8") as handle:
                        handle.write(text)
                    return path
                except FileExistsError:
                    number += 1
        except OSError as exc:
            raise StoreError(f"cannot write to the store {self.root} ({exc}).") from None

    def _blob(self, sha256: str) -> Path:
        return self.root / BLOBS / f"{sha256}.gz"

    def _write_blob(self, sha256: str, raw: bytes) -> None:
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise StoreError(
                f"the run holds per-image classes whose checksum does not match ({sha256[:12]}); "
                "the file is damaged: rerun the suite."
            )
        path = self._blob(sha256)
        if path.is_file():
            return  # content-addressed: the same bytes are already there
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(gzip.compress(raw, mtime=0))
            partial.replace(path)
        except OSError as exc:
            raise StoreError(f"cannot write to the store {self.root} ({exc}).") from None

    def _read_blob(self, sha256: str, source: Path) -> bytes:
        path = self._blob(sha256)
        try:
            raw = gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            raise StoreError(
                f"{source} refers to {path}, which cannot be read ({exc}); restore the store's "
                f"{BLOBS}/ folder with its runs (they are kept together)."
            ) from None
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise StoreError(f"{path} is damaged (its checksum does not match); restore it.")
        return raw

    def files(self) -> list[tuple[Path, int]]:
        """Every `<machine>/NNNN_*.json` file of the store, with its number."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != BLOBS):
            for path in sorted(folder.iterdir()):
                match = _NAME.match(path.name)
                if match and path.is_file():
                    found.append((path, int(match.group(1))))
        return found

    def entries(self) -> tuple[list[Entry], list[Path]]:
        """The suite runs in the store in commit order, and the files that are not suite runs
        (pytest-benchmark files of other suites), which nothing here reads.

        Raises:
            StoreError: a file cannot be read as JSON.
        """
        runs, ignored = [], []
        for path, number in self.files():
            document = _read_json(path)
            if not isinstance(document, dict) or "variants" not in document:
                ignored.append(path)
                continue
            runs.append(entry_of(path, document, number))
        return sorted(runs, key=lambda e: (e.order, e.path.name)), ignored

    def load(self, entry: Entry | Path) -> dict[str, Any]:
        """The suite JSON of a stored run, exactly as it was saved (samples and classes back).

        Raises:
            StoreError: the file, its samples or a referenced blob are damaged, or it is not a
                suite JSON of a contract version this code reads (older ones are upgraded).
        """
        path = entry.path if isinstance(entry, Entry) else Path(entry)
        data = _read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
            raise StoreError(f"{path} is not a suite run; remove it from the store.")
        data.pop("history", None)
        _expand_benchmarks(data["benchmarks"], str(path))
        data = _restore(data, lambda sha: self._read_blob(sha, path))
        try:
            return validate(upgrade(data, source=str(path)), source=str(path))
        except ContractError as exc:
            raise StoreError(str(exc)) from None


def group_heading(entry: Entry) -> str:
    """One line naming a group's machine and its settings."""
    shown = ", ".join(f"{k} {v}" for k, v in entry.settings.items() if v is not None)
    return f"machine {entry.machine} · settings {entry.settings_key}: {shown}"
