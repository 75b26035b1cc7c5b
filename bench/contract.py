"""The suite's JSON contract: key names and one validator (docs/contract.md is the prose).

`bench/` writes files that satisfy `validate`; `reports/` and the gate call `load` on every file
they read, so a file that is not a suite JSON is refused in one sentence, never half-read.
Tests build files by hand and check that each kind of damage is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import metrics

# 2: the metric keys come from `bench.metrics`; published reference points travel in the file
# (`published_references`), so `reports/` reads nothing but the JSON (docs/contract.md).
CONTRACT_VERSION = 3

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
    version = data.get("contract_version")
    if version != CONTRACT_VERSION:
        raise ContractError(
            f"{source} was written by contract version {version!r}; this version reads "
            f"{CONTRACT_VERSION} (docs/contract.md lists the changes): rerun the suite."
        )
    _check_references(data.get("published_references"), source, hint)
    variants = data["variants"]
    if not isinstance(variants, dict):
        raise ContractError(f"{source}: 'variants' must be an object keyed by variant id; {hint}.")
    for vid, record in variants.items():
        if not isinstance(record, dict):
            raise ContractError(f"{source}: variants[{vid!r}] is not an object; {hint}.")
        missing = [k for k in variant_keys() if k not in record]
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


def _check_references(points: Any, source: str, hint: str) -> None:
    if not isinstance(points, list):
        raise ContractError(f"{source}: 'published_references' must be a list; {hint}.")
    for point in points:
        missing = [k for k in REFERENCE_KEYS if not isinstance(point, dict) or k not in point]
        if missing:
            raise ContractError(
                f"{source}: a published reference point lacks {', '.join(missing)}; {hint}."
            )


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
