"""The two FLOP counters of bench/measure/flops.py against hand arithmetic, a prior measurement
and each other.

Expected MACs are worked out by hand in the comments; the 50,253,052 / 50,006,528 figures were
measured with the TF profiler before bench/measure/flops.py existed (docs/measurement.md
§2).
"""

from __future__ import annotations

import keras
import pytest

from architectures import VARIANTS
from bench.measure.flops import FlopCount, FlopCountError, analytic_counts, profiler_flops

L = keras.layers


def _by_name(count: FlopCount) -> dict[str, dict]:
    return {layer["name"]: layer for layer in count.layers}


# --- hand-computed MACs ----------------------------------------------------------------------


def _small_model() -> keras.Model:
    inputs = keras.Input(shape=(8, 8, 3))
    x = L.Conv2D(8, 3, padding="same", name="same_conv")(inputs)
    x = L.Conv2D(4, 3, strides=2, padding="valid", name="valid_s2_conv")(x)
    x = L.Conv2D(6, 3, strides=2, padding="same", groups=2, name="grouped_s2_conv")(x)
    x = L.Flatten(name="flatten")(x)
    outputs = L.Dense(10, name="dense")(x)
    return keras.Model(inputs, outputs)


def test_conv_and_dense_macs_by_hand():
    count = analytic_counts(_small_model())
    layers = _by_name(count)
    # same, stride 1: 8x8 out, 8 filters, 3x3 kernel over 3 channels: 8*8*8*9*3 = 13,824
    assert layers["same_conv"]["macs"] == 13_824
    assert layers["same_conv"]["output_shape"] == [8, 8, 8]
    assert layers["same_conv"]["params"] == 3 * 3 * 3 * 8 + 8  # 224
    # valid, stride 2 on 8x8: floor((8 - 3) / 2) + 1 = 3; 3*3*4 outputs x 3*3*8 = 36 * 72 = 2,592
    assert layers["valid_s2_conv"]["macs"] == 2_592
    assert layers["valid_s2_conv"]["output_shape"] == [3, 3, 4]
    # same, stride 2 on 3x3: ceil(3 / 2) = 2; groups=2 so each filter sees 4/2 = 2 channels:
    # 2*2*6 outputs x 3*3*2 = 24 * 18 = 432
    assert layers["grouped_s2_conv"]["macs"] == 432
    assert layers["grouped_s2_conv"]["output_shape"] == [2, 2, 6]
    # dense: 2*2*6 = 24 inputs x 10 outputs = 240
    assert layers["dense"]["macs"] == 240
    assert count.macs == 13_824 + 2_592 + 432 + 240
    # FLOPs: 2 per MAC plus one bias add per output element (8*8*8 + 3*3*4 + 2*2*6 + 10 = 582)
    assert count.flops == 2 * (13_824 + 2_592 + 432 + 240) + 512 + 36 + 24 + 10
    assert count.uncounted == ()


def test_records_carry_the_contract_keys():
    count = analytic_counts(_small_model())
    for layer in count.layers:
        assert set(layer) == {"name", "type", "output_shape", "params", "macs", "flops"}
    assert [layer["type"] for layer in count.layers] == [
        "InputLayer",
        "Conv2D",
        "Conv2D",
        "Conv2D",
        "Flatten",
        "Dense",
    ]
    assert count.macs_by_type() == {
        "InputLayer": 0,
        "Conv2D": 13_824 + 2_592 + 432,
        "Flatten": 0,
        "Dense": 240,
    }


def test_a_shared_layer_is_counted_once_per_call():
    inputs = keras.Input(shape=(16,))
    dense = L.Dense(16, name="shared")
    outputs = dense(dense(inputs))
    count = analytic_counts(keras.Model(inputs, outputs))
    # two calls of 16x16 = 256 MACs each
    assert count.macs == 512
    assert {"shared:0", "shared:1"} <= set(_by_name(count))


def test_sequential_built_with_input_is_counted():
    model = keras.Sequential([keras.Input(shape=(4,)), L.Dense(3, name="d")])
    assert analytic_counts(model).macs == 12
    assert profiler_flops(model) == 2 * 12 + 3  # MatMul + BiasAdd


# --- the model measured in docs/measurement.md §2 -------------------------------------


