"""A user model with the wrong head, for the fault tests (`tests/test_faults.py`).

Its builder ignores `num_classes` and always ends in 7 outputs, as a plugin written for another
dataset would: on a 10-class dataset it must be refused in one sentence before anything of it
runs. Not imported by `tests/conftest.py`: only the runs that name it with `--plugin` know it.
"""

from __future__ import annotations

import keras

import architectures


def seven_outputs_net(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Flatten, then 7 softmax outputs whatever `num_classes` says."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    outputs = keras.layers.Dense(7, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="seven_outputs_net")


if "seven_outputs_net" not in architectures.VARIANTS:
    architectures.register(
        "seven_outputs_net",
        seven_outputs_net,
        architectures.Recipe(optimizer="sgd", batch_size=64),
        description="a user model with 7 outputs whatever the dataset (tests/plugins)",
    )
