"""Reference points at the user's image size: three `keras.applications` models, untrained.

`--references keras` registers MobileNetV2 (Sandler et al. 2018), EfficientNet-B0 (Tan & Le
2019) and ResNet50 (He et al. 2016) as kind "reference", built with `weights=None` for the run's
input shape and class count, so a user's models can be placed beside well-known architectures
on the user's own data. They have no published accuracy on that data: with `--accuracy train`
they are trained here with `KERAS_REFERENCE_RECIPE`, the recipe the report's variants use by
default, so that they are trained exactly as the user's models are (not with the papers'
ImageNet schedules, which would need weeks on this kind of machine).

Keras refuses inputs under 32x32 for these three (`imagenet_utils.obtain_input_shape`); at such
a size each is a one-sentence build failure in its record, and the others are still measured.
Their MACs at 224x224x3 are the papers' (tests/test_flops_applications.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from architectures.spec import Recipe

__all__ = ["KERAS_REFERENCES", "KERAS_REFERENCE_RECIPE", "register_keras_references"]

KERAS_REFERENCE_RECIPE = Recipe(
    optimizer="adam",
    batch_size=64,
    max_epochs=200,
    patience=10,
    augmentation=None,
    origin={
        "optimizer": "assumed",
        "batch_size": "assumed",
        "max_epochs": "assumed",
        "patience": "assumed",
        "augmentation": "assumed",
    },
    notes={
        "recipe": (
            "our choice: Adam at Keras' default learning rate (0.001), batch 64, up to 200 "
            "epochs with early stopping after 10 without improvement, no augmentation: the "
            "recipe of the course report's first variants, so that the references are trained "
            "as the user's models are; not the papers' ImageNet recipes"
        ),
    },
)

# id -> (keras.applications builder name, description)
KERAS_REFERENCES = {
    "keras_mobilenetv2": ("MobileNetV2", "MobileNetV2 1.0 (Sandler et al. 2018)"),
    "keras_efficientnetb0": ("EfficientNetB0", "EfficientNet-B0 (Tan & Le 2019)"),
    "keras_resnet50": ("ResNet50", "ResNet50 (He et al. 2016)"),
}


def keras_application(
    name: str, *, input_shape: tuple[int, int, int], num_classes: int
) -> keras.Model:
    """`keras.applications.<name>` untrained, for `input_shape` images and `num_classes`."""
    builder = getattr(keras.applications, name)
    return builder(weights=None, input_shape=tuple(input_shape), classes=num_classes)


def _builder(name: str) -> Callable[..., keras.Model]:
    def build(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
        return keras_application(name, input_shape=input_shape, num_classes=num_classes)

    build.__name__ = f"keras_{name.lower()}"
    return build


def register_keras_references(register: Callable[..., Any], known: Any) -> None:
    """Register the three references (kind "reference") unless already registered.

    Args:
        register: the registry's `register(id, builder, recipe, *, published, description,
            kind)`.
        known: the registry, to skip ids registered already (a worker may be asked twice).
    """
    for ref_id, (name, description) in KERAS_REFERENCES.items():
        if ref_id in known:
            continue
        register(
            ref_id,
            _builder(name),
            KERAS_REFERENCE_RECIPE,
            published=None,
            description=f"{description}, keras.applications, weights=None: reference",
            kind="reference",
        )
