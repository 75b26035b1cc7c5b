"""User plugins: modules or `.py` files that call `architectures.register(...)`.

The suite imports them in the pytest process and in every worker process, so a user model is
measured like the report's ten. A plugin that cannot be imported is one sentence for the user
(`PluginError`), never a traceback of ours. Importing them is `architectures.plugins` (the gates
need it too); the checks of what they registered are here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def head_mismatch(variant: str, model: Any, num_classes: int, dataset: str) -> str | None:
    """One sentence when `model` does not end in one score per class of `dataset`, else None.

    Checked before any step of the model runs: otherwise TensorFlow fails deep inside the memory
    step and the training, with pages of tracebacks that never name the cause.
    """
    shape = getattr(model, "output_shape", None)
    if isinstance(shape, tuple) and len(shape) == 2 and shape[-1] == num_classes:
        return None
    return (
        f"{variant} outputs shape {shape} but the dataset {dataset} has {num_classes} classes; "
        "its builder must return (batch, num_classes) scores for the num_classes it is given."
    )


def check_heads(
    entries: Iterable[Any], dataset: str, image_size: tuple[int, int] | None = None
) -> None:
    """Build every user model for `dataset` and refuse the first with the wrong head.

    The project's own entries are left out (their tests build them for every class count); a
    user model that cannot be built at the data's size at all is left to its worker, which says
    so in its record (`build_failure`).

    Raises:
        PluginError: a user model's output does not fit the dataset's classes.
    """
    from architectures.plugins import PluginError  # here: importing architectures loads Keras
    from bench.training.datasets import dataset_shape

    input_shape, num_classes = dataset_shape(dataset, image_size=image_size)
    for entry in entries:
        if entry.kind != "user":
            continue
        try:
            model = entry.build(input_shape, num_classes)
        except Exception:  # the worker names the cause in the model's record
            continue
        problem = head_mismatch(entry.id, model, num_classes, dataset)
        if problem is not None:
            raise PluginError(problem)


def build_failure(model_id: str, input_shape: tuple[int, ...], exc: Exception) -> str:
    """One sentence for a builder that raised at this input shape (a model that pools a small
    image away, a `keras.applications` model under its minimum size). Keras puts "Exception
    encountered when calling ..." first and the cause, in ANSI bold, after it."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    causes = [line for line in lines if line and not line.startswith("Exception encountered")]
    cause = causes[0] if causes else type(exc).__name__
    size = "x".join(str(d) for d in input_shape)
    return f"{model_id} cannot be built for {size} images: {cause.rstrip('.')}."


REFERENCE_SETS = ("none", "keras")  # --references


def add_references(which: str | None) -> None:
    """Register the reference models `--references` names: "keras" adds MobileNetV2,
    EfficientNet-B0 and ResNet50 from `keras.applications` (architectures/keras_references.py);
    "none" (or None) adds nothing. Called in the suite's process and in every worker."""
    if which in (None, "none"):
        return
    import architectures
    from architectures.keras_references import register_keras_references

    register_keras_references(architectures.register, architectures.VARIANTS)
