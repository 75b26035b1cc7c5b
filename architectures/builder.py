"""The one builder: `VariantSpec` -> functional Keras model with layers named by block.

Every variant of the report goes through `build_from_spec`; none has its own code path. The claim
"this is the report's network" is checked in `tests/test_variants.py` against the report's total,
trainable and non-trainable parameter counts and its per-layer tables.
"""

from __future__ import annotations

import keras

from architectures.spec import VariantSpec


def _kernel_kwargs(spec: VariantSpec) -> dict:
    regularizer = keras.regularizers.L2(spec.l2) if spec.l2 else None
    return {"kernel_initializer": spec.kernel_initializer, "kernel_regularizer": regularizer}


def build_from_spec(
    spec: VariantSpec,
    *,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    name: str = "model",
) -> keras.Model:
    """Build the inference network of `spec` (no augmentation inside: that lives in the pipeline).

    Args:
        spec: the variant's layers.
        input_shape: height, width, channels of one image.
        num_classes: width of the softmax output.
        name: the model's name (the variant id).

    Returns:
        An uncompiled functional `keras.Model`.
    """
    kernel = _kernel_kwargs(spec)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for b, block in enumerate(spec.blocks, start=1):
        for c, conv in enumerate(block.convs, start=1):
            x = keras.layers.Conv2D(
                filters=conv.filters,
                kernel_size=(3, 3),
                padding="same",
                activation=conv.activation,
                name=f"block{b}_conv{c}",
                **kernel,
            )(x)
            if conv.batch_norm:
                x = keras.layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
            if conv.dropout:
                x = keras.layers.Dropout(conv.dropout, name=f"block{b}_drop{c}")(x)
        if block.pool:
            x = keras.layers.MaxPooling2D(pool_size=(2, 2), name=f"block{b}_pool")(x)
        if block.dropout:
            x = keras.layers.Dropout(block.dropout, name=f"block{b}_drop")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for d, dense in enumerate(spec.head, start=1):
        x = keras.layers.Dense(
            units=dense.units, activation=dense.activation, name=f"head_dense{d}", **kernel
        )(x)
        if dense.batch_norm:
            x = keras.layers.BatchNormalization(name=f"head_bn{d}")(x)
        if dense.dropout:
            x = keras.layers.Dropout(dense.dropout, name=f"head_drop{d}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
