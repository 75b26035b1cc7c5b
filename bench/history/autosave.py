"""`pytest bench --benchmark-autosave` (and `python -m bench run --save`) save into the store.

pytest-benchmark saves a run through its storage object (`--benchmark-storage`, default
`.benchmarks`), without the raw samples unless `--benchmark-save-data`. For the suite, `install`
swaps that object for `HistoryStorage`, a FileStorage whose `save` hands the run to
`bench.history.store.Store` (our machine folders, samples compressed, predictions by reference)
and asks pytest-benchmark for the samples, which the history's gate and trend page need. Its
`query` and `load` are pytest-benchmark's own, so `--benchmark-compare` still reads the folder.

A run that did not finish (interrupted, or stopped by an internal error: pytest's exit status
other than 0, or 1 for a model that failed with its reason recorded) is not saved, with one
sentence saying so: a partial run must not become a point of the history.

How it is checked: `tests/test_history_commits.py` saves real suite runs with
`python -m bench run --save`, and `tests/test_history.py` runs `pytest bench --benchmark-autosave`.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from pytest_benchmark.storage.file import FileStorage

from bench.history.store import Store, StoreError

# pytest's exit statuses for which a run is complete: every test ran (1: some failed, each
# model's record saying why, as `python -m bench run` accepts).
_COMPLETE = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)


class HistoryStorage(FileStorage):
    """pytest-benchmark's FileStorage whose `save` writes into the history's store."""

    session: pytest.Session | None = None

    def save(self, output_json: dict[str, Any], save: str) -> None:  # type: ignore[override]
        status = getattr(self.session, "exitstatus", pytest.ExitCode.OK)
        if status not in _COMPLETE:
            print(
                f"history: this run was not saved (pytest exit {int(status)}: it did not finish).",
                file=sys.stderr,
            )
            return
        try:
            path = Store(self.path).save(output_json, name=save)
        except StoreError as exc:
            print(f"history: this run was not saved: {exc}", file=sys.stderr)
            return
        print(f"history: saved {path}", file=sys.stderr)


def install(session: pytest.Session) -> None:
    """Route the suite's `--benchmark-save`/`--benchmark-autosave` into the history's store.

    Touches pytest-benchmark's session object (`config._benchmarksession`, which its own
    `benchmark` fixture reads too); a storage other than a folder (Elasticsearch) is left alone.
    """
    bench_session = getattr(session.config, "_benchmarksession", None)
    if bench_session is None or not (bench_session.save or bench_session.autosave):
        return
    storage = bench_session.storage
    if type(storage) is not FileStorage:
        return
    replacement = HistoryStorage(
        storage.path, logger=storage.logger, default_machine_id=storage.default_machine_id
    )
    replacement.session = session
    bench_session.storage = replacement
    bench_session.save_data = True  # the raw samples, compressed by the store
