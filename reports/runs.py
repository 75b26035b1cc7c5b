"""Training runs (one per model and seed): their accuracies, predictions, histories, and what they
add to the report: per-class accuracy and time to accuracy.

Claims:

* A record's `runs` (one per seed, docs/contract.md) become rows of `trainings`; a record of an
  older shape, or one with a single measured accuracy and no `runs`, becomes one row. Each row
  keeps its run identity (the training's cache key, else the weights file), so the same run met
  twice (the same file passed twice, a rerun whose model came from the cache) is counted once.
* Per-class accuracy: for each model, the fraction of each class's test images predicted right,
  averaged over its runs; only from runs whose predictions and labels are in the file.
* Time to accuracy (DAWNBench's metric): for each run, the cumulative training time at the end
  of the first epoch whose validation accuracy reached the target; pooled over seeds as the
  median of the runs that reached it, with how many did.

`tests/test_seeds.py` checks the rows, the de-duplication, per-class accuracy and time to
accuracy on hand-made runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bench.contract import decode_classes

TRAINING_COLUMNS = [
    "run", "variant", "seed", "accuracy", "flag", "test_examples", "run_id", "labels_sha256",
    "predictions", "train_time_s", "train_device", "from_cache", "train_images_per_s",
]  # fmt: skip
HISTORY_COLUMNS = ["run", "variant", "seed", "epoch", "cumulative_s", "accuracy", "val_accuracy"]
TARGETS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)  # validation accuracies; those some run reached


def run_identity(run: dict[str, Any], record: dict[str, Any]) -> str | None:
    """What makes a measured accuracy one training run: its cache key (architecture, recipe,
    data, profile, seed, precision, XLA, versions), else the weights file it was loaded from."""
    key = (run.get("train_provenance") or {}).get("key")
    if key:
        return f"trained:{key}"
    path = run.get("model_path") or record.get("model_path")
    return f"loaded:{path}" if path else None


def _runs_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    runs = record.get("runs") or []
    if runs:
        return runs
    if record.get("accuracy_source") == "measured" and record.get("accuracy") is not None:
        return [record]  # one measured accuracy and no `runs`: the record is its run
    return []


def training_rows(run_index: int, vid: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measured training run of one model in one file."""
    rows = []
    for run in _runs_of(record):
        labels = run.get("test_labels_sha256") or (record.get("test_labels") or {}).get("sha256")
        rows.append(
            {
                "run": run_index,
                "variant": vid,
                "seed": run.get("seed", record.get("seed")),
                "accuracy": run.get("accuracy"),
                "flag": run.get("accuracy_flag"),
                "test_examples": run.get("test_examples", record.get("test_examples")),
                "run_id": run_identity(run, record),
                "labels_sha256": labels,
                "predictions": run.get("predictions"),
                "train_time_s": run.get("train_time_s"),
                "train_device": run.get("train_device"),
                "from_cache": run.get("from_cache"),
                "train_images_per_s": run.get("train_images_per_s"),
            }
        )
    return rows


def history_rows(run_index: int, vid: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-epoch history of every run of one model in one file, with its seed."""
    keys = ("epoch", "cumulative_s", "accuracy", "val_accuracy")
    return [
        {"run": run_index, "variant": vid, "seed": run.get("seed", record.get("seed")),
         **{k: entry.get(k) for k in keys}}
        for run in (_runs_of(record) or [record])
        for entry in run.get("history") or ()
    ]  # fmt: skip


def distinct(trainings: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The runs with repeats of an identity dropped (first kept), and how many were dropped."""
    repeated = trainings["run_id"].notna() & trainings["run_id"].duplicated()
    return trainings[~repeated], int(repeated.sum())


def per_class_accuracy(
    trainings: pd.DataFrame, labels: dict[str, Any], class_names: Iterable[str] | None
) -> pd.DataFrame:
    """Rows: models; columns: classes; values: accuracy on that class, mean over the runs."""
    rows = {}
    for vid, group in trainings.groupby("variant", sort=False):
        per_run = []
        for _, run in group.iterrows():
            encoded = labels.get(run["labels_sha256"]) if run["labels_sha256"] else None
            if not isinstance(run["predictions"], dict) or encoded is None:
                continue
            truth = decode_classes(encoded)
            predicted = decode_classes(run["predictions"])
            classes = np.unique(truth)
            per_run.append([float(np.mean(predicted[truth == c] == c)) for c in classes])
        if per_run:
            rows[vid] = np.mean(np.asarray(per_run), axis=0)
    if not rows:
        return pd.DataFrame()
    names = list(class_names or [])
    width = len(next(iter(rows.values())))
    columns = names if len(names) == width else [f"class {i}" for i in range(width)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def _first_reaching(history: pd.DataFrame, target: float) -> float:
    reached = history[history["val_accuracy"] >= target]
    return float(reached["cumulative_s"].iloc[0]) if not reached.empty else math.nan


def time_to_accuracy(history: pd.DataFrame) -> pd.DataFrame:
    """Per model and target: seconds to reach it (median over the runs that did), and counts.

    Returns:
        Columns `variant`, `target`, `seconds`, `reached` (runs that reached it), `runs`, and
        `per_run` (tuple of each run's seconds, NaN where it did not reach the target).
    """
    data = history.dropna(subset=["cumulative_s", "val_accuracy"])
    if data.empty:
        return pd.DataFrame(columns=["variant", "target", "seconds", "reached", "runs", "per_run"])
    best = data["val_accuracy"].max()
    rows = []
    for vid, model in data.groupby("variant", sort=False):
        curves = [g.sort_values("epoch") for _, g in model.groupby(["run", "seed"], sort=False)]
        for target in (t for t in TARGETS if t <= best):
            times = tuple(_first_reaching(curve, target) for curve in curves)
            done = [s for s in times if not math.isnan(s)]
            rows.append(
                {"variant": vid, "target": target,
                 "seconds": float(np.median(done)) if done else math.nan,
                 "reached": len(done), "runs": len(times), "per_run": times}
            )  # fmt: skip
    return pd.DataFrame(rows)