def _measurement_model() -> keras.Model:
    """Conv32, BN, Conv32, Pool, Conv64, BN, Conv64, Pool, Dense128, Dense10 on 32x32x3."""
    inputs = keras.Input(shape=(32, 32, 3))
    x = L.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = L.BatchNormalization()(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = L.BatchNormalization()(x)
    x = L.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Flatten()(x)
    x = L.Dense(128, activation="relu")(x)
    outputs = L.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


# MACs by hand:
#   conv 3->32 on 32x32:   32*32*32 * 9*3  =    884,736
#   conv 32->32 on 32x32:  32*32*32 * 9*32 =  9,437,184
#   conv 32->64 on 16x16:  16*16*64 * 9*32 =  4,718,592
#   conv 64->64 on 16x16:  16*16*64 * 9*64 =  9,437,184
#   dense 8*8*64 -> 128:   4096 * 128      =    524,288
#   dense 128 -> 10:       128 * 10        =      1,280
#   total                                     25,003,264   (2 x = 50,006,528, as measured)
MEASURED_MACS = 25_003_264
# Element-wise FLOPs as the profiler counts them:
#   bias: 2*32*32*32 + 2*16*16*64 + 128 + 10           = 98,442
#   BN:   2 per element (32*32*32 + 16*16*64) * 2       = 98,304, + 6 per channel * 96 = 576
#   pool: 4 per output element (16*16*32 + 8*8*64) * 4  = 49,152
#   softmax: 5 * 10                                      = 50
MEASURED_PROFILER_TOTAL = 50_253_052
assert 2 * MEASURED_MACS + 98_442 + 98_304 + 576 + 49_152 + 50 == MEASURED_PROFILER_TOTAL


def test_measurement_model_reproduces_the_measured_figures():
    model = _measurement_model()
    count = analytic_counts(model)
    assert 2 * count.macs == 50_006_528
    assert count.flops == MEASURED_PROFILER_TOTAL
    assert profiler_flops(model) == MEASURED_PROFILER_TOTAL
    by_op = profiler_flops(model, by_op_type=True)
    # 2 x (884,736 + 9,437,184 + 4,718,592 + 9,437,184) and 2 x (524,288 + 1,280)
    assert by_op["Conv2D"] == 48_955_392
    assert by_op["MatMul"] == 1_051_136
    assert by_op["BiasAdd"] == 98_442
    assert by_op["MaxPool"] == 49_152
    assert by_op["Softmax"] == 50
    assert sum(by_op.values()) == MEASURED_PROFILER_TOTAL


# --- element-wise conventions ------------------------------------------------------------------


def _elementwise_model() -> keras.Model:
    inputs = keras.Input(shape=(8, 8, 4))
    x = L.ZeroPadding2D(1, name="pad")(inputs)
    x = L.Conv2D(8, 3, activation="swish", name="swish_conv")(x)  # 8x8x8
    x = L.BatchNormalization(center=False, scale=False, name="bn_plain")(x)
    y = L.DepthwiseConv2D(3, padding="same", name="dw")(x)
    y = L.BatchNormalization(name="bn_full")(y)
    x = L.Add(name="add")([x, y])
    x = L.Subtract(name="sub")([x, y])
    x = L.Multiply(name="mul")([x, y, x])
    x = L.ReLU(name="relu")(x)
    x = L.Activation("swish", name="act_swish")(x)
    x = L.AveragePooling2D(2, name="avg")(x)  # 4x4x8
    x = L.Dropout(0.5, name="drop")(x)
    a = L.GlobalAveragePooling2D(name="gap")(x)
    b = L.GlobalMaxPooling2D(name="gmp")(x)
    x = L.Concatenate(name="cat")([a, b])
    x = L.Dense(10, activation="sigmoid", name="dense")(x)
    outputs = L.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs)


def test_elementwise_terms_by_hand():
    layers = _by_name(analytic_counts(_elementwise_model()))
    n = 8 * 8 * 8  # elements of an 8x8x8 map
    # conv 4->8 valid on 10x10: 8*8*8 * 9*4 MACs, bias 1/elem, swish 2/elem
    assert layers["swish_conv"]["flops"] == 2 * n * 36 + n + 2 * n
    assert layers["bn_plain"]["flops"] == 2 * n + 5 * 8  # eps add, rsqrt (2), mul, neg
    assert layers["bn_full"]["flops"] == 2 * n + 6 * 8  # ... plus gamma mul
    assert layers["dw"]["macs"] == n * 9
    assert layers["add"]["flops"] == n
    assert layers["mul"]["flops"] == 2 * n  # three inputs: two multiplies
    assert layers["relu"]["flops"] == 0
    assert layers["avg"]["flops"] == 4 * 4 * 8 * 4
    assert layers["gap"]["flops"] == 4 * 4 * 8
    assert layers["gmp"]["flops"] == 0
    assert layers["softmax"]["flops"] == 5 * 10


