"""A model's record from the records cache alone, in the suite's own process, with no worker.

It asks the worker's measuring function for the cached part only, so it sits above both the
worker (`bench.suite.executors.worker`) and the cache (`bench.suite.executors.record_cache`), which
the worker uses: kept in either of them, the two would import each other (`tests/test_layers.py`).
`tests/test_record_cache.py` checks that a reported-accuracy rerun starts no worker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.suite.executors.record_cache import folder_of


def record_without_worker(plan: Any, settings: Any, job: Any) -> dict[str, Any] | None:
    """The worker's record of `job` (`bench.suite.executors.jobs.Job`), made in this process from
    the cache, or None when a worker must run: an accuracy that is not the reported figure, an
    executor other than the local one (another node's memory is not this machine's), the cache
    off or without a usable entry, or a model the worker would refuse (it says why)."""
    if plan.accuracy.measures or plan.executor != "local":
        return None
    if folder_of(plan) is None:
        return None
    from bench.suite.executors import worker

    here = worker.WorkerJob(plan, job.variant, job.seed, Path(os.devnull))
    record = worker.measure(plan, here, settings, cached_only=True)
    return record if record is not None and record.get("cached_from") else None
