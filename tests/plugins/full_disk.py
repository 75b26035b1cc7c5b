"""A pytest plugin that fills the disk under the suite's JSON, for `tests/test_faults.py`.

Loaded with `-p full_disk` (this folder on PYTHONPATH). The file pytest-benchmark writes the
suite's JSON to gets the first half of what is written, then the write fails with ENOSPC, as on
a nearly full file system (mounting a small tmpfs needs privileges the tests do not have).
"""

from __future__ import annotations

import errno
import os

import pytest


class _FillsUp:
    """A binary file object that takes half of the first write, then reports a full disk."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self.name = handle.name

    def write(self, data: bytes) -> int:
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self._handle.close()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    handle = getattr(config.option, "benchmark_json", None)
    if handle is not None:
        config.option.benchmark_json = _FillsUp(handle)
