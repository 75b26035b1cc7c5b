"""A user model whose training fails, for tests of a failing job (`tests/test_ray.py`).

It stands for any model whose loss becomes NaN (a learning rate that explodes, bad data): its
dense kernel starts at NaN, so the loss is NaN from the first batch and the failure is certain and
immediate, whatever the seed or the machine. Not imported by `tests/conftest.py`: only the runs
that name it with `--plugin` know it.
"""

from __future__ import annotations

import keras

import architectures


def nan_net(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Flatten, then a softmax layer whose kernel is NaN (uncompiled, with a `keras.Input`)."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    outputs = keras.layers.Dense(
        num_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.Constant(float("nan")),
        name="predictions",
    )(x)
    return keras.Model(inputs, outputs, name="nan_net")


if "nan_net" not in architectures.VARIANTS:
    architectures.register(
        "nan_net",
        nan_net,
        architectures.Recipe(optimizer="sgd", batch_size=64, patience=10),
        description="a user model whose loss is NaN from the first batch (tests/plugins)",
    )