def test_analytic_total_equals_profiler_total_for_every_counted_layer_type():
    model = _elementwise_model()
    count = analytic_counts(model)
    assert count.uncounted == ()
    assert count.flops == profiler_flops(model)


# --- unknown layers are listed, never silently dropped ----------------------------------------


class _Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_unknown_layers_and_activations_are_reported():
    inputs = keras.Input(shape=(4, 4, 2))
    x = L.Conv2DTranspose(2, 3, padding="same", name="deconv")(inputs)
    x = _Doubler(name="doubler")(x)
    x = L.Flatten()(x)
    outputs = L.Dense(3, activation="celu", name="celu_dense")(x)
    count = analytic_counts(keras.Model(inputs, outputs))
    assert count.uncounted == ("deconv", "doubler", "celu_dense")
    layers = _by_name(count)
    assert layers["deconv"]["macs"] == layers["deconv"]["flops"] == 0
    assert layers["celu_dense"]["macs"] == 0  # not counted at all rather than counted in part


# --- user errors ---------------------------------------------------------------------------------


def test_unfixed_input_shape_is_a_clear_error():
    inputs = keras.Input(shape=(None, None, 3))
    model = keras.Model(inputs, L.Conv2D(4, 3)(inputs))
    with pytest.raises(FlopCountError, match="fixed"):
        analytic_counts(model)
    with pytest.raises(FlopCountError, match="fixed shape"):
        profiler_flops(model)


def test_sequential_without_input_is_a_clear_error():
    model = keras.Sequential([L.Dense(3)])
    with pytest.raises(FlopCountError, match=r"keras\.Input"):
        analytic_counts(model)


# --- every registered model: the two counters agree on Conv2D and Dense ----------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_profiler_conv_and_matmul_terms_are_twice_the_analytic_macs(variant):
    model = VARIANTS[variant].build()
    count = analytic_counts(model)
    by_op = profiler_flops(model, by_op_type=True)
    macs = count.macs_by_type()
    assert count.uncounted == ()
    assert by_op.get("Conv2D", 0) == 2 * macs.get("Conv2D", 0)
    assert by_op.get("MatMul", 0) == 2 * macs.get("Dense", 0)
    # The element-wise conventions are meant to match too; allow 1 % for a future layer type.
    assert abs(count.flops - sum(by_op.values())) <= 0.01 * sum(by_op.values())


# --- run-time cross-check: a model the analytic counter does not fully know -------------------


def test_unknown_layers_leave_the_macs_null_with_the_layers_named():
    # Conv2DTranspose and UpSampling2D are not in the analytic counter's table: counted as 0
    # they would give 0.44 M MACs where the profiler finds more; the figure must not reach a
    # report as a number.
    from bench.measure.flops import flop_figures

    inputs = keras.Input(shape=(32, 32, 3))
    x = L.Conv2D(16, 3, padding="same", name="stem")(inputs)  # 32*32*16*27 = 442,368 MACs
    x = L.Conv2DTranspose(32, 3, padding="same", name="deconv")(x)
    x = L.UpSampling2D(name="up")(x)
    x = L.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, L.Dense(10, name="out")(x))  # 32*10 = 320 MACs
    figures, unavailable = flop_figures(model, profiler=True)
    assert figures["macs"] is None and figures["flops_analytic"] is None
    assert figures["macs_partial"] == 442_368 + 320
    assert figures["macs_check"]["status"] == "incomplete"
    assert "deconv" in unavailable["macs"] and "up" in unavailable["macs"]
    # The profiler does count the transposed convolution: 32*32*32 * 9*16 = 4,718,592 MACs.
    assert figures["flops"] >= 2 * (442_368 + 4_718_592 + 320)


def test_known_layers_agree_at_run_time_and_keep_the_macs():
    from bench.measure.flops import flop_figures

    figures, unavailable = flop_figures(VARIANTS["v01"].build(), profiler=True)
    assert figures["macs"] == 10_387_776  # hand count: tests/test_suite_integration.py
    assert figures["macs_check"]["status"] == "agree" and "macs" not in unavailable
    assert figures["macs_check"]["by_type"]["Conv2D"]["profiler_flops"] == 2 * 10_321_920


# --- the layers of keras.applications: conventions checked against the profiler -------------


def _normalization() -> keras.layers.Layer:
    layer = L.Normalization(axis=-1)
    layer.build((None, 8, 8, 4))
    return layer


