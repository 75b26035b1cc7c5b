"""Deployments in the suite: every model converted to each asked-for runtime, timed beside the
others, and evaluated on the test set when its weights were trained or loaded here.

`--deployments keras,xla,...` (default `keras` only: today's `tf.function`, the main record). For
each other deployment and model, `convert_all` builds it once in the pytest process, after every
worker job and before any timing (`bench.measure.deploy`: file size, conversion time, threads;
full int8 calibrated on `CALIBRATION_IMAGES` training images of the run's dataset). The
deployments' batch-1 calls join the latency session and their batched calls the throughput
session under the point name `<model>@<deployment>` (`point`), so they are interleaved with the
models under the same rules. `evaluate_all` records each deployment's predicted class for every
test image; the report computes its accuracy, the change against the keras float32 model and
McNemar's test from them. A deployment that fails to convert or to run is one sentence in its
own row (`errors`); everything else is measured.

`tests/test_deploy_suite.py` runs the suite with several deployments on small models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bench.contract import encode_classes
from bench.measure import deploy
from bench.suite.presentation.progress import UNSEEN, Progress

CALIBRATION_IMAGES = 300  # "a few hundred" training images for full-integer calibration
SEPARATOR = "@"


class DeploymentsOptionError(ValueError):
    """A `--deployments` value that names an unknown deployment."""


def parse_deployments(text: str) -> tuple[str, ...]:
    """`"keras,litert_int8_dynamic"` -> the names, `keras` first; `"all"` -> every deployment.

    Raises:
        DeploymentsOptionError: an unknown name (the message lists the known ones).
    """
    listed = tuple(n.strip() for n in text.split(",") if n.strip())
    names = deploy.DEPLOYMENTS if text.strip() == "all" else listed
    unknown = [n for n in names if n not in deploy.DEPLOYMENTS]
    if unknown:
        raise DeploymentsOptionError(
            f"unknown deployment {unknown[0]!r} in --deployments; known: "
            f"{', '.join(deploy.DEPLOYMENTS)} (or all)."
        )
    return ("keras", *(n for n in dict.fromkeys(names) if n != "keras"))


def point(variant: str, deployment: str) -> str:
    """The name of one model in one deployment in sessions and benchmark ids: `v10@xla`."""
    return variant if deployment == "keras" else f"{variant}{SEPARATOR}{deployment}"


def split_point(name: str) -> tuple[str, str]:
    """`"v10@xla"` -> ("v10", "xla"); `"v10"` -> ("v10", "keras")."""
    variant, _, deployment = name.partition(SEPARATOR)
    return variant, deployment or "keras"


def convert_all(
    models: Mapping[str, Any],
    names: tuple[str, ...],
    calibration: np.ndarray | None,
    progress: Progress = UNSEEN,
) -> dict[str, dict[str, deploy.Deployment | deploy.DeploymentError]]:
    """Every model in every deployment of `names` but keras: model -> name -> result
    (`progress` hears of each model as its conversions start and end)."""
    others = tuple(n for n in names if n != "keras")
    if not others:
        return {}
    found = {}
    for vid, model in models.items():
        progress.start(vid, f"{len(others)} deployments")
        found[vid] = deploy.deploy_all(
            model, deployments=others, model_name=vid, representative_images=calibration
        )
        progress.done(vid)
    return found


def timed_points(
    converted: Mapping[str, Mapping[str, Any]], *, batch_size: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """The `Timed` of every converted deployment at `batch_size`, and why the others have none."""
    timed, dropped = {}, {}
    for vid, results in converted.items():
        for name, result in results.items():
            key = point(vid, name)
            if isinstance(result, deploy.DeploymentError):
                dropped[key] = str(result)
                continue
            try:
                timed[key] = result.timed(batch_size=batch_size)
            except deploy.DeploymentError as exc:
                dropped[key] = str(exc)
    return timed, dropped


def records(converted: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> deployment -> its JSON row (figures, provenance, or the error sentence)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for vid, results in converted.items():
        for name, result in results.items():
            if isinstance(result, deploy.DeploymentError):
                row = {"deployment": name, "errors": [str(result)], "unavailable": {}}
            else:
                row = {**result.record(), "errors": [], "unavailable": {}}
            rows.setdefault(vid, {})[name] = row
    return rows


def converted_points(converted: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """`<model>@<deployment>` of every conversion that succeeded, in order."""
    return [
        point(vid, name)
        for vid, results in converted.items()
        for name, result in results.items()
        if not isinstance(result, deploy.DeploymentError)
    ]


def evaluate_all(
    converted: Mapping[str, Mapping[str, Any]],
    rows: dict[str, dict[str, dict[str, Any]]],
    x_test: np.ndarray,
    y_test: np.ndarray,
    progress: Progress = UNSEEN,
) -> None:
    """Add each deployment's predicted classes on the test set to its row (errors as a sentence;
    `progress` hears of each point, `<model>@<deployment>`, as it starts and ends)."""
    labels = encode_classes(np.asarray(y_test).reshape(-1))
    for vid, results in converted.items():
        for name, result in results.items():
            if isinstance(result, deploy.DeploymentError):
                continue
            row = rows[vid][name]
            progress.start(point(vid, name), f"{len(x_test)} test images")
            try:
                row["predictions"] = encode_classes(result.predict_classes(x_test))
                row["test_labels_sha256"] = labels["sha256"]
            except deploy.DeploymentError as exc:
                row["errors"].append(str(exc))
            progress.done(point(vid, name))
