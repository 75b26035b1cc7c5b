"""Two `keras.applications` models registered as a user would (`--plugin`), built with
`weights=None` for any input size and class count: MobileNetV2 and EfficientNetB0.

Their MACs at 224x224x3 with 1,000 classes are the papers' (tests/test_flops_applications.py);
`tests/test_count.py` counts them through `python -m bench count`.
"""

from __future__ import annotations

import keras

import architectures


def mobilenet_v2(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """MobileNetV2 1.0 (Sandler et al. 2018), untrained."""
    return keras.applications.MobileNetV2(
        weights=None, input_shape=tuple(input_shape), classes=num_classes
    )


def efficientnet_b0(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """EfficientNet-B0 (Tan & Le 2019), untrained."""
    return keras.applications.EfficientNetB0(
        weights=None, input_shape=tuple(input_shape), classes=num_classes
    )


_RECIPE = architectures.Recipe(optimizer="adam", batch_size=64, patience=10)
for _id, _builder in (("mobilenetv2", mobilenet_v2), ("efficientnetb0", efficientnet_b0)):
    if _id not in architectures.VARIANTS:
        architectures.register(_id, _builder, _RECIPE, description=f"keras.applications {_id}")
