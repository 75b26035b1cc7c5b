"""Cache entries on the move between the driver and a Ray node, and how a node knows it is home.

A worker trains into a model cache (`bench/training/cache.py`): one folder `<id>-<key16>/` per
training run, holding `result.json`, `final.keras` and `predictions.npy` once the run has
finished. A Ray job that runs on a node which cannot see the driver's cache trains into a cache
of its own there; its finished entry comes home (`entry_files` on the node, `bring_home` on the
driver), and the driver's finished entries for that model and seed go out with the job
(`finished_entries` on the driver, `unpack` on the node), so that a rerun trains nothing.

Claims, checked by `tests/test_transfer.py`:

- An entry is published the way the cache publishes one (`CacheEntry.finish`): every file is
  written under a temporary name in the entry's folder, flushed and moved into place with
  `os.replace` (atomic on POSIX), `result.json` last, so a reader never sees an entry that claims
  to be finished while one of its files is half-written; only then are the checkpoints and the
  `state.json` of an interrupted run of the same key removed.
- `unpack` never overwrites a finished entry on the node (the node's own run stands, and its
  files come home); `bring_home` does overwrite, so the driver's cache holds exactly the run its
  record describes.
- `finished_entries` picks the folders whose `result.json` names the model, the seed and the
  profile, reading JSON only (no TensorFlow).
- The file names are the cache's, repeated here because `bench.training.cache` loads TensorFlow
  and this module runs in Ray's worker processes, which stay light; a test checks they agree.
- A node sees the driver's cache when it sees a token file that the driver wrote there
  (`write_token`, `visible`): true on a local cluster and for a cache on a folder that every
  node mounts at the same path, false elsewhere.
"""

from __future__ import annotations

import glob
import json
import os
import uuid
from pathlib import Path

from bench.atomic import sync_folder

RESULT_FILE = "result.json"
STATE_FILE = "state.json"
FINAL_FILE = "final.keras"
CHECKPOINT_PATTERN = "checkpoint-epoch*.keras"
TOKEN_PREFIX = ".bench-driver-"

Files = dict[str, bytes]  # one entry's files: name -> content
Entries = dict[str, Files]  # entry folder name -> its files


def write_token(cache_root: Path) -> Path:
    """Create a file only this run knows the name of, in the driver's cache folder."""
    cache_root.mkdir(parents=True, exist_ok=True)
    token = cache_root / f"{TOKEN_PREFIX}{uuid.uuid4().hex}"
    token.touch()
    return token


def visible(token: str | os.PathLike[str]) -> bool:
    """Whether this process sees the driver's token file (so the driver's cache, at its path)."""
    return Path(token).is_file()


def _check_name(name: str) -> str:
    """`name` if it is one plain path component (an entry folder or a file in one)."""
    if not name or name in {".", ".."} or Path(name).name != name:
        raise ValueError(f"{name!r} is not a file or folder name")
    return name


def entry_files(folder: Path) -> Files:
    """The files of a finished entry (every plain file but the temporaries), read into memory.

    Raises:
        ValueError: the folder holds no `result.json`, so its run has not finished.
    """
    if not (folder / RESULT_FILE).is_file():
        raise ValueError(f"{folder} holds no finished training run ({RESULT_FILE} is missing)")
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def _result(folder: Path) -> dict | None:
    try:
        payload = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # unfinished or unreadable: the worker deals with it if it comes to it
    return payload if isinstance(payload, dict) else None


def finished_entries(cache_root: Path, *, variant: str, seed: int, profile: str | None) -> Entries:
    """The finished entries of `variant` trained with `seed` (and `profile`, when given)."""
    entries: Entries = {}
    for folder in sorted(Path(cache_root).glob(f"{glob.escape(variant)}-*")):
        payload = _result(folder) if folder.is_dir() else None
        if payload is None or payload.get("variant") != variant:
            continue
        inputs = payload.get("key_inputs") or {}
        if inputs.get("seed") != seed:
            continue
        if profile is not None and (inputs.get("profile") or {}).get("name") != profile:
            continue
        entries[folder.name] = entry_files(folder)
    return entries


def _write_atomic(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def publish(files: Files, folder: Path, *, replace_finished: bool) -> bool:
    """Write one finished entry's `files` into `folder`, `result.json` last (module docstring).

    Args:
        files: the entry's files by name; must include `result.json`.
        folder: the entry's folder (created when missing).
        replace_finished: overwrite an entry that has already finished there.

    Returns:
        Whether the files were written (False: a finished entry was there and was kept).

    Raises:
        ValueError: `files` has no `result.json`, or a name that is not a plain file name.
    """
    if RESULT_FILE not in files:
        raise ValueError(f"an entry without {RESULT_FILE} has not finished; nothing to publish")
    if (folder / RESULT_FILE).exists() and not replace_finished:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda n: n == RESULT_FILE):  # result.json last
        _write_atomic(folder / _check_name(name), files[name])
    sync_folder(folder)
    for stale in [*folder.glob(CHECKPOINT_PATTERN), folder / STATE_FILE]:
        if stale.name not in files:
            stale.unlink(missing_ok=True)
    return True


def unpack(entries: Entries, cache_root: Path) -> list[str]:
    """Write the entries that came with a job into the node's cache; finished ones there stay.

    Returns:
        The names of the entries written.
    """
    written = []
    for name, files in entries.items():
        if publish(files, Path(cache_root) / _check_name(name), replace_finished=False):
            written.append(name)
    return written


def bring_home(files: Files, folder: Path) -> Path:
    """Publish a job's finished entry in the driver's cache, over what was there; its folder."""
    publish(files, folder, replace_finished=True)
    return folder
