"""Test accuracy of one model and where it comes from: the report, a training run, or user weights.

Three sources, never mixed up: `reported` takes the figure published for the model (the course
report's for v01-v10, the paper's for the references), labelled "reported" or "published";
`trained` runs the model's recipe (`bench.training.fit.train_variant`, cached and resumable)
and evaluates it; `loaded` evaluates the user's own `.keras` file after checking its
architecture. Each returns the record fields it fills; a fault the user can cause is a
`TrainingError` or `WeightsError` with one sentence, raised for the caller to record.

A measured accuracy comes with the predicted class of every test image (`predictions`, encoded by
`bench.contract.encode_classes`; the labels travel once per test set), so the report can pair
models image by image (McNemar's test) and show per-class accuracy. A model that did not learn is
flagged in one sentence (`learning_flag`): a test accuracy within `CHANCE_MARGIN` of chance, or
a training accuracy far above the test accuracy in inference mode (the symptom of
BatchNormalization statistics that have not settled). `tests/test_suite_integration.py` runs all
three sources through the suite; `tests/test_seeds.py` checks the flag and the pipeline rate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench import units
from bench.contract import encode_classes
from bench.training import fit as training
from bench.training.weights import load_user_model

CHANCE_MARGIN = 0.05  # within 5 points of chance (10 % for ten classes): it did not learn
TRAIN_TEST_GAP = 0.25  # training accuracy 25 points above test accuracy in inference mode


def learning_flag(accuracy: float, num_classes: int, history: list[dict[str, Any]]) -> str | None:
    """One sentence when a trained model did not learn, else None (module docstring)."""
    chance = 1.0 / num_classes
    if accuracy < chance + CHANCE_MARGIN:
        return (
            f"test accuracy {units.percent(accuracy)} is within "
            f"{units.points(CHANCE_MARGIN).lstrip('+')} of chance ({units.percent(chance)}): the "
            "model did not learn; give it more optimizer steps"
        )
    last = history[-1].get("accuracy") if history else None
    if last is not None and last - accuracy > TRAIN_TEST_GAP:
        return (
            f"training accuracy {units.percent(last)} but test accuracy {units.percent(accuracy)}"
            " in inference mode: the evaluated network is not the trained one (BatchNormalization"
            " statistics not settled?); give it more optimizer steps"
        )
    return None


def train_images_per_s(history: list[dict[str, Any]]) -> float | None:
    """Training images per second achieved by `fit`, validation passes excluded.

    The first epoch of a run includes tracing and is left out when there are later ones.
    """
    epochs = [h for h in history if h.get("train_s") and h.get("train_images")]
    steady = epochs[1:] or epochs
    if not steady:
        return None
    return sum(h["train_images"] for h in steady) / sum(h["train_s"] for h in steady)


def reported(entry: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The published figure of `entry` (course report or paper), with its citation.

    Returns:
        (fields, unavailable): `accuracy`, `accuracy_source`, `accuracy_citation`, `dataset`,
        `test_examples`; `unavailable["accuracy"]` says why when nothing was published.
    """
    published = entry.published
    accuracy = published.test_accuracy if published else None
    fields = {
        "accuracy": accuracy,
        "accuracy_source": "published" if entry.kind == "reference" else "reported",
        "accuracy_citation": (
            f"{published.citation}: {published.accuracy_note}" if published else None
        ),
        "dataset": "cifar10",
        "test_examples": published.test_examples if accuracy is not None else None,
    }
    unavailable = {}
    if accuracy is None:
        unavailable["accuracy"] = (
            published.accuracy_note if published else "no accuracy was published for this model"
        )
    return fields, unavailable


