"""Publishing a file so that its reader sees the previous version or the new one, whole.

Every file the suite hands on (the suite JSON, the workers' records) is written to a temporary
name in the folder of its final name, flushed and synced to disk, read back and checked, and
only then renamed over the final name (`os.replace`, atomic on POSIX); the folder is synced so
that the rename survives a crash. A write that fails (a full disk, no permission) removes its
temporary, leaves the previous file as it was and raises `PublishError`, one sentence with the
cause. `tests/test_faults.py` fills the disk (an injected ENOSPC) and checks that the previous
file survives byte for byte.

Temporaries are named `.<name>.tmp-<pid>`, so a cleanup can tell its own from another
process's. This module imports no TensorFlow.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path

# The exit status of a run that measured but could not write its result (BSD's EX_IOERR); a
# failed model is 1, a bad option 4 (pytest's usage error), an interrupted run 130.
EXIT_UNWRITTEN = 74

_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
}


class PublishError(Exception):
    """A file that could not be published; the message is one sentence with the cause."""


def cause(exc: OSError) -> str:
    """The reason a write failed, in words ("the disk is full")."""
    return _CAUSES.get(exc.errno, exc.strerror or type(exc).__name__)


def temporary_for(path: Path) -> Path:
    """This process's temporary name for `path`, in the same folder."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; not every file system lets a folder be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _kept(path: Path) -> str:
    return "the previous file is kept" if path.exists() else "nothing was written there"


def publish(temporary: Path, path: Path, check: Callable[[bytes], object] | None = None) -> None:
    """Sync `temporary` (already written), read it back through `check`, rename it to `path`.

    Args:
        temporary: a file in the folder of `path`.
        path: the final name.
        check: raises (any exception, whose message says why) when the bytes are not what a
            reader of `path` needs.

    Raises:
        PublishError: the file cannot be synced, read or renamed, or `check` refuses it; the
            temporary is removed and `path` left as it was.
    """
    try:
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
            data = handle.read()
        if check is not None:
            check(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PublishError(f"could not write {path} ({cause(exc)}); {_kept(path)}.") from exc
    except Exception as exc:  # `check` refused what was written
        temporary.unlink(missing_ok=True)
        raise PublishError(f"could not write {path} ({exc}); {_kept(path)}.") from exc
    sync_folder(path.parent)


def write_atomic(path: Path, data: bytes, check: Callable[[bytes], object] | None = None) -> None:
    """Write `data` to `path` through this process's temporary (module docstring).

    Raises:
        PublishError: the disk is full, permission is denied, or `check` refuses the bytes read
            back; `path` is left as it was.
    """
    path = Path(path)
    temporary = temporary_for(path)
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PublishError(f"could not write {path} ({cause(exc)}); {_kept(path)}.") from exc
    publish(temporary, path, check)
