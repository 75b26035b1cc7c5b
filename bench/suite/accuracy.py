"""Test accuracy of one model and where it comes from: the report, a training run, or user weights.

Three sources, never mixed up: `reported` takes the figure published for the model (the course
report's for v01-v10, the paper's for the references), labelled "reported" or "published";
`trained` runs the model's recipe (`bench.training.fit.train_variant`, cached and resumable)
and evaluates it; `loaded` evaluates the user's own `.keras` file after checking its
architecture. Each returns the record fields it fills; a fault the user can cause is a
`TrainingError` or `WeightsError` with one sentence, raised for the caller to record.
`tests/test_suite_integration.py` runs all three through the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from bench.training import fit as training
from bench.training.weights import load_user_model


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
) -> tuple[keras.Model, dict[str, Any]]:
    """Train `entry` with its recipe (or take the run from the cache) and evaluate it.

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
    )
    return result.model, {
        "accuracy": result.test_accuracy,
        "accuracy_source": "measured",
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
    }


def loaded(entry: Any, data: Any, *, weights_dir: Path) -> tuple[keras.Model, dict[str, Any]]:
    """Evaluate the user's `<weights_dir>/<id>.keras` on the test set.

    Raises:
        WeightsError: the file is missing, unreadable or another architecture.
    """
    path = Path(weights_dir) / f"{entry.id}.keras"
    model = load_user_model(
        path, entry, input_shape=tuple(data.input_shape), num_classes=data.num_classes
    )
    return model, {
        "accuracy": training.evaluate(model, data.x_test, data.y_test),
        "accuracy_source": "measured",
        "dataset": data.name,
        "test_examples": len(data.y_test),
        "model_path": str(path),
    }