def trained(
    entry: Any,
    data: Any,
    *,
    profile: Any,
    cache_root: Path,
    seed: int,
    progress: Callable[[str], None],
    jit_compile: bool,
    concurrent_jobs: int = 1,
    wait: bool = True,
) -> dict[str, Any]:
    """Train `entry` with its recipe (or take the run from the cache) and evaluate it.

    `concurrent_jobs`: training jobs running at once on this machine (see `run_energy`).
    `wait`: wait for another run training the same cache entry (else a `TrainingError`).

    Raises:
        TrainingError: NaN loss, out of memory or unusable data, in one sentence.
    """
    result = training.train_variant(
        entry,
        data,
        profile=profile,
        cache_root=cache_root,
        seed=seed,
        progress=progress,
        jit_compile=jit_compile,
        energy_setup=training.EnergySetup(concurrent_jobs=concurrent_jobs),
        wait=wait,
    )
    joules, why = run_energy(result.provenance["segments"])
    flag = learning_flag(result.test_accuracy, data.num_classes, result.history)
    return {
        "accuracy": result.test_accuracy,
        "accuracy_source": "measured",
        "accuracy_flag": flag,
        "predictions": encode_classes(result.predictions),
        "test_labels": encode_classes(data.y_test),
        "train_images_per_s": train_images_per_s(result.history),
        "dataset": data.name,
        "profile": profile.name,
        "test_examples": result.test_examples,
        "train_time_s": result.train_time_s,
        "epochs": result.epochs,
        "history": result.history,
        "stopped_by": result.stopped_by,
        "from_cache": result.from_cache,
        "model_path": str(result.cache_dir / "final.keras"),
        # where and with what the training ran (a cached run may come from elsewhere)
        "train_provenance": result.provenance,
        "train_device": train_device(result.provenance["segments"]),
        "energy_train_j": joules,
        "unavailable": {} if why is None else {"energy_train_j": why},
    }


def train_device(segments: list[dict[str, Any]]) -> str:
    """The device a run trained on, from its sessions (a resumed run may span devices)."""
    devices = list(dict.fromkeys(str(s["device"]) for s in segments))
    return devices[0] if len(devices) == 1 else "several devices (" + ", ".join(devices) + ")"


def run_energy(segments: list[dict[str, Any]]) -> tuple[float | None, str | None]:
    """Gross joules of one training run: the sum of its sessions' energy windows, or why not.

    Refused (None, one sentence) when a session has no window (killed before its end, or
    trained by a version that did not measure energy), a window has no figure (no counter: its
    reason), the sessions read different counters (a run resumed on another device: their sum is
    no one device's energy), or other training jobs ran beside it (the counter covers the whole
    device, so this run's share cannot be told).
    """
    if not segments:
        return None, "no training session ran in this run"
    windows = [s.get("energy") for s in segments]
    if any(w is None for w in windows):
        return None, (
            "a training session of this run recorded no energy (killed before its end, or "
            "trained by a version that did not measure energy)"
        )
    missing = next((w for w in windows if w.get("joules") is None), None)
    if missing is not None:
        return None, missing.get("unavailable", {}).get("joules", "no energy figure")
    counters = sorted({f"{w['source']} ({w['device']})" for w in windows})
    if len(counters) > 1:
        return None, (
            f"the run's sessions read different counters ({' and '.join(counters)}); their sum "
            "is no one device's energy"
        )
    shared = max(int(s.get("concurrent_jobs") or 1) for s in segments)
    if shared > 1:
        return None, (
            f"{shared} training jobs ran at once and the {windows[0]['source']} counter covers "
            "the whole device, so this run's share cannot be told; train with --jobs 1"
        )
    return float(sum(w["joules"] for w in windows)), None


def loaded(entry: Any, data: Any, *, weights_dir: Path) -> dict[str, Any]:
    """Evaluate the user's `<weights_dir>/<id>.keras` on the test set.

    Raises:
        WeightsError: the file is missing, unreadable or another architecture.
    """
    path = Path(weights_dir) / f"{entry.id}.keras"
    model = load_user_model(
        path, entry, input_shape=tuple(data.input_shape), num_classes=data.num_classes
    )
    predictions = training.predict_classes(model, data.x_test)
    accuracy = float(np.mean(predictions == np.asarray(data.y_test).reshape(-1)))
    return {
        "accuracy": accuracy,
        "accuracy_source": "measured",
        "accuracy_flag": learning_flag(accuracy, data.num_classes, []),
        "predictions": encode_classes(predictions),
        "test_labels": encode_classes(data.y_test),
        "dataset": data.name,
        "test_examples": len(data.y_test),
        "model_path": str(path),
    }
