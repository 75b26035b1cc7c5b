"""Deployments: one Keras model run the ways it could be shipped, each measurable in the same way.

A deployment is a runtime plus a numeric format: `keras` (a `tf.function`, as the suite times
today), `xla` (the same with `jit_compile=True`), `bf16` (a copy of the model computing in
mixed_bfloat16), and four LiteRT flatbuffers converted by `tf.lite.TFLiteConverter` and run by the
`ai-edge-litert` interpreter: float32, float16 weights, dynamic-range int8 weights, and full integer
int8 calibrated on images the caller passes in. For each, `deploy` returns a `Deployment` with the
artefact's size in bytes, the conversion time, the thread counts the runtime was given, `timed`
(a `bench.measure.timing.Timed`: zero-argument call, result on the host, first call timed apart by
`warm_up`) and `predict_classes` (class per image, for accuracy and McNemar's test against the
float32 Keras predictions). Nothing here rounds or reports; see docs/deployments.md.

A model that cannot be converted or run in a runtime raises `DeploymentError`, one sentence naming
the model, the deployment and the first line of the cause; `deploy_all` keeps such errors per
deployment so the others stay measurable. Every deployment runs one prediction before `deploy`
returns, on its own function or interpreter, so failures surface there and not mid-timing, and the
timed callable's first call is still its first.

Checked in `tests/test_deploy.py` on a small trained CNN: LiteRT float32/float16 outputs match
Keras', int8 predictions agree with float32 on most inputs, the int8 file is about a quarter of the
float32 file whose size is computed by hand from the parameter count, a `tf.py_function` layer
gives one sentence for every runtime that rejects it while `keras` still runs, the `xla` and
`bf16` callables trace once, and the thread counts are recorded.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from bench.measure import timing
from bench.measure.timing import Timed

TF_DEPLOYMENTS = ("keras", "xla", "bf16")
LITERT_DEPLOYMENTS = ("litert_fp32", "litert_fp16", "litert_int8_dynamic", "litert_int8_full")
DEPLOYMENTS = TF_DEPLOYMENTS + LITERT_DEPLOYMENTS

# What each LiteRT flatbuffer stores; int8_full keeps float32 input and output (see _converter).
QUANTIZATION = {
    "litert_fp32": "none: float32 weights and activations",
    "litert_fp16": "float16 weights, dequantised to float32 at load; float32 activations",
    "litert_int8_dynamic": (
        "int8 weights (tensors of 1024+ elements); activations quantised to int8 at run time"
    ),
    "litert_int8_full": (
        "int8 weights and activations, int32 biases, ranges calibrated on the caller's images; "
        "float32 input and output"
    ),
}

# Rows per call in predict_classes for the TensorFlow runtimes: one fixed input signature (the last
# chunk is zero-padded), so the whole test set costs one trace and, with XLA, one compilation.
PREDICT_CHUNK = 256
_CAUSE_CHARS = 240  # a converter or XLA message can run to kilobytes of MLIR and call sites


class DeploymentError(RuntimeError):
    """A model that cannot be converted to or run in one deployment; the message is one sentence."""


class UnknownDeploymentError(DeploymentError):
    """A deployment name that is not in `DEPLOYMENTS`."""


def _cause(exc: BaseException) -> str:
    """The first line of what went wrong, without the converter's MLIR dump or a file path."""
    errors = getattr(exc, "errors", None)  # tf.lite's ConverterError keeps the converter's own list
    if errors and getattr(errors[0], "error_message", ""):
        text = errors[0].error_message
    else:
        text = str(exc) or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if len(first) > _CAUSE_CHARS:
        first = first[: _CAUSE_CHARS - 3] + "..."
    return f"{type(exc).__name__}: {first.rstrip('.')}"


def _error(model_name: str, deployment: str, stage: str, exc: BaseException) -> DeploymentError:
    advice = {
        "conversion": (
            f"rewrite the layer with ops that {deployment} supports, or leave {deployment} out"
        ),
        "run": f"leave {deployment} out for this model",
    }[stage]
    return DeploymentError(
        f"Model {model_name!r} cannot be deployed as {deployment} ({stage} failed: "
        f"{_cause(exc)}); {advice}."
    )


def check_deployment(name: str) -> str:
    """Return `name` if it is a known deployment.

    Raises:
        UnknownDeploymentError: `name` is not in `DEPLOYMENTS`; the message lists them.
    """
    if name not in DEPLOYMENTS:
        raise UnknownDeploymentError(
            f"Unknown deployment {name!r}; choose from {', '.join(DEPLOYMENTS)}."
        )
    return name


