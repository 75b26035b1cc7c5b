"""Reading what the two-file gate compares: raw samples, reference samples, benchmark entries,
the points (models and model@deployment), their accuracy evidence, and the settings that must
match.

Claim: every input is validated once, before any comparison. A sample list that is absent,
non-numeric (a string, a boolean), not positive or of another length than its reference is
refused in one sentence naming the file and the benchmark (`GateInputError`), never half-read;
a gated figure or a run's accuracy that is NaN, infinite, a string, a boolean, a negative cost or
an accuracy outside [0, 1] is refused in one sentence naming the file, the model and the field
(`validate_figures`, through `bench.compare.figure`). A deployment's benchmarks and record are a
point of their own, `model@deployment`, gated like a model. Two files from different hardware or
timing settings are told apart from files that differ only in software versions (a refusal
against a note); so are two runs made with different suite settings (the `run` section: batch
sizes, accuracy mode, latency budget, ...), and, apart from those, two runs that do not share
their seeds, dataset or deployment set (`mixed_differences`). Files are validated against the
contract first (`bench.contract.load`).

How it is checked: `tests/test_gate.py` and `tests/test_gate_core.py` damage hand-made files one
way at a time (no reference, a reference of another length, other machines, another TensorFlow,
NaN, strings, booleans and negative figures or samples, damaged predictions, other seeds) and
assert the sentence and the exit code; `tests/test_gate_core.py` also gates the committed
deployments run against itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench import metrics
from bench.compare import InvalidFigure, Seeds, figure
from bench.contract import ContractError, decode_classes
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
# accuracies from another mode or profile, latencies from another budget (fewer rounds: other
# minima) or batch, normalised by another reference workload. A difference is a refusal unless
# --allow-different-settings. `latency_budget_s` is compared where a file has it; a key on one
# side only counts as a difference, since the two settings are not known to match.
RUN_KEYS = (
    "accuracy_source",
    "profile",
    "latency_batch_size",
    "latency_budget_s",
    "latency_reference",
    "throughput_batch_size",
)
# What two runs must share to be one comparison of models (issue 19): the dataset, the seeds of
# the accuracy runs (another seed set gives other accuracies and another seed noise) and the
# deployment set (another set gives other points). A difference is a refusal unless
# --allow-mixed, which labels the comparison as mixed.
MIXED_KEYS = ("dataset", "seed", "seeds", "deployments")
# The deployment the suite builds (`extra_info.deployment`): its benchmarks are the model's own.
OWN_DEPLOYMENT = "keras"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(values: Any, source: str, name: str, what: str) -> np.ndarray:
    """`values` as a float array of positive finite numbers, else one sentence.

    Strings and booleans are refused even where NumPy would convert them ("1e-3", True).
    """
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        raise GateInputError(
            f"{source}: benchmark {name!r} has non-numeric {what} (a string, a boolean or a "
            "list); regenerate that file."
        )
    array = np.asarray(values, dtype=float)
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


def point_name(variant: str, deployment: Any) -> str:
    """The name a gate gives a point: the model's id, or `model@deployment` for a deployment."""
    if deployment in (None, OWN_DEPLOYMENT):
        return variant
    return f"{variant}@{deployment}"


def fingerprint(data: Any) -> str:
    """sha256 of a JSON value's content (keys sorted): the same file twice has one fingerprint."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def index_benchmarks(
    data: Mapping[str, Any],
    scenarios: Sequence[str],
    source: str,
    problems: list[str],
    notes: list[str] | None = None,
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The file's benchmark entries of `scenarios`, keyed (point, scenario).

    A deployment's entry is keyed by `model@deployment` (`point_name`). The same entry twice
    (same content) counts once, with a note in `notes`; a second, different entry for the same
    key is a problem (appended to `problems`), not a silent pick.
    """
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    for bench in data["benchmarks"]:
        extra = bench["extra_info"]
        point = point_name(str(extra["variant"]), extra.get("deployment"))
        key = (point, str(extra["scenario"]))
        if key[1] not in scenarios:
            continue
        if key in index and fingerprint(index[key]) == fingerprint(bench):
            if notes is not None:
                notes.append(f"{source} holds the same {key[1]} benchmark of {point} twice: "
                             "its samples are counted once.")  # fmt: skip
            continue
        if key in index:
            problems.append(f"{source} holds two {key[1]} benchmarks for {point}.")
            continue
        index[key] = bench
    return index


