"""The suite's JSON contract: key names and one validator (docs/contract.md is the prose).

`bench/` writes files that satisfy `validate`; `reports/` and the gate call `load` on every file
they read, so a file that is not a suite JSON is refused in one sentence, never half-read.
Tests build files by hand and check that each kind of damage is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONTRACT_VERSION = 1

SCENARIOS = ("latency", "throughput", "train_step")
ACCURACY_SOURCES = ("measured", "reported", "published")

BENCHMARK_EXTRA_KEYS = ("variant", "scenario", "batch_size", "device", "xla", "precision")

VARIANT_KEYS = (
    "variant",
    "kind",
    "description",
    "params_total",
    "params_trainable",
    "params_non_trainable",
    "macs",
    "flops",
    "flops_analytic",
    "layers",
    "accuracy",
    "accuracy_source",
    "accuracy_citation",
    "test_examples",
    "dataset",
    "input_shape",
    "profile",
    "seed",
    "train_time_s",
    "epochs",
    "history",
    "peak_gpu_memory_bytes",
    "gpu_process_memory_bytes",
    "peak_host_memory_bytes",
    "latency_median_s",
    "latency_p90_s",
    "latency_p99_s",
    "throughput_images_per_s",
    "train_step_s",
    "recipe",
    "published",
    "errors",
    "unavailable",
)


class ContractError(ValueError):
    """A file is not a usable suite JSON; the message is one sentence for the user."""


def empty_variant_record(variant: str) -> dict[str, Any]:
    """A record with every contract key, figures `None`, lists and dicts empty."""
    record: dict[str, Any] = dict.fromkeys(VARIANT_KEYS)
    record.update(variant=variant, layers=[], history=[], errors=[], unavailable={})
    return record


def validate(data: Any, *, source: str = "the file") -> dict[str, Any]:
    """Check that `data` is a suite JSON and return it.

    Raises:
        ContractError: naming the first thing that is wrong and what to do.
    """
    hint = "produce it with `pytest bench --benchmark-json FILE` (or `python -m bench run`)"
    if not isinstance(data, dict):
        raise ContractError(f"{source} is not a benchmark JSON object; {hint}.")
    if "benchmarks" not in data or "machine_info" not in data:
        raise ContractError(
            f"{source} is not a pytest-benchmark JSON (no 'benchmarks' or 'machine_info'); {hint}."
        )
    if "variants" not in data:
        raise ContractError(
            f"{source} is a pytest-benchmark JSON without the suite's 'variants' section, "
            f"so it was not written by this project's suite; {hint}."
        )
    variants = data["variants"]
    if not isinstance(variants, dict):
        raise ContractError(f"{source}: 'variants' must be an object keyed by variant id; {hint}.")
    for vid, record in variants.items():
        if not isinstance(record, dict):
            raise ContractError(f"{source}: variants[{vid!r}] is not an object; {hint}.")
        missing = [k for k in VARIANT_KEYS if k not in record]
        if missing:
            raise ContractError(
                f"{source}: variants[{vid!r}] lacks {', '.join(missing)}; "
                f"it was written by another contract version; {hint}."
            )
    if not isinstance(data["benchmarks"], list):
        raise ContractError(f"{source}: 'benchmarks' must be a list; {hint}.")
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        if not isinstance(extra, dict) or any(k not in extra for k in BENCHMARK_EXTRA_KEYS):
            name = bench.get("name", "?") if isinstance(bench, dict) else "?"
            raise ContractError(
                f"{source}: benchmark {name!r} lacks the suite's extra_info "
                f"({', '.join(BENCHMARK_EXTRA_KEYS)}); {hint}."
            )
    return data


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate one suite JSON file.

    Raises:
        ContractError: the file is missing, empty, not JSON, or not a suite JSON.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"{path} does not exist; give the path of a suite JSON.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path} cannot be read as text ({exc}).") from None
    if not text.strip():
        raise ContractError(
            f"{path} is empty; the benchmark run that should have written it failed."
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}); "
            "it may be truncated: rerun the suite."
        ) from None
    return validate(data, source=str(path))