def cpu_bf16_support() -> bool | None:
    """Whether this CPU computes bfloat16 natively, from the Linux CPU flags; None if unknown.

    x86 reports `avx512_bf16` or `amx_bf16`, Arm `bf16`. Without them oneDNN emulates bfloat16
    (convert, compute in float32, convert back), so `bf16` measures the emulation's cost.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in {"flags", "Features"}:
                    return bool({"avx512_bf16", "amx_bf16", "bf16"} & set(value.split()))
    except OSError:
        return None
    return None


def tf_threads() -> dict[str, int]:
    """TensorFlow's intra-op and inter-op thread counts in force (0 means TensorFlow chooses)."""
    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def matched_litert_threads() -> int:
    """LiteRT threads matching the suite's TensorFlow CPU setting.

    The suite sets intra-op threads (1 by default on the CPU, environment.py); LiteRT has one
    pool, so it gets that count. TensorFlow's 0 ("choose") becomes every logical CPU. Passing
    nothing to the interpreter is not neutral: ai-edge-litert 2.3.0 turns `num_threads=None` into
    1 (`int(num_threads or 1)` in interpreter.py), whatever its docstring says.
    """
    return tf_threads()["intra_op"] or os.cpu_count() or 1


def keras_file_size_bytes(model: keras.Model) -> int:
    """Size of the model saved as a `.keras` file (config plus float32 weights), in bytes.

    A compiled, trained model's `.keras` file also holds the optimizer's state (Adam: two more
    copies of the weights), `.keras` saving ignores `include_optimizer`, and `clone_model`
    compiles its clone when the original was compiled (Keras 3.15); so the model is rebuilt from
    its config, uncompiled, with the same weights: the file one would ship for inference. The
    model's own layer classes are in scope, so unregistered custom layers rebuild too.
    """
    classes = {type(layer).__name__: type(layer) for layer in model._flatten_layers()}
    with keras.saving.custom_object_scope(classes):
        inference = model.__class__.from_config(model.get_config())
    inference.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.keras"
        inference.save(path)
        return path.stat().st_size


def _images(x: np.ndarray, input_shape: tuple[int, ...], what: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float32)
    if array.ndim != len(input_shape) + 1 or tuple(array.shape[1:]) != input_shape:
        raise ValueError(
            f"{what} must be images of shape (N, {', '.join(map(str, input_shape))}), "
            f"got {array.shape}."
        )
    return array


def _input_shape(model: keras.Model, model_name: str) -> tuple[int, ...]:
    shape = model.input_shape
    if not isinstance(shape, tuple) or any(d is None for d in shape[1:]):
        raise DeploymentError(
            f"Model {model_name!r} has input shape {shape}; deployments need one image input "
            "with fixed height, width and channels."
        )
    return tuple(int(d) for d in shape[1:])


@dataclass(eq=False)
class Deployment(ABC):
    """One model in one deployment: its size, conversion cost, threads, and how to run it.

    Attributes:
        model_name: the model's name in records and messages.
        deployment: one of `DEPLOYMENTS`.
        runtime: "tensorflow" or "litert".
        file_size_bytes: the deployed artefact's size; for the TensorFlow runtimes the `.keras`
            file of the float32 model (see `file_size_source`); None when it could not be
            written (the reason is in `details["file_size_error"]`).
        file_size_source: what `file_size_bytes` measures.
        conversion_s: wall time to build the artefact from the Keras model; None for `keras` and
            `xla`, which convert nothing (tracing and compilation happen on the first call,
            `Timed.first_call_s`).
        threads: the thread counts the runtime runs with.
        details: provenance of the numbers (runtime version, precision, quantisation, ...).
    """

    model_name: str
    deployment: str
    runtime: str
    file_size_bytes: int | None
    file_size_source: str
    conversion_s: float | None
    threads: dict[str, int]
    details: dict[str, Any] = field(default_factory=dict)

    @abstractmethod
    def timed(self, *, batch_size: int = 1, seed: int = 0) -> Timed:
        """One synchronised inference call on a fixed random batch, built but not yet called.

        The input is `np.random.default_rng(seed).random(...)` as in `timing.inference`, so all
        deployments of a model see the same images. Call `warm_up` before timing.
        """

    @abstractmethod
    def predict_classes(self, x: np.ndarray) -> np.ndarray:
        """The predicted class (argmax of the output) for each image of `x`, as int64."""

    def record(self) -> dict[str, Any]:
        """The measured facts as a plain dict, unrounded, for the suite's JSON."""
        return {
            "model": self.model_name,
            "deployment": self.deployment,
            "runtime": self.runtime,
            "file_size_bytes": self.file_size_bytes,
            "file_size_source": self.file_size_source,
            "conversion_s": self.conversion_s,
            "threads": dict(self.threads),
            "details": dict(self.details),
        }


