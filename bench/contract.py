"""The suite's JSON contract: key names and one validator (docs/contract.md is the prose).

`bench/` writes files that satisfy `validate`; `reports/` and the gate call `load` on every file
they read, so a file that is not a suite JSON is refused in one sentence, never half-read.
A file of an older contract is upgraded on read (`upgrade`, one migration per version step),
with every figure the older contract lacked null and its reason in the record's `unavailable`;
a file of a newer contract is refused with a sentence asking for an upgrade.
Tests build files by hand and check that each kind of damage is named, and
tests/test_contract_migrations.py reads one real file of each older version.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import metrics

# 2: the metric keys come from `bench.metrics`; published reference points travel in the file
# (`published_references`), so `reports/` reads nothing but the JSON (docs/contract.md).
# 3: file size, energy, deployments, node, executor, GPU memory limit. Keys added since (a
# session's `session_rounds` and `stopped`, `run.input_shape`, the record's `cached_from`) are
# ignored by a version-3 reader and filled for older files by this one, so they did not need a
# version 4 (docs/contract.md, "Migration policy").
# 4: `throughput_images_per_s` (and a throughput entry's `extra_info.images_per_s`) is the batch
# over the 5 % quantile of the calls, no longer over their median (`metrics.THROUGHPUT_QUANTILE`):
# the same key with another meaning, so a new version, whose migration recomputes the figure
# from the file's own samples.
CONTRACT_VERSION = 4

ACCURACY_SOURCES = ("measured", "reported", "published")

BENCHMARK_EXTRA_KEYS = ("variant", "scenario", "batch_size", "device", "xla", "precision")

# What a variant record says about itself, besides its metrics.
RECORD_FIELDS = (
    "variant",
    "kind",
    "description",
    "layers",
    "accuracy_source",
    "accuracy_citation",
    "test_examples",
    "dataset",
    "input_shape",
    "profile",
    "seed",
    "epochs",
    "history",
    "recipe",
    "published",
    "seeds",
    "runs",
    "deployments",
    "inference_energy",
    "errors",
    "unavailable",
    "cached_from",
)
# Record fields that are numbers (the report reads them with the metrics).
NUMERIC_FIELDS = ("test_examples", "seed", "epochs")
# Keys of one entry of the top-level `published_references` list.
REFERENCE_KEYS = ("variant", "description", "accuracy", "test_examples", "dataset", "citation",
                  "costs")  # fmt: skip


def variant_keys() -> tuple[str, ...]:
    """Every key a `variants[id]` record carries: its fields, then the metrics' keys."""
    return (*RECORD_FIELDS, *metrics.record_keys())


def scenarios() -> tuple[str, ...]:
    """The timed benchmark scenarios (one pytest-benchmark entry per scenario and model)."""
    return metrics.scenarios()


class ContractError(ValueError):
    """A file is not a usable suite JSON; the message is one sentence for the user."""


def empty_variant_record(variant: str) -> dict[str, Any]:
    """A record with every contract key, figures `None`, lists and dicts empty."""
    record: dict[str, Any] = dict.fromkeys(variant_keys())
    record.update(
        variant=variant,
        layers=[],
        history=[],
        seeds=[],
        runs=[],
        deployments={},
        errors=[],
        unavailable={},
    )
    return record


_HINT = "produce it with `pytest bench --benchmark-json FILE` (or `python -m bench run`)"


def _check_shape(data: Any, source: str) -> None:
    """Refuse anything that is not a suite JSON of some contract version."""
    if not isinstance(data, dict):
        raise ContractError(f"{source} is not a benchmark JSON object; {_HINT}.")
    if "benchmarks" not in data or "machine_info" not in data:
        raise ContractError(
            f"{source} is not a pytest-benchmark JSON (no 'benchmarks' or 'machine_info'); {_HINT}."
        )
    if "variants" not in data:
        raise ContractError(
            f"{source} is a pytest-benchmark JSON without the suite's 'variants' section, "
            f"so it was not written by this project's suite; {_HINT}."
        )


