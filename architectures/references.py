"""Published CIFAR-10 reference architectures: ResNet-20 and ResNet-56 of He et al. (2016).

These are measured on the same machine as the report's ten, so the report can place its models
next to a published efficiency point; their accuracy is the paper's, labelled as published.

The network is the CIFAR-10 ResNet of He, Zhang, Ren and Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016, §4.2: a 3x3 convolution with 16 filters, then three stages of `n` basic
blocks (two 3x3 convolutions each) with 16, 32 and 64 filters on 32x32, 16x16 and 8x8 maps, the
first convolution of stages 2 and 3 with stride 2, global average pooling and a 10-way softmax;
depth `6n + 2`. Shortcuts are identities; where the shape changes they are the paper's option A:
subsample by 2 and zero-pad the new channels, which adds no parameters.

Choices the paper leaves open, taken from its reference implementations: convolutions have no
bias (batch normalisation follows each one), He-normal initialisation ([13] in the paper), BN
after every convolution and ReLU after the addition. Keras' "same" padding for the stride-2
convolutions pads bottom/right only where Torch pads 1 on every side; this shifts the sampling
grid by one pixel and changes neither parameters nor MACs.

How this is checked (`tests/test_references.py`): parameter counts derived by hand from the
layer list and rounded as the paper rounds them (0.27 M, 0.85 M), MACs from
`bench/measure/flops.py` against the 40.55 M / 125.49 M figures quoted for option A, and a `.keras`
round trip in safe mode.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import keras

from architectures.spec import Published, Recipe

__all__ = [
    "RESNET_CITATION",
    "ResNetDepthError",
    "ZeroPadShortcut",
    "register_references",
    "resnet_cifar",
]

RESNET_CITATION = (
    "He et al. 2016; 'Deep Residual Learning for Image Recognition' by He, Zhang, Ren and Sun, "
    "CVPR 2016, §4.2 and Table 6"
)

_STAGE_FILTERS = (16, 32, 64)


class ResNetDepthError(ValueError):
    """A depth that is not 6n + 2 for some n >= 1."""


@keras.saving.register_keras_serializable(package="architectures")
class ZeroPadShortcut(keras.layers.Layer):
    """Option-A shortcut of He et al. (2016): subsample by `strides`, zero-pad the channels.

    `x[:, ::s, ::s, :]`, then `filters - C_in` zero channels split evenly before and after the
    input channels (as the authors' Torch code and its PyTorch ports do). No weights and no
    arithmetic: `bench/measure/flops.py` counts it as 0 FLOPs, which the TF profiler confirms
    (strided slice and pad are not floating-point work).

    Args:
        filters: channels of the output (at least the input's channels).
        strides: spatial subsampling factor.
    """

    def __init__(self, filters: int, strides: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)

    def _padding(self, channels: int) -> tuple[int, int]:
        extra = self.filters - channels
        if extra < 0:
            raise ValueError(
                f"{self.name}: cannot pad {channels} channels down to {self.filters}; "
                "filters must be at least the input's channels."
            )
        return extra // 2, extra - extra // 2

    def call(self, inputs: Any) -> Any:
        s = self.strides
        x = inputs[:, ::s, ::s, :]
        before, after = self._padding(inputs.shape[-1])
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [before, after]])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch, height, width, _ = input_shape

        def sub(d: int | None) -> int | None:
            return None if d is None else -(-d // self.strides)  # ceil, as ::s slicing gives

        return (batch, sub(height), sub(width), self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


def _conv(x: Any, *, filters: int, strides: int, name: str) -> Any:
    return keras.layers.Conv2D(
        filters=filters,
        kernel_size=(3, 3),
        strides=strides,
        padding="same",
        use_bias=False,  # BN follows; its beta is the bias
        kernel_initializer="he_normal",  # He et al. 2015, cited as [13] in §4.2
        name=name,
    )(x)


def _basic_block(x: Any, *, filters: int, strides: int, name: str) -> Any:
    y = _conv(x, filters=filters, strides=strides, name=f"{name}_conv1")
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.Activation("relu", name=f"{name}_relu1")(y)
    y = _conv(y, filters=filters, strides=1, name=f"{name}_conv2")
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = ZeroPadShortcut(filters=filters, strides=strides, name=f"{name}_shortcut")(x)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def resnet_cifar(
    depth: int, *, input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 10
) -> keras.Model:
    """Build the CIFAR ResNet of He et al. (2016) §4.2 with option-A shortcuts.

    Layers are named `stem_conv`, `stem_bn`, `stem_relu`, then `stage{s}_block{b}_conv1`,
    `_bn1`, `_relu1`, `_conv2`, `_bn2`, `_shortcut` (where the shape changes), `_add`, `_out`,
    then `avg_pool` and `predictions`.

    Args:
        depth: 6n + 2 weighted layers (20, 32, 44, 56, 110, ...).
        input_shape: height, width, channels of one image.
        num_classes: width of the softmax output.

    Returns:
        An uncompiled functional `keras.Model` named `resnet{depth}`.

    Raises:
        ResNetDepthError: `depth` is not 6n + 2 with n >= 1.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ResNetDepthError(
            f"ResNet depth {depth} is not 6n + 2 (n >= 1); use 20, 32, 44, 56 or 110."
        )
    blocks_per_stage = (depth - 2) // 6

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = _conv(inputs, filters=_STAGE_FILTERS[0], strides=1, name="stem_conv")
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.Activation("relu", name="stem_relu")(x)
    for s, filters in enumerate(_STAGE_FILTERS, start=1):
        for b in range(1, blocks_per_stage + 1):
            strides = 2 if (s > 1 and b == 1) else 1
            x = _basic_block(x, filters=filters, strides=strides, name=f"stage{s}_block{b}")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


# He et al. §4.2: "We use a weight decay of 0.0001 and momentum of 0.9 ... a mini-batch size of
# 128 ... start with a learning rate of 0.1, divide it by 10 at 32k and 48k iterations, and
# terminate training at 64k iterations, which is determined on a 45k/5k train/val split."
RESNET_RECIPE = Recipe(
    optimizer="sgd",
    learning_rate=0.1,
    momentum=0.9,
    batch_size=128,
    max_epochs=164,
    patience=None,
    augmentation=None,
    validation_examples=5000,
    weight_decay=1e-4,
    origin={
        "optimizer": "stated",
        "learning_rate": "stated",
        "momentum": "stated",
        "batch_size": "stated",
        "max_epochs": "stated",
        "patience": "stated",
        "augmentation": "assumed",
        "validation_examples": "stated",
        "weight_decay": "stated",
    },
    notes={
        "source": RESNET_CITATION,
        "learning_rate": (
            "0.1, divided by 10 at 32k and 48k iterations (epochs 82 and 123 of 164); the "
            "schedule is not part of Recipe, so a run here without it will not reach the "
            "published accuracy"
        ),
        "max_epochs": (
            "64k iterations of batch 128 = 163.8 epochs of 50k images; the paper fixed that "
            "length on a 45k/5k split (on 45k images 164 epochs are about 57.7k iterations)"
        ),
        "patience": "no early stopping: the paper trains for a fixed number of iterations",
        "validation_examples": "the paper's 45k/5k train/val split",
        "weight_decay": (
            "1e-4, applied by the paper as an L2 term in the gradient (Torch/Caffe SGD), which "
            "passes through momentum; Keras' SGD(weight_decay=) decays outside momentum, so the "
            "faithful Keras form is kernel_regularizer=L2(5e-5) (loss 0.5 * 1e-4 * |w|^2)"
        ),
        "augmentation": (
            "the paper pads 4 pixels per side, takes a random 32x32 crop and flips horizontally, "
            "and subtracts the per-pixel mean; this is neither profile A nor B, so None here"
        ),
    },
)


def _published(*, error_pct: float, params_m: float, macs_m: float, depth: int) -> Published:
    return Published(
        test_accuracy=round(1.0 - error_pct / 100.0, 6),
        accuracy_note=(
            f"ResNet-{depth}: {error_pct} % test error on CIFAR-10 (He et al. 2016, Table 6). "
            f"params_trainable is the paper's {params_m} M, given to two digits (the paper "
            "counts learned weights, not BN moving statistics). macs is the option-A figure "
            f"quoted in the literature ({macs_m} M; not in the paper, cross-checked in "
            "docs/source-report.md#references)"
        ),
        params_total=None,
        params_trainable=round(params_m * 1_000_000),
        params_non_trainable=None,
        macs=round(macs_m * 1_000_000),
        citation=RESNET_CITATION,
    )


# id -> (depth, Table 6 test error in %, Table 6 params in M, option-A MACs in M)
_REFERENCES = {
    "resnet20": (20, 8.75, 0.27, 40.55),
    "resnet56": (56, 6.97, 0.85, 125.49),
}


def register_references(register: Callable[..., Any]) -> None:
    """Register `resnet20` and `resnet56` (kind "reference") with `architectures.register`.

    Args:
        register: the registry's `register(id, builder, recipe, *, published, description,
            kind)`.
    """
    for ref_id, (depth, error_pct, params_m, macs_m) in _REFERENCES.items():
        register(
            ref_id,
            partial(resnet_cifar, depth),
            RESNET_RECIPE,
            published=_published(
                error_pct=error_pct, params_m=params_m, macs_m=macs_m, depth=depth
            ),
            description=(
                f"ResNet-{depth} (He et al. 2016), option-A shortcuts, {params_m} M params: "
                "published reference"
            ),
            kind="reference",
        )