@dataclass(eq=False)
class TensorFlowDeployment(Deployment):
    """`keras`, `xla` or `bf16`: a Keras model called inside a `tf.function`."""

    model: keras.Model | None = None
    xla: bool = False
    _predict_fn: Any = field(default=None, init=False, repr=False)

    def timed(self, *, batch_size: int = 1, seed: int = 0) -> Timed:
        return timing.inference(self.model, batch_size=batch_size, xla=self.xla, seed=seed)

    def predict_classes(self, x: np.ndarray) -> np.ndarray:
        shape = tuple(self.model.input_shape[1:])
        images = _images(x, shape, "predict_classes input")
        if self._predict_fn is None:
            model = self.model
            self._predict_fn = tf.function(
                lambda batch: tf.argmax(model(batch, training=False), axis=-1),
                input_signature=[tf.TensorSpec((PREDICT_CHUNK, *shape), tf.float32)],
                jit_compile=self.xla,
            )
        classes = np.empty(len(images), dtype=np.int64)
        padded = np.zeros((PREDICT_CHUNK, *shape), dtype=np.float32)
        try:
            for start in range(0, len(images), PREDICT_CHUNK):
                chunk = images[start : start + PREDICT_CHUNK]
                padded[: len(chunk)] = chunk
                padded[len(chunk) :] = 0.0
                classes[start : start + len(chunk)] = self._predict_fn(padded).numpy()[: len(chunk)]
        except Exception as exc:  # a graph the runtime rejects (e.g. an op XLA cannot compile)
            raise _error(self.model_name, self.deployment, "run", exc) from exc
        return classes


class LiteRTFunction:
    """What `Timed.function` holds for a LiteRT call: the interpreter, and a plan count.

    LiteRT does not trace. Its analogue is planning tensors (`allocate_tensors`), done once here
    before any timed call; `experimental_get_tracing_count` returns how many times that happened
    on this interpreter, so the suite's `tracing_count == 1` check reads "the timed calls ran one
    fixed plan". Resizing inputs later would need a new plan, and this object never does it.
    """

    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter
        self.plans = 0

    def allocate(self) -> None:
        """Plan the interpreter's tensors (and let the XNNPACK delegate prepare)."""
        self.interpreter.allocate_tensors()
        self.plans += 1

    def experimental_get_tracing_count(self) -> int:
        return self.plans


