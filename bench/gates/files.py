"""Reading what the two-file gate compares: raw samples, reference samples, benchmark entries,
and the parts of `machine_info` that must match.

Claim: a sample list that is absent, non-numeric, not positive or of another length than its
reference is refused in one sentence naming the file and the benchmark (`GateInputError`), never
half-read; two files from different hardware or timing settings are told apart from files that
differ only in software versions (a refusal against a note); so are two runs made with different
suite settings (the `run` section: batch sizes, accuracy mode, latency budget, ...). Files are
validated against the contract first (`bench.contract.load`).

How it is checked: `tests/test_gate.py` damages hand-made files one way at a time (no reference,
a reference of another length, other machines, another TensorFlow) and asserts the sentence and
the exit code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench import metrics
from bench.gates.decision import GateInputError

# machine_info keys that describe the hardware and the timing setup: if one differs, latency
# numbers are not comparable and the gate refuses unless --allow-different-machines.
# `gpu` is compared by name only (its driver version is software).
MACHINE_KEYS = (
    "system",
    "machine",
    "cpu_model",
    "cpu_count_logical",
    "gpu",
    "device",
    "threads",
    "xla",
    "precision",
    "tf32",
    "onednn",
    "gpu_memory_limit_mb",
)
# Software versions are NOT a refusal: a dependency bump is one of the changes the gate exists
# to judge. A difference is printed as a note above the table instead.
SOFTWARE_KEYS = ("tensorflow_version", "keras_version", "numpy_version", "python_version")
# Keys of the JSON's `run` section that change what is measured: a throughput at another batch,
# accuracies from another mode, dataset, profile or seed, latencies from another budget (fewer
# rounds: other minima) or batch, normalised by another reference workload. A difference is a
# refusal unless --allow-different-settings. `latency_budget_s` is compared where a file has it
# (the suite does not write it yet); a key on one side only counts as a difference, since the
# two settings are not known to match.
RUN_KEYS = (
    "accuracy_source",
    "dataset",
    "profile",
    "seed",
    "latency_batch_size",
    "latency_budget_s",
    "latency_reference",
    "throughput_batch_size",
)


def _positive(values: Any, source: str, name: str, what: str) -> np.ndarray:
    """`values` as a float array of positive finite numbers, else one sentence."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise GateInputError(f"{source}: benchmark {name!r} has non-numeric {what}.") from None
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise GateInputError(f"{source}: benchmark {name!r} has {what} that are not > 0.")
    return array


def samples(bench: Mapping[str, Any], source: str) -> np.ndarray:
    """Raw per-call latency samples of one benchmark entry, in seconds.

    Raises:
        GateInputError: no samples, or samples that are not positive finite numbers.
    """
    data = (bench.get("stats") or {}).get("data")
    name = bench.get("name", "?")
    if not isinstance(data, list) or not data:
        raise GateInputError(
            f"{source}: benchmark {name!r} has no raw samples (stats.data); write the file with "
            "--benchmark-json, which keeps them."
        )
    return _positive(data, source, name, "samples")


def reference(bench: Mapping[str, Any], n_samples: int, source: str) -> np.ndarray | None:
    """The reference workload's samples aligned with `stats.data`, or None if absent.

    Raises:
        GateInputError: present but of another length than the samples, or not > 0.
    """
    ref = (bench.get("extra_info") or {}).get("reference_samples_s")
    if ref is None:
        return None
    name = bench.get("name", "?")
    values = _positive(ref, source, name, "reference samples")
    if values.ndim != 1 or values.size != n_samples:
        raise GateInputError(
            f"{source}: benchmark {name!r} has {values.size} reference samples for {n_samples} "
            "latency samples; they must be taken one per round (docs/contract.md)."
        )
    return values


def index_benchmarks(
    data: Mapping[str, Any], scenarios: Sequence[str], source: str, problems: list[str]
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The file's benchmark entries of `scenarios`, keyed (variant, scenario).

    A second entry for the same key is a problem (appended to `problems`), not a silent pick.
    """
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    for bench in data["benchmarks"]:
        extra = bench["extra_info"]
        key = (str(extra["variant"]), str(extra["scenario"]))
        if key[1] not in scenarios:
            continue
        if key in index:
            problems.append(f"{source} holds two {key[1]} benchmarks for {key[0]}.")
            continue
        index[key] = bench
    return index


def reason(record: Mapping[str, Any], key: str) -> str | None:
    """Why `key` is null in a variant record, from `unavailable` (its own entry, else "all")."""
    unavailable = record.get("unavailable") or {}
    return unavailable.get(key) or unavailable.get("all")


def scenario_reason(record: Mapping[str, Any], scenario: str) -> str | None:
    """Why a record has no benchmark of `scenario`: the reason given for a figure it fills."""
    for metric in metrics.timed_metrics(scenario):
        why = reason(record, metric.key)
        if why:
            return why
    return None


def _machine_value(info: Mapping[str, Any], key: str) -> Any:
    value = info.get(key)
    if key == "gpu" and isinstance(value, Mapping):
        return value.get("name")
    return value


def _differences(base: Mapping[str, Any], cur: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """ "key: baseline X, current Y" for each of `keys` whose values differ."""
    out = []
    for key in keys:
        b, c = _machine_value(base, key), _machine_value(cur, key)
        if b != c:
            out.append(f"{key}: baseline {b!r}, current {c!r}")
    return out


def machine_differences(
    base_info: Mapping[str, Any], cur_info: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Differences between two `machine_info` objects, node name and timestamps ignored.

    Returns:
        (machine, software): "key: baseline X, current Y" lines for MACHINE_KEYS (a refusal
        unless overridden) and for SOFTWARE_KEYS (a note).
    """
    return _differences(base_info, cur_info, MACHINE_KEYS), _differences(
        base_info, cur_info, SOFTWARE_KEYS
    )


def run_differences(base_run: Mapping[str, Any], cur_run: Mapping[str, Any]) -> list[str]:
    """ "key: baseline X, current Y" for each of RUN_KEYS that differs between two `run` sections.

    A key absent from both sections is equal; absent from one, it differs (None against X).
    """
    return _differences(base_run, cur_run, RUN_KEYS)
