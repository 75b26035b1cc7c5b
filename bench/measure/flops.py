"""Compute cost per image: multiply-accumulates and FLOPs, counted twice by independent means.

Definitions, used everywhere in this project:

* A **MAC** (multiply-accumulate) is one `a += w * x`. Only convolutions and dense layers have
  MACs: Conv2D has `H_out * W_out * C_out * Kh * Kw * C_in / groups`, Dense has `N_in * N_out`.
* A **FLOP** is one floating-point operation, so a FLOP is half a MAC: every MAC counts 2 FLOPs.
  `flops` adds the element-wise work on top of `2 * macs`, with the conventions of the TensorFlow
  profiler (`tensorflow/python/profiler/internal/flops_registry.py`, `ops/nn_ops.py`) for the
  ops Keras 3 emits, so the analytic total and the profiler total can be compared:

  ================================  ==================================================
  layer / op                        FLOPs per image
  ================================  ==================================================
  bias add (Conv, Dense)            1 per output element (BiasAdd)
  SeparableConv2D                   MACs of its depthwise and its 1x1 pointwise step
  BatchNormalization (inference)    2 per element (Mul, AddV2) + 5 per channel (AddV2
                                    eps, Rsqrt = 2, Mul mean, Sub beta or Neg), + 1 per
                                    channel with `scale` (Mul gamma). Keras 3 lowers BN to
                                    these ops, not to FusedBatchNormV3.
  LayerNormalization                6 per element + 5 per normalised row, + 1 per element
                                    with `center`, + 2 per element - 1 per row with `scale`
  Normalization                     2 per element (Sub, RealDiv) + 1 per statistic
  Rescaling                         2 per element (Mul, AddV2)
  MaxPooling / AveragePooling       Kh * Kw per output element
  GlobalAveragePooling              1 per input element (Mean)
  GlobalMaxPooling                  0 (the profiler registers no statistics for Max)
  Add / Subtract / Multiply, ...    (inputs - 1) per output element; Average: inputs
  Keras ops on tensors (`x + 3`)    1 per output element (add, subtract, multiply,
                                    divide, maximum, minimum)
  relu, relu6, sigmoid, tanh, elu,  0 (Relu, Relu6, Sigmoid, Tanh, ... are not counted by
  selu, leaky_relu, softplus, ...   the profiler)
  ReLU with options                 clip 2, threshold 1, negative slope 3 (+1 with a
                                    threshold), per element (`_relu_cost`)
  swish / silu                      2 per element (`tf.nn.silu` is Mul, Sigmoid, Mul)
  hard_swish, hard_sigmoid, gelu    3, 2 and 4 per element (gelu: the exact form)
  softmax                           5 per element (Softmax)
  ConvNeXt LayerScale, Inception-   1 and 2 per element (Mul; Mul, AddV2)
  ResNet CustomScaleLayer
  Flatten, Reshape, Dropout, pads,  0 (data movement, or identity at inference)
  crops, slicing, Concatenate,
  inference-time augmentation, Input
  ================================  ==================================================

Two counters, kept side by side:

* `analytic_counts` walks the layers of a functional Keras model and applies the table above.
  A layer type it does not know is counted as 0 **and listed in `FlopCount.uncounted`**, never
  silently.
* `profiler_flops` runs the TF profiler on the frozen batch-1 inference graph.

How the claims are checked (`tests/test_flops.py`, `tests/test_flops_applications.py`):
every CNN family of `keras.applications` within 3 % of the multiply-adds its paper publishes
(but EfficientNetV2-S, 4.9 % under it; the test says why), with the analytic and profiler
totals equal on each; one-layer models for each convention above; hand-computed MACs for small
models; the model of `docs/measurement.md` §2, whose profiler total (50,253,052) and 2 x MACs
(50,006,528) were measured before this module existed; analytic totals equal to the profiler
totals for every layer type above; and, for every registered variant, profiler Conv2D FLOPs ==
2 x analytic Conv2D MACs and profiler MatMul FLOPs == 2 x analytic Dense MACs, exactly.

Counts are per image (batch 1, inference). Nothing here rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras

__all__ = [
    "FlopCount",
    "FlopCountError",
    "analytic_counts",
    "flop_figures",
    "profiler_flops",
]


class FlopCountError(ValueError):
    """A model these counters cannot handle (no `keras.Input`, an input shape that is not fixed)."""


@dataclass(frozen=True)
class FlopCount:
    """Analytic cost of one image through a model.

    Attributes:
        macs: multiply-accumulates of the Conv and Dense layers.
        flops: `2 * macs` plus the element-wise FLOPs (see the module docstring).
        layers: one record per layer call, in `model.layers` order: `{"name", "type",
            "output_shape", "params", "macs", "flops"}`; `output_shape` has no batch axis.
        uncounted: names of the layer calls this counter does not know; their `macs` and
            `flops` are recorded as 0.
        macs_by_op: the MACs summed per TF op type that carries them (`Conv2D`,
            `DepthwiseConv2dNative`, `MatMul`): what the profiler's figures are checked against.
    """

    macs: int
    flops: int
    layers: tuple[dict[str, Any], ...]
    uncounted: tuple[str, ...] = ()
    macs_by_op: dict[str, int] = field(default_factory=dict)

    def macs_by_type(self) -> dict[str, int]:
        """MACs summed per layer class name (e.g. `{"Conv2D": ..., "Dense": ...}`)."""
        totals: dict[str, int] = {}
        for layer in self.layers:
            totals[layer["type"]] = totals.get(layer["type"], 0) + layer["macs"]
        return totals


# --------------------------------------------------------------------------------------------
# Analytic counter
# --------------------------------------------------------------------------------------------

# FLOPs per element of each activation function, as the TF profiler counts the ops Keras 3
# emits for it (each figure measured with `profiler_flops` on a one-layer model; tests/
# test_flops.py checks them all against the profiler). Ops the profiler does not register
# (Relu, Relu6, Sigmoid, Tanh, Elu, Selu, Softplus, Erf, LeakyRelu, ...) count 0.
_ACTIVATION_FLOPS_PER_ELEMENT = {
    "linear": 0,
    "relu": 0,
    "relu6": 0,
    "leaky_relu": 0,
    "elu": 0,
    "selu": 0,
    "softplus": 0,
    "softsign": 0,
    "exponential": 0,
    "sigmoid": 0,
    "tanh": 0,
    "silu": 2,  # keras "swish" is silu; tf.nn.silu = x * sigmoid(beta * x): Mul, Sigmoid, Mul
    "hard_silu": 3,  # keras "hard_swish" too: x * relu6(x + 3) / 6: AddV2, RealDiv, Mul
    "hard_sigmoid": 2,  # relu6(x + 3) / 6: AddV2, RealDiv
    "gelu": 4,  # the exact form (Keras' default): 0.5 * x * (1 + erf(x / sqrt 2)): 3 Mul, Neg
    "mish": 1,  # x * tanh(softplus(x)): Mul
    "softmax": 5,  # Softmax: registered as 5 per element
    "log_softmax": 0,  # LogSoftmax: not registered
}

# Layers that do no arithmetic in the inference graph. "ZeroPadShortcut" is the option-A
# shortcut of architectures/references.py (strided slice + channel zero-padding); named here by
# class name so that bench/ does not import architectures/.
_ZERO_COST_TYPES = frozenset(
    {
        "InputLayer",
        "Flatten",
        "Reshape",
        "Permute",
        "Identity",
        "Concatenate",
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianDropout",
        "GaussianNoise",
        "AlphaDropout",
        "ActivityRegularization",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "ZeroPadding3D",
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        # augmentation layers are the identity with training=False
        "RandomFlip",
        "RandomTranslation",
        "RandomRotation",
        "RandomZoom",
        "RandomShear",
        "RandomContrast",
        "RandomBrightness",
        "RandomCrop",
        "ZeroPadShortcut",
        "GlobalMaxPooling1D",  # Max: not registered by the profiler
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
    }
)

# FLOPs per output element of layers that do the same element-wise work everywhere, as the
# profiler counts it. LayerScale (ConvNeXt, `x * gamma`) and CustomScaleLayer
# (InceptionResNetV2, `a + b * scale`) are keras.applications' own classes, named by class.
_PER_OUTPUT_ELEMENT = {
    "Rescaling": 2,  # x * scale + offset: Mul, AddV2 (the AddV2 stays with offset 0)
    "LayerScale": 1,  # Mul
    "CustomScaleLayer": 2,  # Mul, AddV2
    "PReLU": 4,  # relu(x) - alpha * relu(-x): 2 Neg, Mul, AddV2
}

# Layers whose output is an element-wise reduction of k inputs: (k - 1) ops per output element.
_MERGE_TYPES = frozenset({"Add", "Subtract", "Multiply", "Maximum", "Minimum"})

# Keras operations on symbolic tensors that are not layers (`x + 3.0`, `x * (1 / 6)` in
# MobileNetV3's hard sigmoid): one op per output element, whatever broadcasts into it.
_BINARY_OPS = frozenset(
    {"Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum"}
)

# Profiler op type that carries each kind of MAC, 2 FLOPs per MAC (checked in `cross_check`).
_CONV, _DEPTHWISE, _MATMUL = "Conv2D", "DepthwiseConv2dNative", "MatMul"

_CONV_CLASSES = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)

# (MACs by profiler op type, FLOPs) of one call, or None for a layer this counter does not know.
_Cost = tuple[dict[str, int], int]


@dataclass(frozen=True)
class _Call:
    """One call of a layer (or of a Keras operation) inside the model: shapes without batch."""

    layer: Any
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]


def _elements(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _activation_flops(activation: Callable | None, elements: int) -> int | None:
    """FLOPs of `activation` over `elements` values; None for a function not in the table."""
    name = getattr(activation, "__name__", None) if activation is not None else "linear"
    per_element = _ACTIVATION_FLOPS_PER_ELEMENT.get(name)
    return None if per_element is None else per_element * elements


def _channels_axis(layer: keras.layers.Layer) -> int:
    return 0 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1


def _with_bias_and_activation(call: _Call, macs: dict[str, int]) -> _Cost | None:
    """2 FLOPs per MAC, plus one BiasAdd per output element and the layer's activation."""
    out = _elements(call.output_shape)
    act = _activation_flops(call.layer.activation, out)
    if act is None:
        return None
    bias = out if call.layer.use_bias else 0
    return macs, 2 * sum(macs.values()) + bias + act


