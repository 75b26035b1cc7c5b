"""A model's record from the records cache alone, in the suite's own process, with no worker.

It asks the worker's measuring function for the cached part only, so it sits above both the
worker (`bench.suite.worker`) and the cache (`bench.suite.record_cache`), which the worker uses:
kept in either of them, the two would import each other (`tests/test_layers.py`).
`tests/test_record_cache.py` checks that a reported-accuracy rerun starts no worker.
"""

from __future__ import annotations

import os
from typing import Any

from bench.suite.record_cache import folder_of


def record_without_worker(
    options: Any, settings: Any, variant: str, seed: int
) -> dict[str, Any] | None:
    """The worker's record of `variant`, made in this process from the cache, or None when a
    worker must run: an accuracy that is not the reported figure, an executor other than the
    local one (another node's memory is not this machine's), the cache off or without a usable
    entry, or a model the worker would refuse (it says why)."""
    if options.accuracy != "reported" or options.executor != "local":
        return None
    if folder_of(options) is None:
        return None
    from bench.suite import worker
    from bench.suite.options import worker_argv, worker_parser

    args = worker_parser("bench.suite.worker").parse_args(
        [*worker_argv(vars(options)), "--variant", variant, "--out", os.devnull,
         "--seed", str(seed)]
    )  # fmt: skip
    record = worker.measure(args, settings, cached_only=True)
    return record if record is not None and record.get("cached_from") else None