def points(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every record a gate compares: `variants[id]`, then each `variants[id].deployments[d]`
    under the name `id@d`."""
    out: dict[str, Mapping[str, Any]] = {}
    for vid, record in data["variants"].items():
        out[vid] = record
        for deployment, row in (record.get("deployments") or {}).items():
            if isinstance(row, Mapping):
                out[point_name(vid, deployment)] = row
    return out


def is_deployment(record: Mapping[str, Any]) -> bool:
    """A deployment's row (`variants[id].deployments[d]`) rather than a model's record."""
    return "deployment" in record and "variant" not in record


# ---------------------------------------------------------------------------------------------
# Figures, validated once


def _check(value: Any, source: str, point: str, key: str, problems: list[str]) -> None:
    try:
        figure(value, where=source, model=point, field=key, cost=key != "accuracy")
    except InvalidFigure as exc:
        problems.append(str(exc))


def validate_figures(data: Mapping[str, Any], gated: Sequence[str], source: str) -> list[str]:
    """One sentence per bad figure in the file: NaN, infinite, a string, a boolean, a negative
    cost or an accuracy outside [0, 1] (`bench.compare.figure`).

    Read: the `gated` keys of every model's record and every deployment's row, each run's
    accuracy and test-set size, and the record's test-set size. A null figure is not bad here
    (the gate says what a null means).
    """
    problems: list[str] = []
    for point, record in points(data).items():
        for key in (*gated, "test_examples"):
            if key in record:
                _check(record[key], source, point, key, problems)
        for i, run in enumerate(record.get("runs") or ()):
            if not isinstance(run, Mapping):
                problems.append(f"{source}: {point}'s runs[{i}] is not an object; regenerate "
                                "that file.")  # fmt: skip
                continue
            for key in ("accuracy", "test_examples"):
                _check(run.get(key), source, point, f"runs[{i}].{key}", problems)
    return problems


# ---------------------------------------------------------------------------------------------
# Accuracy evidence


def _correct(
    predictions: Any, labels_sha: Any, labels: Mapping[str, Any], source: str
) -> tuple[str, np.ndarray] | None:
    """(labels checksum, "this image right") where the file holds both; else None."""
    if not isinstance(predictions, Mapping) or not labels_sha or labels_sha not in labels:
        return None
    try:
        truth = decode_classes(labels[labels_sha], source=source)
        predicted = decode_classes(dict(predictions), source=source)
    except ContractError as exc:
        raise GateInputError(str(exc)) from None
    if truth.shape != predicted.shape:
        return None
    return str(labels_sha), predicted == truth


def _runs(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    runs = [run for run in record.get("runs") or () if run.get("accuracy") is not None]
    return runs or [record]


def accuracy_evidence(
    record: Mapping[str, Any], labels: Mapping[str, Any], source: str
) -> Seeds | None:
    """The accuracy evidence of one point (`bench.compare.Seeds`), or None when it has none.

    A model: the accuracies of its `runs` (one per seed), else its one `accuracy`; the
    test-set size from the runs or the record; per run, which test images it got right where
    the file holds its predictions and the labels (McNemar's test then applies between single
    runs). A deployment: its accuracy computed from its predictions and the labels.
    """
    if is_deployment(record):
        right = _correct(record.get("predictions"), record.get("test_labels_sha256"), labels,
                         source)  # fmt: skip
        if right is None:
            return None
        return Seeds((float(np.mean(right[1])),), int(right[1].size), (right,))
    if record.get("accuracy") is None:
        return None
    runs = _runs(record)
    sizes = {run.get("test_examples", record.get("test_examples")) for run in runs}
    n_test = sizes.pop() if len(sizes) == 1 else None
    correct = []
    for run in runs:
        right = _correct(run.get("predictions"), run.get("test_labels_sha256"), labels, source)
        if right is not None:
            correct.append(right)
    return Seeds(
        tuple(float(run["accuracy"]) for run in runs),
        int(n_test) if n_test else None,
        tuple(correct) if len(correct) == len(runs) else (),
    )


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


def mixed_differences(base_run: Mapping[str, Any], cur_run: Mapping[str, Any]) -> list[str]:
    """ "key: baseline X, current Y" for each of MIXED_KEYS (dataset, seeds, deployment set)
    that differs between two `run` sections; absent from both is equal."""
    return _differences(base_run, cur_run, MIXED_KEYS)
