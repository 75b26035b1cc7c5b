"""Deployments on the frontier: every model × deployment is a point, and the report's question is
asked again per deployment ("is v10 worth it as int8 on this CPU?").

Claims:

* A point is one model in one deployment (`keras` is the model as the rest of the report measures
  it; `v10@litert_int8_dynamic` is v10 converted for LiteRT with int8 weights). Its costs are its
  batch-1 latency (timed in the same interleaved session as every other point), its time per
  image at the throughput batch, and its file size (the float32 `.keras` file for the TensorFlow
  runtimes, the flatbuffer for LiteRT).
* A point's accuracy is measured, never assumed: from its predicted class for every test image,
  when the weights were trained or loaded here. The change against the same model's keras
  float32 point and McNemar's exact test on the two prediction sets say what the conversion
  cost. In `reported` mode only the keras points have an accuracy (the report's figure); the
  others are left off the accuracy axes with that reason.
* The frontier across all points, for latency and for file size, uses the same rules as the
  report's frontiers (`reports.pareto`, `reports.noise`: ties are ties). The verdict per
  deployment is `reports.verdict.make_verdict` on that deployment's points alone.

`tests/test_report_deployments.py` checks the points, the separate frontier points and the
per-deployment verdict on hand-made files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bench import metrics
from bench.contract import decode_classes
from reports.noise import judges
from reports.pareto import Analysis, analyse
from reports.stats import estimate, mcnemar_p
from reports.verdict import Verdict, make_verdict

AXES = (
    metrics.get("latency_median_s"),
    replace(metrics.get("model_file_bytes"), label="File size of the deployed model",
            short="file size"),
    metrics.get("time_per_image_s"),
)  # fmt: skip
NO_ACCURACY_REPORTED = (
    "no accuracy in reported mode: only the keras float32 model has one (the report's figure); "
    "train or load the weights to evaluate each deployment"
)


def _accuracy(row: pd.Series, labels: dict[str, Any]) -> tuple[float, int | None, Any]:
    """(accuracy, test images, decoded predictions) of one point, NaN when it has none."""
    encoded = labels.get(row["labels"]) if isinstance(row["labels"], str) else None
    if isinstance(row["predictions"], dict) and encoded is not None:
        predicted, truth = decode_classes(row["predictions"]), decode_classes(encoded)
        return float(np.mean(predicted == truth)), len(truth), predicted
    if row["deployment"] == "keras" and row["reported_accuracy"] is not None:
        return float(row["reported_accuracy"]), row["test_examples"], None
    return math.nan, None, None


def _point(row: pd.Series, labels: dict[str, Any], keras: dict[str, Any]) -> dict[str, Any]:
    accuracy, n, predicted = _accuracy(row, labels)
    name = row["model"] if row["deployment"] == "keras" else f"{row['model']}@{row['deployment']}"
    est = estimate([accuracy], n) if not math.isnan(accuracy) else None
    point = {
        "variant": name, "model": row["model"], "deployment": row["deployment"],
        "kind": row.get("kind", "variant"),  # a reference stays one in every deployment
        "accuracy": accuracy, "accuracy_runs": (accuracy,) if est else (), "test_examples": n,
        "accuracy_low": est.low if est and est.low is not None else math.nan,
        "accuracy_high": est.high if est and est.high is not None else math.nan,
        "accuracy_source": "measured" if predicted is not None else "reported",
        "accuracy_predictions": ((row["labels"], row["predictions"]),) if predicted is not None
        else (),
        "latency_median_s": row["latency_median_s"], "model_file_bytes": row["file_size_bytes"],
        "time_per_image_s": 1.0 / row["throughput_images_per_s"]
        if row["throughput_images_per_s"] else math.nan,
        "conversion_s": row["conversion_s"], "errors": row["errors"], "threads": row["threads"],
        "accuracy_change": math.nan, "mcnemar_p": math.nan,
    }  # fmt: skip
    base = keras.get(row["model"])
    if predicted is not None and base is not None and row["deployment"] != "keras":
        point["accuracy_change"] = accuracy - base["accuracy"]
        point["mcnemar_p"] = mcnemar_p(predicted, base["predicted"], base["truth"])[0]
    reasons = {}
    if math.isnan(accuracy):
        reasons["accuracy"] = NO_ACCURACY_REPORTED if row["deployment"] != "keras" else (
            "no accuracy for this model")  # fmt: skip
    for key, why in (("latency_median_s", "not timed"), ("model_file_bytes", "no file size")):
        if point[key] is None or (isinstance(point[key], float) and math.isnan(point[key])):
            reasons[key] = "; ".join(row["errors"]) or why
    point["unavailable"] = reasons
    return point


def points(frame: pd.DataFrame, labels: dict[str, Any]) -> pd.DataFrame:
    """One row per model × deployment (the first file's, when several carry it)."""
    frame = frame.drop_duplicates(["model", "deployment"], keep="first")
    keras: dict[str, dict[str, Any]] = {}
    for _, row in frame[frame["deployment"] == "keras"].iterrows():
        encoded = labels.get(row["labels"]) if isinstance(row["labels"], str) else None
        if isinstance(row["predictions"], dict) and encoded is not None:
            predicted, truth = decode_classes(row["predictions"]), decode_classes(encoded)
            keras[row["model"]] = {
                "predicted": predicted, "truth": truth,
                "accuracy": float(np.mean(predicted == truth)),
            }  # fmt: skip
    table = pd.DataFrame([_point(row, labels, keras) for _, row in frame.iterrows()])
    for key in ("accuracy", "latency_median_s", "model_file_bytes", "time_per_image_s"):
        table[key] = pd.to_numeric(table[key]).astype(float)
    return table


@dataclass(frozen=True)
class DeploymentReport:
    """Everything the report shows about deployments.

    Attributes:
        points: one row per model × deployment (`points`).
        analysis: the frontier across all points, per axis of `AXES`.
        verdicts: deployment -> the report's verdict asked of that deployment's points.
    """

    points: pd.DataFrame
    analysis: Analysis
    verdicts: dict[str, Verdict]


def analyse_deployments(
    frame: pd.DataFrame, samples: pd.DataFrame, labels: dict[str, Any], *, device: str,
    dataset: str,
) -> DeploymentReport | None:  # fmt: skip
    """The deployment report, or None when the files hold no deployment but keras."""
    if frame.empty or set(frame["deployment"]) == {"keras"}:
        return None
    table = points(frame, labels)
    analysis = analyse(table, AXES, judges(table, samples, labels))
    verdicts = {}
    for name, group in table.groupby("deployment", sort=False):
        if group["accuracy"].notna().sum() < 2:
            continue
        sub = group.assign(variant=group["model"])
        if name == "keras":
            renamed = samples[~samples["variant"].str.contains("@", regex=False)]
        else:
            mine = samples[samples["variant"].str.endswith(f"@{name}")]
            renamed = mine.assign(variant=mine["variant"].str.removesuffix(f"@{name}"))
        result = analyse(sub, AXES, judges(sub, renamed, labels))
        verdicts[name] = make_verdict(sub, result, device=device, dataset=dataset, labels=labels)
    return DeploymentReport(table, analysis, verdicts)
