"""One file's deployment rows: each model's keras point and its other deployments, as read.

Kept apart from `reports.deployments` (which analyses them) so that `reports.data` can read
them without importing the analysis. `tests/test_report_deployments.py` checks them.
"""

from __future__ import annotations

from typing import Any


def rows(run: int, vid: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The keras point and every other deployment of one model in one file."""
    first = (record.get("runs") or [{}])[0]
    keras = {
        "run": run, "model": vid, "deployment": "keras", "kind": record.get("kind", "variant"),
        "file_size_bytes": record.get("model_file_bytes"),
        "conversion_s": None,
        "latency_median_s": record.get("latency_median_s"),
        "throughput_images_per_s": record.get("throughput_images_per_s"),
        "predictions": first.get("predictions"),
        "labels": first.get("test_labels_sha256"),
        "reported_accuracy": (
            record.get("accuracy") if record.get("accuracy_source") != "measured" else None
        ),
        "test_examples": record.get("test_examples"),
        "errors": (), "threads": None,
    }  # fmt: skip
    found = [keras] if record.get("deployments") else []
    for name, row in (record.get("deployments") or {}).items():
        found.append(
            {
                "run": run, "model": vid, "deployment": name, "kind": keras["kind"],
                "file_size_bytes": row.get("file_size_bytes"),
                "conversion_s": row.get("conversion_s"),
                "latency_median_s": row.get("latency_median_s"),
                "throughput_images_per_s": row.get("throughput_images_per_s"),
                "predictions": row.get("predictions"), "labels": row.get("test_labels_sha256"),
                "reported_accuracy": None, "test_examples": None,
                "errors": tuple(row.get("errors") or ()), "threads": row.get("threads"),
            }
        )  # fmt: skip
    return found