def _conv_cost(call: _Call) -> _Cost | None:
    """Conv1D/2D/3D, DepthwiseConv2D and SeparableConv2D (depthwise, then 1x1 pointwise)."""
    layer, out = call.layer, _elements(call.output_shape)
    c_in = call.input_shapes[0][_channels_axis(layer)]
    window = math.prod(layer.kernel_size)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return _with_bias_and_activation(call, {_DEPTHWISE: out * window})
    if isinstance(layer, keras.layers.SeparableConv2D):
        # depthwise: every input channel times depth_multiplier, over the output positions
        positions = out // call.output_shape[_channels_axis(layer)]
        mid = c_in * layer.depth_multiplier
        macs = {_DEPTHWISE: positions * mid * window, _CONV: out * mid}
        return _with_bias_and_activation(call, macs)
    # Conv1D/2D/3D (Conv*DTranspose are not subclasses); Conv1D runs as a Conv2D op.
    return _with_bias_and_activation(call, {_CONV: out * window * (c_in // layer.groups)})


def _relu_cost(layer: keras.layers.Layer, out: int) -> int:
    """FLOPs of `keras.layers.ReLU` with its options, following `ReLU.static_call`."""
    slope, cap, threshold = layer.negative_slope, layer.max_value, layer.threshold
    if slope and cap is None and not threshold:
        return 0  # LeakyRelu: not registered
    per_element = 0
    if slope:
        per_element += 3 + (1 if threshold else 0)  # Neg (AddV2), then Mul and Sub
    if threshold:
        per_element += 1  # Greater, then Select (not registered)
    if cap is not None and (threshold or cap != 6):
        per_element += 2  # clip: Maximum, Minimum (max_value 6 alone is the Relu6 op: 0)
    return per_element * out


def _normalization_cost(call: _Call) -> int:
    """`keras.layers.Normalization`: (x - mean) / maximum(sqrt(var), eps): Sub and RealDiv per
    element, Maximum per statistic (Sqrt is not registered)."""
    statistics = _elements(call.layer.mean.shape)
    return 2 * _elements(call.output_shape) + statistics


def _layer_norm_cost(call: _Call) -> int | None:
    """`keras.layers.LayerNormalization`, per element N and per normalised row R, as profiled:
    6N + 5R (two Means and a SquaredDifference at 2 each, AddV2 and Mul, Rsqrt 2 R and Neg R),
    N more with `center`, 2N - R more with `scale`; None for `rms_scaling` (not profiled)."""
    layer, shape = call.layer, call.output_shape
    if getattr(layer, "rms_scaling", False):
        return None
    axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
    n = _elements(shape)
    rows = n // math.prod(shape[a - 1 if a > 0 else a] for a in axes)
    return 6 * n + 5 * rows + (n if layer.center else 0) + ((2 * n - rows) if layer.scale else 0)


def _batch_norm_cost(call: _Call) -> int:
    layer = call.layer
    channels = call.output_shape[layer.axis if layer.axis < 0 else layer.axis - 1]
    per_channel = 5 + (1 if layer.scale else 0)
    return 2 * _elements(call.output_shape) + per_channel * channels


def _elementwise_cost(call: _Call) -> int | None:
    """FLOPs of the layers that have no MACs; None when the layer is not known."""
    layer, kind = call.layer, type(call.layer).__name__
    out = _elements(call.output_shape)
    if kind in _ZERO_COST_TYPES:
        return 0
    if kind in _PER_OUTPUT_ELEMENT:
        return _PER_OUTPUT_ELEMENT[kind] * out
    if kind == "BatchNormalization":
        return _batch_norm_cost(call)
    if kind == "LayerNormalization":
        return _layer_norm_cost(call)
    if kind == "Normalization" and not layer.invert:
        return _normalization_cost(call)
    if kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        return out * math.prod(layer.pool_size)
    if kind in ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D"):
        return _elements(call.input_shapes[0])  # Mean: 1 per input element
    if kind in _MERGE_TYPES:
        return (len(call.input_shapes) - 1) * out
    if kind == "Average":
        return len(call.input_shapes) * out  # (k - 1) AddV2, then RealDiv
    if kind == "Activation":
        return _activation_flops(layer.activation, out)
    if kind == "ReLU":
        return _relu_cost(layer, out)
    if kind == "Softmax":
        return 5 * out
    return None


def _count_call(call: _Call) -> _Cost | None:
    """(MACs by profiler op type, FLOPs) of one call, or None when it is not known."""
    layer, kind = call.layer, type(call.layer).__name__
    if not isinstance(layer, keras.layers.Layer):
        known = kind in _BINARY_OPS and type(layer).__module__.endswith("ops.numpy")
        return ({}, _elements(call.output_shape)) if known else None
    if isinstance(layer, keras.layers.Dense) and kind == "Dense":
        # on a (h, w, c) input Dense is a 1x1 convolution run as one MatMul
        return _with_bias_and_activation(
            call, {_MATMUL: _elements(call.output_shape) * call.input_shapes[0][-1]}
        )
    if isinstance(layer, _CONV_CLASSES):
        return _conv_cost(call)
    flops = _elementwise_cost(call)
    return None if flops is None else ({}, flops)


def _shape(tensor: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in tensor.shape[1:])


def _functional(model: keras.Model) -> keras.Model:
    """The functional graph behind `model` (a Sequential built with `keras.Input` has one)."""
    graph = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    if graph is None or not hasattr(graph, "_nodes_by_depth"):
        raise FlopCountError(
            f"model {model.name!r} has no layer graph; build it with keras.Input(shape=...) "
            "so that every layer has a known input shape."
        )
    return graph


def _calls(model: keras.Model) -> list[tuple[str, _Call]]:
    """Every layer call that belongs to `model`, in `model.operations` order, with its shapes.

    `model.operations` holds the layers and also the Keras operations applied to symbolic
    tensors (`x + 3.0`), which `model.layers` leaves out: both do arithmetic.
    """
    graph = _functional(model)
    own = {id(node) for nodes in graph._nodes_by_depth.values() for node in nodes}
    calls: list[tuple[str, _Call]] = []
    for layer in graph.operations:
        nodes = [n for n in layer._inbound_nodes if id(n) in own]
        for k, node in enumerate(nodes):
            name = layer.name if len(nodes) == 1 else f"{layer.name}:{k}"
            if len(node.outputs) != 1:
                raise FlopCountError(
                    f"layer {layer.name!r} has {len(node.outputs)} outputs; the analytic "
                    "counter handles single-output layers only."
                )
            out = _shape(node.outputs[0])
            ins = tuple(_shape(t) for t in node.input_tensors) or (out,)  # InputLayer: none
            if any(d is None for shape in (*ins, out) for d in shape):
                raise FlopCountError(
                    f"layer {layer.name!r} has an input or output shape that is not fixed; "
                    "build the model with a fully defined keras.Input(shape=...)."
                )
            calls.append((name, _Call(layer, ins, out)))
    return calls


def analytic_counts(model: keras.Model) -> FlopCount:
    """Count MACs and FLOPs of one image through `model` in inference mode, layer by layer.

    Nested functional models are counted layer by layer, their layers named `outer/inner`.

    Args:
        model: a functional (or `keras.Input`-built Sequential) Keras model.

    Returns:
        The totals, the per-layer records and the names of the layers that were not counted.

    Raises:
        FlopCountError: the model has no `keras.Input` or a shape that is not fixed.
    """
    records: list[dict[str, Any]] = []
    uncounted: list[str] = []
    by_op: dict[str, int] = {}
    for name, call in _calls(model):
        layer = call.layer
        if isinstance(layer, keras.Model):
            inner = analytic_counts(layer)
            records.extend({**r, "name": f"{name}/{r['name']}"} for r in inner.layers)
            uncounted.extend(f"{name}/{u}" for u in inner.uncounted)
            for op, macs in inner.macs_by_op.items():
                by_op[op] = by_op.get(op, 0) + macs
            continue
        counted = _count_call(call)
        if counted is None:
            uncounted.append(name)
            counted = ({}, 0)
        macs, flops = counted
        for op, n in macs.items():
            by_op[op] = by_op.get(op, 0) + n
        records.append(
            {
                "name": name,
                "type": type(layer).__name__,
                "output_shape": list(call.output_shape),
                "params": int(layer.count_params()) if isinstance(layer, keras.layers.Layer) else 0,
                "macs": int(sum(macs.values())),
                "flops": int(flops),
            }
        )
    return FlopCount(
        macs=sum(r["macs"] for r in records),
        flops=sum(r["flops"] for r in records),
        layers=tuple(records),
        uncounted=tuple(uncounted),
        macs_by_op=by_op,
    )


# --------------------------------------------------------------------------------------------
# TF profiler
# --------------------------------------------------------------------------------------------


def _input_specs(model: keras.Model) -> list[Any]:
    import tensorflow as tf

    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise FlopCountError(
            f"model {model.name!r} has no inputs; build it with keras.Input(shape=...)."
        )
    specs = []
    for tensor in inputs:
        shape = tuple(tensor.shape[1:])
        if any(d is None for d in shape):
            raise FlopCountError(
                f"model {model.name!r} has input shape {shape} with an unknown dimension; "
                "the profiler needs a fixed shape: build it with keras.Input(shape=(h, w, c))."
            )
        # A fixed batch of 1: with a None batch the profiler skips ops with "incomplete shapes"
        # and reports nonsense (96 FLOPs for a 50 M-FLOP model, docs/measurement.md §2).
        specs.append(tf.TensorSpec([1, *shape], tensor.dtype))
    return specs


def profiler_flops(model: keras.Model, *, by_op_type: bool = False) -> int | dict[str, int]:
    """FLOPs of one image counted by the TF profiler on the frozen inference graph.

    The graph is `model(x, training=False)` traced for a batch of 1, with variables frozen to
    constants (`convert_variables_to_constants_v2`), profiled with
    `ProfileOptionBuilder.float_operation()`; the profiler's table is not printed.

    Args:
        model: a Keras model built with `keras.Input` and a fully defined input shape.
        by_op_type: return the profiler's totals per op type instead of the grand total.

    Returns:
        The total FLOPs, or `{op_type: flops}` (e.g. `{"Conv2D": ..., "MatMul": ...,
        "BiasAdd": ...}`) for the op types with non-zero FLOPs.

    Raises:
        FlopCountError: the model has no inputs or an input shape that is not fixed.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )
    from tensorflow.python.util import deprecation

    specs = _input_specs(model)
    forward = tf.function(lambda x: model(x, training=False))
    # Keras runs a grouped convolution on TensorFlow as a call of an XLA-compiled function
    # (`keras/src/backend/tensorflow/nn.py`, "grouped convolutions are broken on CPU without
    # XLA"); the profiler does not look inside function calls and loses every shape after one
    # (ConvNeXt's 7x7 depthwise convolutions). Traced with functions run eagerly, the inner
    # function's ops are written into this graph instead; the graph is only profiled, never run.
    eager = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        concrete = forward.get_concrete_function(specs[0] if len(specs) == 1 else specs)
    finally:
        tf.config.run_functions_eagerly(eager)
    graph = convert_variables_to_constants_v2(concrete).graph

    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder.float_operation()
    options["output"] = "none"
    # The profiler's shape helper is deprecated (tensor_shape_from_node_def_name) and says so.
    with deprecation.silence():
        if not by_op_type:
            return int(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)
        root = tf.compat.v1.profiler.profile(graph, cmd="op", options=options)

    # The "op" view is a chain: each op type is the only child of the previous one, and its
    # own figure is `float_ops` (`total_float_ops` includes everything below it).
    totals: dict[str, int] = {}
    pending = list(root.children)
    while pending:
        node = pending.pop()
        totals[node.name] = totals.get(node.name, 0) + int(node.float_ops)
        pending.extend(node.children)
    return totals


def cross_check(counts: FlopCount, by_op: dict[str, int] | None) -> dict[str, Any]:
    """Compare the analytic MACs with the profiler's FLOPs, op type by op type.

    Returns:
        `{"status", "by_type", "uncounted_layers", "reason"}`: `by_type` maps each TF op type
        that carries MACs (`Conv2D`, `DepthwiseConv2dNative`, `MatMul`) to its two figures;
        status "agree" (every op type agrees and no layer is unknown), "incomplete" (layers the
        analytic counter does not know, counted as 0), "disagree" (an op type whose 2 x MACs
        differs from the profiler's figure) or "unchecked" (no profiler figures); `reason` is
        one sentence, or None.
    """
    profiled = by_op or {}
    by_type = {
        op: {
            "analytic_flops": 2 * counts.macs_by_op.get(op, 0),
            "profiler_flops": profiled.get(op, 0),
        }
        for op in (_CONV, _DEPTHWISE, _MATMUL)
        if counts.macs_by_op.get(op) or profiled.get(op)
    }
    check: dict[str, Any] = {"by_type": by_type, "uncounted_layers": list(counts.uncounted)}
    wrong = [k for k, v in by_type.items() if v["analytic_flops"] != v["profiler_flops"]]
    if counts.uncounted:
        names = ", ".join(counts.uncounted)
        check.update(status="incomplete", reason=(
            f"the analytic counter does not know {names} (counted as 0), so its MACs would be "
            "too low"))  # fmt: skip
    elif by_op is None:
        check.update(status="unchecked", reason=None)
    elif wrong:
        kind = wrong[0]
        check.update(status="disagree", reason=(
            f"the counters disagree on {kind}: 2 x analytic MACs = "
            f"{by_type[kind]['analytic_flops']}, TF profiler = {by_type[kind]['profiler_flops']}"
        ))  # fmt: skip
    else:
        check.update(status="agree", reason=None)
    return check


def flop_figures(model: keras.Model, *, profiler: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The record's MAC and FLOP figures for `model`, cross-checked, and the reasons for gaps.

    The analytic MACs are kept only when the TF profiler agrees on every layer type both count
    and no layer is unknown to the counter (`cross_check`); otherwise `macs` and
    `flops_analytic` are null with the reason, and the partial count is kept apart
    (`macs_partial`), so that no report plots a number known to be wrong.

    Args:
        model: the model to count.
        profiler: also run the TF profiler (`flops`); without it `flops` is null with a reason
            and the MACs are checked only for unknown layers.

    Returns:
        (figures, unavailable): `macs`, `flops_analytic`, `layers`, `flops`, `macs_check`, and
        `flops_uncounted_layers` / `macs_partial` when the count is incomplete.
    """
    counts = analytic_counts(model)
    by_op = profiler_flops(model, by_op_type=True) if profiler else None
    check = cross_check(counts, by_op)
    figures: dict[str, Any] = {
        "macs": counts.macs,
        "flops_analytic": counts.flops,
        "layers": [dict(layer) for layer in counts.layers],
        "macs_check": check,
    }
    unavailable: dict[str, str] = {}
    if counts.uncounted:
        figures["flops_uncounted_layers"] = list(counts.uncounted)
    if check["status"] in {"incomplete", "disagree"}:
        figures.update(macs=None, flops_analytic=None, macs_partial=counts.macs)
        unavailable["macs"] = unavailable["flops_analytic"] = check["reason"]
    if by_op is not None:
        figures["flops"] = int(sum(by_op.values()))
    else:
        unavailable["flops"] = "the TF profiler was skipped (--skip-profiler)"
    return figures, unavailable