# One-layer models on an 8x8x4 input (256 elements, 64 rows of 4 channels); each expected
# figure is worked out from the ops Keras emits (bench/measure/flops.py says which).
_N, _R = 256, 64
ONE_LAYER = {
    "relu6": (lambda: L.ReLU(max_value=6.0), 0),  # Relu6
    "relu_max5": (lambda: L.ReLU(max_value=5.0), 2 * _N),  # Relu, then clip: Maximum, Minimum
    "relu_slope": (lambda: L.ReLU(negative_slope=0.1), 0),  # LeakyRelu
    "relu_threshold": (lambda: L.ReLU(threshold=0.5), _N),  # Greater, Select
    "relu_slope_cap": (lambda: L.ReLU(negative_slope=0.1, max_value=6.0), 3 * _N),
    "relu_all": (lambda: L.ReLU(negative_slope=0.1, threshold=0.5), 5 * _N),
    "hard_silu": (lambda: L.Activation("hard_swish"), 3 * _N),
    "hard_sigmoid": (lambda: L.Activation("hard_sigmoid"), 2 * _N),
    "gelu": (lambda: L.Activation("gelu"), 4 * _N),
    "elu": (lambda: L.Activation("elu"), 0),
    "rescaling": (lambda: L.Rescaling(1 / 127.5, offset=-1), 2 * _N),
    "normalization": (_normalization, 2 * _N + 4),  # Sub, RealDiv; Maximum per channel
    "layer_norm": (lambda: L.LayerNormalization(), 9 * _N + 4 * _R),
    "layer_norm_plain": (lambda: L.LayerNormalization(center=False, scale=False), 6 * _N + 5 * _R),
    "layer_norm_center": (lambda: L.LayerNormalization(scale=False), 7 * _N + 5 * _R),
    "gap_keepdims": (lambda: L.GlobalAveragePooling2D(keepdims=True), _N),
    "prelu": (lambda: L.PReLU(), 4 * _N),
    # depthwise 8*8*4*9 = 2,304 MACs, pointwise 8*8*6*4 = 1,536, bias 8*8*6 = 384
    "separable": (lambda: L.SeparableConv2D(6, 3, padding="same"), 2 * (2_304 + 1_536) + 384),
    # depth multiplier 2: 8*8*8 outputs x 9 = 4,608 MACs, bias 512
    "depthwise_x2": (lambda: L.DepthwiseConv2D(3, padding="same", depth_multiplier=2), 9_728),
    # groups 2: 8*8*4 outputs x 9 x 2 channels = 4,608 MACs, bias 256 (an XLA call in Keras)
    "grouped_conv": (lambda: L.Conv2D(4, 3, padding="same", groups=2), 2 * 4_608 + 256),
    "avg_same": (lambda: L.AveragePooling2D(3, strides=1, padding="same"), 9 * _N),
}


@pytest.mark.parametrize("name", list(ONE_LAYER))
def test_each_layer_convention_matches_the_profiler(name):
    make, expected = ONE_LAYER[name]
    inputs = keras.Input(shape=(8, 8, 4))
    model = keras.Model(inputs, make()(inputs))
    count = analytic_counts(model)
    assert count.uncounted == ()
    assert count.flops == expected
    assert profiler_flops(model) == expected


def test_merges_keras_ops_and_application_layers_match_the_profiler():
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    inputs = keras.Input(shape=(8, 8, 4))
    x = LayerScale(1e-6, 4, name="scale")(inputs)  # Mul: 256
    x = CustomScaleLayer(0.17, name="residual")([inputs, x])  # Mul, AddV2: 512
    x = L.Average(name="avg")([x, inputs])  # AddV2, RealDiv: 512
    x = L.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)  # MobileNetV3's hard sigmoid: two ops, 512
    count = analytic_counts(keras.Model(inputs, x))
    assert count.uncounted == ()
    # the `+ 3.0` and `* (1 / 6)` are Keras operations, not layers: counted all the same
    ops = [r for r in count.layers if r["type"] in ("Add", "Multiply")]
    assert [r["flops"] for r in ops] == [_N, _N] and [r["params"] for r in ops] == [0, 0]
    assert count.flops == _N + 2 * _N + 2 * _N + 2 * _N
    assert profiler_flops(keras.Model(inputs, x)) == count.flops


def test_an_unregistered_keras_operation_is_reported():
    inputs = keras.Input(shape=(8,))
    outputs = keras.ops.exp(inputs)
    count = analytic_counts(keras.Model(inputs, outputs))
    assert len(count.uncounted) == 1 and count.uncounted[0].startswith("exp")
