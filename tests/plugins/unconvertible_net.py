"""A user model no LiteRT converter can take (`--plugin tests/plugins/unconvertible_net.py`).

Its middle layer doubles its input through `tf.py_function`, which TensorFlow runs and LiteRT
has no kernel for: `tests/test_deploy_suite.py` checks that the suite measures it in keras and
gives one sentence for each deployment that rejects it. Not registered by `tests/conftest.py`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

import architectures


class PyFunctionDouble(keras.layers.Layer):
    """Doubles its input through `tf.py_function` (no LiteRT or XLA kernel)."""

    def call(self, inputs):
        outputs = tf.py_function(lambda t: t * 2.0, [inputs], inputs.dtype)
        outputs.set_shape(inputs.shape)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape


def unconvertible_net(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Conv, the py_function layer, global pooling, softmax."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    x = PyFunctionDouble(name="py_double")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="unconvertible_net")


architectures.register(
    "unconvertible_net",
    unconvertible_net,
    architectures.Recipe(optimizer="adam", batch_size=32),
    description="conv + a tf.py_function layer: runs in TensorFlow, converts to no LiteRT format",
)
