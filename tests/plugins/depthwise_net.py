"""A user model registered the way a user would (`--plugin tests/plugins/depthwise_net.py`).

A small MobileNet-style CNN (depthwise 3x3 + pointwise 1x1 blocks, BN, ReLU, global pooling),
so the registry-wide tests cover a model that is code, not one of the report's specs.
Hand count of its MACs per 32x32x3 image:
  stem conv 3x3, 3->16, 32x32:        32*32*16*27       =   442,368
  block1 depthwise 3x3 on 16, 32x32:  32*32*16*9        =   147,456
  block1 pointwise 16->32, 32x32:     32*32*32*16       =   524,288
  block2 depthwise 3x3 stride 2, 16x16 out on 32 ch:  16*16*32*9 =  73,728
  block2 pointwise 32->64, 16x16:     16*16*64*32       =   524,288
  dense 64->10:                       640
  total                                                 = 1,712,768
"""

from __future__ import annotations

import keras

import architectures

DEPTHWISE_NET_MACS = 1_712_768


def depthwise_net(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Build the network (uncompiled, with a `keras.Input`)."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for block, (filters, strides) in enumerate(((32, 1), (64, 2)), start=1):
        x = keras.layers.DepthwiseConv2D(
            3, strides=strides, padding="same", use_bias=False, name=f"block{block}_dw"
        )(x)
        x = keras.layers.BatchNormalization(name=f"block{block}_dw_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_dw_relu")(x)
        x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"block{block}_pw")(x)
        x = keras.layers.BatchNormalization(name=f"block{block}_pw_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_pw_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="depthwise_net")


if "depthwise_net" not in architectures.VARIANTS:
    architectures.register(
        "depthwise_net",
        depthwise_net,
        architectures.Recipe(optimizer="adam", batch_size=64, patience=10),
        description="a MobileNet-style user model (tests/plugins/depthwise_net.py)",
    )