def validate(data: Any, *, source: str = "the file") -> dict[str, Any]:
    """Check that `data` is a suite JSON of the current contract and return it.

    A file of an older contract passes only after `upgrade` (`load` does both).

    Raises:
        ContractError: naming the first thing that is wrong and what to do.
    """
    _check_shape(data, source)
    version = data.get("contract_version")
    if version != CONTRACT_VERSION:
        raise ContractError(
            f"{source} was written by contract version {version!r}; this version reads "
            f"{CONTRACT_VERSION} (docs/contract.md lists the changes): read it with "
            "`bench.contract.load`, which upgrades older files, or rerun the suite."
        )
    _check_references(data.get("published_references"), source, _HINT)
    variants = data["variants"]
    if not isinstance(variants, dict):
        raise ContractError(f"{source}: 'variants' must be an object keyed by variant id; {_HINT}.")
    for vid, record in variants.items():
        if not isinstance(record, dict):
            raise ContractError(f"{source}: variants[{vid!r}] is not an object; {_HINT}.")
        missing = [k for k in variant_keys() if k not in record]
        if missing:
            raise ContractError(
                f"{source}: variants[{vid!r}] lacks {', '.join(missing)}; "
                f"it was written by another contract version; {_HINT}."
            )
    if not isinstance(data["benchmarks"], list):
        raise ContractError(f"{source}: 'benchmarks' must be a list; {_HINT}.")
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        if not isinstance(extra, dict) or any(k not in extra for k in BENCHMARK_EXTRA_KEYS):
            name = bench.get("name", "?") if isinstance(bench, dict) else "?"
            raise ContractError(
                f"{source}: benchmark {name!r} lacks the suite's extra_info "
                f"({', '.join(BENCHMARK_EXTRA_KEYS)}); {_HINT}."
            )
    return data


def _check_references(points: Any, source: str, hint: str) -> None:
    if not isinstance(points, list):
        raise ContractError(f"{source}: 'published_references' must be a list; {hint}.")
    for point in points:
        missing = [k for k in REFERENCE_KEYS if not isinstance(point, dict) or k not in point]
        if missing:
            raise ContractError(
                f"{source}: a published reference point lacks {', '.join(missing)}; {hint}."
            )


# --- migrations -----------------------------------------------------------------------------
#
# As asv keeps its results files readable (`asv/results.py: Results.update_to_2`, applied in
# order up to the current `api_version` by `asv/util.py: update_json`), each step below turns a
# file of version n into one of version n + 1 and nothing more. Unlike asv, the file on disk is
# never rewritten: the upgrade happens on every read. A step adds what its version introduced:
# a record field, run or machine key is null (or empty) with a note, never a guessed figure.
# Metric keys are not migrated one by one: `_fill_later_keys` gives every metric of
# `bench.metrics` that a record lacks a null and a note, whatever the file's version, so a new
# metric row needs no migration (docs/contract.md, "Migration policy").


def _lacked(introduced: int) -> str:
    return f"not in this file: contract versions before {introduced} did not record it"


def _records(data: dict[str, Any]) -> list[dict[str, Any]]:
    variants = data.get("variants")
    return (
        [r for r in variants.values() if isinstance(r, dict)] if isinstance(variants, dict) else []
    )


def _extra_infos(data: dict[str, Any]) -> list[dict[str, Any]]:
    benches = data.get("benchmarks") if isinstance(data.get("benchmarks"), list) else []
    return [
        b["extra_info"]
        for b in benches
        if isinstance(b, dict) and isinstance(b.get("extra_info"), dict)
    ]


def _run(data: dict[str, Any]) -> dict[str, Any]:
    """The file's `run` object (a throwaway one when it is damaged: `validate` is not the
    judge of `run`, and a migration never makes up a missing section)."""
    run = data.get("run")
    return run if isinstance(run, dict) else {}


def _migrate_1_to_2(data: dict[str, Any]) -> None:
    """Contract 2 added per-seed `runs` and `seeds`, `published_references` in the file, and
    the run's latency budget, timing description and job count."""
    for record in _records(data):
        # A contract-1 run had one job per model, with the seed its record names (the writer
        # of contract 2 lists that one seed too). Its figures stay on the record: readers fall
        # back to the record when `runs` is empty, as for a reported accuracy.
        seed = record.get("seed")
        record.setdefault("seeds", [] if seed is None else [seed])
        record.setdefault("runs", [])
    # Contract 1's report took the published points from its own module: the file has none.
    data.setdefault("published_references", [])
    run = _run(data)
    for key in ("latency_budget_s", "timing", "parallel_jobs"):
        run.setdefault(key, None)
    if run.get("seed") is not None:
        run.setdefault("seeds", [run["seed"]])  # one training seed per run before --seeds
    # The reference workload moved module in 3c12699, its code unchanged ("it must never change").
    if run.get("latency_reference") == "bench.latency.reference_workload":
        run["latency_reference"] = "bench.measure.timing.reference_workload"