@dataclass(eq=False)
class LiteRTDeployment(Deployment):
    """A LiteRT flatbuffer run by the ai-edge-litert interpreter (XNNPACK on, by default)."""

    flatbuffer: bytes = b""
    batched_flatbuffer: bytes | None = None
    num_threads: int = 1
    input_shape: tuple[int, ...] = ()

    def _interpreter(self, content: bytes) -> Interpreter:
        try:
            return Interpreter(model_content=content, num_threads=self.num_threads)
        except Exception as exc:  # a flatbuffer the runtime cannot load
            raise _error(self.model_name, self.deployment, "run", exc) from exc

    def timed(self, *, batch_size: int = 1, seed: int = 0) -> Timed:
        """Batch 1 runs the measured flatbuffer; larger batches run its dynamic-batch twin.

        The batch-1 flatbuffer has the batch size baked into its reshape ops (Flatten becomes
        RESHAPE to [1, n]), so `resize_tensor_input` on it fails in XNNPACK's prepare step. The
        twin is the same conversion from a `(None, ...)` signature, resized to `batch_size` on a
        separate interpreter.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if batch_size > 1 and self.batched_flatbuffer is None:
            raise DeploymentError(
                f"Model {self.model_name!r} in {self.deployment} has no batched flatbuffer "
                "(deployed with batched=False); deploy again with batched=True to time batches."
            )
        content = self.flatbuffer if batch_size == 1 else self.batched_flatbuffer
        function = LiteRTFunction(self._interpreter(content))
        interpreter = function.interpreter
        source = interpreter.get_input_details()[0]
        target = interpreter.get_output_details()[0]
        x = np.random.default_rng(seed).random((batch_size, *self.input_shape), dtype=np.float32)
        try:
            if batch_size > 1:
                interpreter.resize_tensor_input(source["index"], list(x.shape), strict=True)
            function.allocate()
        except Exception as exc:
            raise _error(self.model_name, self.deployment, "run", exc) from exc
        in_index, out_index = source["index"], target["index"]

        def call() -> np.ndarray:
            interpreter.set_tensor(in_index, x)
            interpreter.invoke()
            return interpreter.get_tensor(out_index)  # a copy, read back to the caller

        return Timed(call=call, batch_size=batch_size, function=function)  # type: ignore[arg-type]

    def predict_classes(self, x: np.ndarray) -> np.ndarray:
        """Image by image through the batch-1 flatbuffer: the file that is sized and timed."""
        images = _images(x, self.input_shape, "predict_classes input")
        interpreter = self._interpreter(self.flatbuffer)
        classes = np.empty(len(images), dtype=np.int64)
        try:
            interpreter.allocate_tensors()
            in_index = interpreter.get_input_details()[0]["index"]
            out_index = interpreter.get_output_details()[0]["index"]
            for i in range(len(images)):
                interpreter.set_tensor(in_index, images[i : i + 1])
                interpreter.invoke()
                classes[i] = int(np.argmax(interpreter.get_tensor(out_index)[0]))
        except Exception as exc:
            raise _error(self.model_name, self.deployment, "run", exc) from exc
        return classes


def _to_bf16(model: keras.Model) -> keras.Model:
    """A copy of `model` whose layers compute in bfloat16 (variables stay float32), same weights.

    Keras' global dtype policy is process-wide, so each layer is rebuilt from its config with
    the policy set on it; nested Functional/Sequential models are cloned layer by layer.
    """
    policy = keras.DTypePolicy("mixed_bfloat16")

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        config["dtype"] = policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    # A subclassed layer that builds sub-layers in __init__ gives them the global policy, not
    # its own: such sub-layers would silently stay float32, so refuse rather than mislabel.
    float_layers = [
        layer.name
        for layer in copy._flatten_layers(include_self=False)
        if layer.weights and layer.compute_dtype != "bfloat16"
    ]
    if float_layers:
        raise ValueError(
            f"layers {', '.join(float_layers[:3])} still compute in float32 after cloning"
        )
    return copy


def _converter(
    model: keras.Model,
    deployment: str,
    *,
    input_shape: tuple[int, ...],
    batch: int | None,
    representative_images: np.ndarray | None,
) -> tf.lite.TFLiteConverter:
    """A converter for `model(x, training=False)` with input shape `(batch, *input_shape)`.

    From a concrete function without `trackable_obj`: the converter then freezes the variables
    into constants (`convert_variables_to_constants_v2`, as the FLOPs counter does). Passing the
    Keras 3 model as `trackable_obj` makes TF 2.21 go through a SavedModel that kept the variables
    as uninitialised READ_VARIABLE ops: a 7 KB file whose output was NaN (measured here, TF
    2.21.0, Keras 3.15.1). `from_keras_model` works but exports the model's own signature, whose
    batch dimension is None.
    """
    function = tf.function(
        lambda images: model(images, training=False),
        input_signature=[tf.TensorSpec((batch, *input_shape), tf.float32)],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    if deployment == "litert_fp32":
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if deployment == "litert_fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif deployment == "litert_int8_full":
        images = representative_images

        def representative() -> Iterator[list[np.ndarray]]:
            for i in range(len(images)):
                yield [images[i : i + 1]]

        converter.representative_dataset = representative
        # Integer kernels only: an op without one fails conversion instead of silently staying
        # float. Input and output stay float32 (the default inference types), so every
        # deployment takes the same images and the (de)quantisation of 3,072 input and 10 output
        # values is inside the timed call, as it would be for a float caller.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter


def _convert(converter: tf.lite.TFLiteConverter) -> bytes:
    with warnings.catch_warnings():
        # Float32 I/O on an int8 model: the converter warns that input statistics were "expected
        # but not specified"; they are not needed, the QUANTIZE op uses the calibrated range.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def _delegate_partitions(content: bytes, num_threads: int) -> int | None:
    """How many DELEGATE nodes (XNNPACK partitions) the interpreter created; None if unknown.

    0 means every op runs on LiteRT's own kernels; more than one means some op between
    partitions did not go to XNNPACK. Reads the interpreter's private `_get_ops_details`.
    """
    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    interpreter.allocate_tensors()
    ops = getattr(interpreter, "_get_ops_details", None)
    if ops is None:
        return None
    return sum(op["op_name"] == "DELEGATE" for op in ops())


def deploy(
    model: keras.Model,
    deployment: str,
    *,
    model_name: str | None = None,
    representative_images: np.ndarray | None = None,
    num_threads: int | None = None,
    batched: bool = True,
    keras_file_bytes: int | None = None,
) -> Deployment:
    """Convert `model` for `deployment`, check it runs, and return what is needed to measure it.

    Args:
        model: a float32 Keras model with one image input (e.g. 32x32x3) and a softmax output.
            It is not modified.
        deployment: one of `DEPLOYMENTS`.
        model_name: the name used in records and messages; defaults to `model.name`.
        representative_images: calibration images for `litert_int8_full`, shaped like the
            model input and preprocessed like the test set (a few hundred training images).
            Ignored by the other deployments.
        num_threads: LiteRT interpreter threads; None matches the suite's TensorFlow intra-op
            setting (`matched_litert_threads`). Ignored by the TensorFlow runtimes, which use
            the process's thread pools (set once by `environment.configure`).
        batched: for LiteRT, also convert the dynamic-batch twin that `timed(batch_size>1)`
            needs (doubles conversion work).
        keras_file_bytes: the float32 `.keras` file size if already known (`deploy_all` saves
            the model once for the three TensorFlow deployments).

    Returns:
        A `TensorFlowDeployment` or `LiteRTDeployment`.

    Raises:
        UnknownDeploymentError: `deployment` is not in `DEPLOYMENTS`.
        DeploymentError: conversion failed, the runtime rejected the result, or
            `litert_int8_full` got no usable calibration images.
        ValueError: `num_threads` below 1.
    """
    check_deployment(deployment)
    name = model_name or model.name
    input_shape = _input_shape(model, name)
    if deployment in TF_DEPLOYMENTS:
        built = _deploy_tensorflow(model, deployment, name, keras_file_bytes)
    else:
        built = _deploy_litert(
            model,
            deployment,
            name,
            input_shape=input_shape,
            representative_images=representative_images,
            num_threads=num_threads,
            batched=batched,
        )
    built.predict_classes(np.zeros((1, *input_shape), dtype=np.float32))  # fail here, not later
    return built


def _deploy_tensorflow(
    model: keras.Model, deployment: str, name: str, keras_file_bytes: int | None
) -> TensorFlowDeployment:
    details: dict[str, Any] = {
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "jit_compile": deployment == "xla",
        "precision": "mixed_bfloat16" if deployment == "bf16" else "float32",
    }
    if keras_file_bytes is None:
        try:
            keras_file_bytes = keras_file_size_bytes(model)
        except Exception as exc:  # the size is one fact among several: record why it is missing
            details["file_size_error"] = _cause(exc)
    conversion_s = None
    deployed = model
    if deployment == "bf16":
        details["cpu_bf16"] = cpu_bf16_support()
        details["cpu_bf16_source"] = "/proc/cpuinfo flags avx512_bf16, amx_bf16 (x86), bf16 (Arm)"
        start = time.perf_counter()
        try:
            deployed = _to_bf16(model)
        except Exception as exc:
            raise _error(name, deployment, "conversion", exc) from exc
        conversion_s = time.perf_counter() - start
    return TensorFlowDeployment(
        model_name=name,
        deployment=deployment,
        runtime="tensorflow",
        file_size_bytes=keras_file_bytes,
        file_size_source="keras_file_float32",
        conversion_s=conversion_s,
        threads=tf_threads(),
        details=details,
        model=deployed,
        xla=deployment == "xla",
    )


def _timed_conversion(
    convert: Callable[[], bytes], name: str, deployment: str
) -> tuple[bytes, float]:
    """Run one conversion; its flatbuffer and seconds, or a one-sentence DeploymentError."""
    start = time.perf_counter()
    try:
        flatbuffer = convert()
    except Exception as exc:  # ConverterError, or a calibration run that failed
        raise _error(name, deployment, "conversion", exc) from exc
    return flatbuffer, time.perf_counter() - start


def _calibration_images(
    deployment: str, name: str, images: np.ndarray | None, input_shape: tuple[int, ...]
) -> np.ndarray | None:
    """The calibration images full int8 needs, checked; None for the other flavours."""
    if deployment != "litert_int8_full":
        return None
    if images is None or len(images) == 0:
        raise DeploymentError(
            f"Model {name!r} cannot be deployed as litert_int8_full without calibration "
            "images; pass representative_images (a few hundred training images)."
        )
    try:
        return _images(images, input_shape, "representative_images")
    except ValueError as exc:
        raise DeploymentError(
            f"Model {name!r} cannot be deployed as litert_int8_full: {str(exc).rstrip('.')}."
        ) from exc


def _deploy_litert(
    model: keras.Model,
    deployment: str,
    name: str,
    *,
    input_shape: tuple[int, ...],
    representative_images: np.ndarray | None,
    num_threads: int | None,
    batched: bool,
) -> LiteRTDeployment:
    threads = matched_litert_threads() if num_threads is None else num_threads
    if threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {threads}.")
    details: dict[str, Any] = {
        "tensorflow_version": tf.__version__,
        "litert_version": importlib.metadata.version("ai-edge-litert"),
        "converter": "tf.lite.TFLiteConverter.from_concrete_functions, batch-1 signature",
        "quantization": QUANTIZATION[deployment],
        "input_dtype": "float32",
        "output_dtype": "float32",
    }
    images = _calibration_images(deployment, name, representative_images, input_shape)
    if images is not None:
        details["calibration_images"] = len(images)

    def convert(batch: int | None) -> bytes:
        converter = _converter(
            model, deployment, input_shape=input_shape, batch=batch, representative_images=images
        )
        return _convert(converter)

    flatbuffer, conversion_s = _timed_conversion(lambda: convert(1), name, deployment)
    try:
        details["xnnpack_partitions"] = _delegate_partitions(flatbuffer, threads)
    except Exception as exc:
        raise _error(name, deployment, "run", exc) from exc
    batched_flatbuffer = None
    if batched:  # a second file: Flatten fixes batch 1 into its reshape in the batch-1 one
        batched_flatbuffer, details["batched_conversion_s"] = _timed_conversion(
            lambda: convert(None), name, deployment
        )
        details["batched_file_size_bytes"] = len(batched_flatbuffer)
    return LiteRTDeployment(
        model_name=name,
        deployment=deployment,
        runtime="litert",
        file_size_bytes=len(flatbuffer),
        file_size_source="litert_flatbuffer",
        conversion_s=conversion_s,
        threads={"num_threads": threads},
        details=details,
        flatbuffer=flatbuffer,
        batched_flatbuffer=batched_flatbuffer,
        num_threads=threads,
        input_shape=input_shape,
    )


def deploy_all(
    model: keras.Model,
    *,
    deployments: Sequence[str] = DEPLOYMENTS,
    model_name: str | None = None,
    representative_images: np.ndarray | None = None,
    num_threads: int | None = None,
    batched: bool = True,
) -> dict[str, Deployment | DeploymentError]:
    """`deploy` for each name in `deployments`; a deployment that fails maps to its error.

    The float32 `.keras` file is written once for the TensorFlow runtimes. Arguments as in
    `deploy`.

    Raises:
        UnknownDeploymentError: a name is not in `DEPLOYMENTS` (checked before any work).
    """
    for name in deployments:
        check_deployment(name)
    keras_file_bytes = None
    if any(name in TF_DEPLOYMENTS for name in deployments):
        try:
            keras_file_bytes = keras_file_size_bytes(model)
        except Exception:  # deploy() retries per deployment and records the reason
            keras_file_bytes = None
    results: dict[str, Deployment | DeploymentError] = {}
    for name in deployments:
        try:
            results[name] = deploy(
                model,
                name,
                model_name=model_name,
                representative_images=representative_images,
                num_threads=num_threads,
                batched=batched,
                keras_file_bytes=keras_file_bytes,
            )
        except DeploymentError as exc:
            results[name] = exc
    return results


__all__: list[str] = [
    "DEPLOYMENTS",
    "LITERT_DEPLOYMENTS",
    "PREDICT_CHUNK",
    "QUANTIZATION",
    "TF_DEPLOYMENTS",
    "Deployment",
    "DeploymentError",
    "LiteRTDeployment",
    "LiteRTFunction",
    "TensorFlowDeployment",
    "UnknownDeploymentError",
    "check_deployment",
    "cpu_bf16_support",
    "deploy",
    "deploy_all",
    "keras_file_size_bytes",
    "matched_litert_threads",
    "tf_threads",
]