def _migrate_2_to_3(data: dict[str, Any]) -> None:
    """Contract 3 added deployments, the inference-energy window, the node, the executor and
    the GPU memory limit (its new metric keys come from `_fill_later_keys`)."""
    # Version 2 grew while it was current: a file written early in it (3c12699 to 3ad7310)
    # lacks `seeds`, `runs` or `published_references`. Step 1->2 only adds what is missing, so
    # it completes such a file and leaves a later one as it is.
    _migrate_1_to_2(data)
    for record in _records(data):
        record.setdefault("deployments", {})
        if "inference_energy" not in record:
            record["inference_energy"] = None
            _note(record, "inference_energy", _lacked(3))
    run = _run(data)
    run.setdefault("deployments", ["keras"])  # the model as built, the only one timed before 3
    run.setdefault("executor", None)
    data["machine_info"].setdefault("gpu_memory_limit_mb", None)
    for extra in _extra_infos(data):
        # Before contract 3 only the model as built was timed.
        extra.setdefault("deployment", "keras")


def _migrate_3_to_4(data: dict[str, Any]) -> None:
    """Contract 4 reads throughput as the batch over the 5 % quantile of the calls (contract 3:
    over their median): each figure is recomputed from its benchmark's raw samples, which
    every suite file keeps; a figure whose samples are not there becomes null with its reason,
    never a median read as the new figure."""
    metric = metrics.get("throughput_images_per_s")
    records = {r.get("variant"): r for r in _records(data)}
    recomputed: set[int] = set()
    for bench in data.get("benchmarks") or ():
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        if not isinstance(extra, dict) or extra.get("scenario") != metric.scenario:
            continue
        record = records.get(extra.get("variant"))
        deployment = extra.get("deployment", "keras")
        if record is not None and deployment != "keras":
            record = (record.get("deployments") or {}).get(deployment)
        figure = _recomputed_rate(bench, extra)
        if "images_per_s" in extra:
            extra["images_per_s"] = figure
        if isinstance(record, dict) and metric.key in record:
            record[metric.key] = figure
            recomputed.add(id(record))
            if figure is None:
                _note(record, metric.key, _NO_SAMPLES)
    for record in _records(data):
        rows = [record, *[d for d in (record.get("deployments") or {}).values()
                          if isinstance(d, dict)]]  # fmt: skip
        for row in rows:  # a figure with no benchmark left to recompute it from
            if row.get(metric.key) is not None and id(row) not in recomputed:
                row[metric.key] = None
                _note(row, metric.key, _NO_SAMPLES)


_NO_SAMPLES = (
    "contract 4 reads throughput as the batch over the 5 % quantile of the calls, and this file "
    "(contract 3: over their median) lacks the calls to recompute it; rerun the suite"
)


def _recomputed_rate(bench: dict[str, Any], extra: dict[str, Any]) -> float | None:
    """Images/s of one throughput entry under contract 4, or None without usable samples."""
    stats = bench.get("stats")
    samples = stats.get("data") if isinstance(stats, dict) else None
    batch = extra.get("batch_size")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1 or not samples:
        return None
    try:
        values = [float(x) for x in samples]
    except (TypeError, ValueError):
        return None
    if not all(v > 0 and math.isfinite(v) for v in values):
        return None
    return metrics.images_per_s(values, batch, metrics.THROUGHPUT_QUANTILE)


# MIGRATIONS[n] upgrades a file of contract version n to n + 1, in place.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
}


def _note(record: dict[str, Any], key: str, reason: str) -> None:
    unavailable = record.get("unavailable")
    if not isinstance(unavailable, dict):
        unavailable = record["unavailable"] = {}
    unavailable.setdefault(key, reason)


# Record fields added while version 3 was current, each with its value in a file written
# before it. `cached_from` (the records cache, d6af72a): null means this run measured the
# architecture-only figures itself, as every run before the cache did. A reader of version 3
# ignores such a key, so it needs no new version, only this default (docs/contract.md).
LATER_FIELDS: dict[str, Any] = {"cached_from": None}


def _fill_later_keys(data: dict[str, Any], version: int) -> list[str]:
    """Give every metric key a record lacks a null and a note, and every later field its
    default; returns the keys filled."""
    filled: dict[str, None] = {}
    for record in _records(data):
        for key, default in LATER_FIELDS.items():
            if key not in record:
                record[key] = copy.deepcopy(default)
                filled[key] = None
        for key in metrics.record_keys():
            if key not in record:
                record[key] = None
                _note(record, key, f"not in this file: it was written (contract version "
                      f"{version}) before the suite recorded {key}")  # fmt: skip
                filled[key] = None
    return list(filled)


def _needs_fill(data: dict[str, Any]) -> bool:
    keys = (*LATER_FIELDS, *metrics.record_keys())
    return any(k not in r for r in _records(data) for k in keys)


def upgrade(data: Any, *, source: str = "the file") -> dict[str, Any]:
    """`data` as a file of the current contract: older versions migrated, missing metrics null.

    A current file with every key is returned as it is; otherwise a copy is changed, and its
    `run.contract_migration` says what was done: `{"from_version", "applied" (e.g. ["1->2",
    "2->3"]), "filled" (keys added: metrics as null, `LATER_FIELDS` with their default),
    "note"}`. Every null added for a figure has its reason in the record's `unavailable`. The
    result still goes through `validate`.

    Raises:
        ContractError: not a suite JSON, a version this code does not know, or a newer one.
    """
    _check_shape(data, source)
    version = data.get("contract_version")
    if type(version) is not int or version < min(MIGRATIONS):  # not a bool, float or string
        raise ContractError(
            f"{source} names contract version {version!r}, which no version of this project "
            f"wrote (known: 1 to {CONTRACT_VERSION}); {_HINT}."
        )
    if version > CONTRACT_VERSION:
        raise ContractError(
            f"{source} was written by contract version {version}, newer than the "
            f"{CONTRACT_VERSION} this copy of the project reads: upgrade the project (git pull, "
            "or pip install -U) to read it."
        )
    if version == CONTRACT_VERSION and not _needs_fill(data):
        return data
    data = copy.deepcopy(data)
    steps = range(version, CONTRACT_VERSION)
    for step in steps:
        MIGRATIONS[step](data)
    data["contract_version"] = CONTRACT_VERSION
    filled = _fill_later_keys(data, version)
    applied = [f"{step}->{step + 1}" for step in steps]
    note = (
        f"read as contract {CONTRACT_VERSION} from a file of contract {version}"
        + (f" (migrations {', '.join(applied)})" if applied else "")
        + "; figures that version did not record are null, each with its reason"
    )
    _run(data)["contract_migration"] = {
        "from_version": version, "applied": applied, "filled": filled, "note": note,
    }  # fmt: skip
    return data


def load(path: str | Path) -> dict[str, Any]:
    """Read one suite JSON file, upgrade it to the current contract and validate it.

    Raises:
        ContractError: the file is missing, empty, not JSON, not a suite JSON, or of a
            contract version this code does not read.
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
    return validate(upgrade(data, source=str(path)), source=str(path))


# --- per-image predictions and labels ------------------------------------------------------------


def encode_classes(classes: Any) -> dict[str, Any]:
    """Class indices (one per test image) as a compact JSON object with a checksum.

    `{"encoding": "base64-uint8" | "base64-uint16le", "length": n, "sha256": hex of the raw
    bytes, "data": base64}`: 10,000 CIFAR-10 predictions take 13 kB.
    """
    import base64
    import hashlib

    import numpy as np

    values = np.asarray(classes).reshape(-1)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValueError("class indices must lie in [0, 65535]")
    dtype, name = (np.uint8, "base64-uint8") if values.size == 0 or values.max() < 256 else (
        np.dtype("<u2"), "base64-uint16le")  # fmt: skip
    raw = values.astype(dtype).tobytes()
    return {
        "encoding": name,
        "length": int(values.size),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "data": base64.b64encode(raw).decode("ascii"),
    }


def decode_classes(encoded: dict[str, Any], *, source: str = "the file") -> Any:
    """The class indices `encode_classes` wrote, checked against their length and checksum.

    Raises:
        ContractError: an unknown encoding, or data that does not match its length or checksum.
    """
    import base64
    import binascii
    import hashlib

    import numpy as np

    dtypes = {"base64-uint8": np.uint8, "base64-uint16le": np.dtype("<u2")}
    try:
        dtype = dtypes[encoded["encoding"]]
        raw = base64.b64decode(encoded["data"], validate=True)
        values = np.frombuffer(raw, dtype=dtype).astype(np.int64)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ContractError(
            f"{source}: per-image classes that cannot be decoded ({exc})."
        ) from None
    if len(values) != encoded.get("length") or hashlib.sha256(raw).hexdigest() != encoded.get(
        "sha256"
    ):
        raise ContractError(
            f"{source}: per-image classes whose length or checksum does not match; the file is "
            "damaged: rerun the suite."
        )
    return values
