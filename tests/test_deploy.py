"""Deployments: conversion, interpretation, file sizes, faults, threads (bench/measure/deploy.py).

The model is a small CNN trained for two epochs on a synthetic ten-class task (each class is a
fixed random image plus noise), so its predictions have margins and int8 agreement means
something. Its parameters are counted by hand below; the expected file sizes come from that
count (4 bytes per float32 weight), not from the code under test. No wall-clock thresholds.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bench.measure import deploy as dp

# Hand count: conv 3x3x3x8 + 8 = 224; 32x32 -> pool -> 16x16x8 = 2,048 features;
# dense 2,048x128 + 128 = 262,272; output 128x10 + 10 = 1,290.
PARAMS = 224 + 262_272 + 1_290
FLOAT32_BYTES = 4 * PARAMS
INPUT = (32, 32, 3)


def _data(rng: np.random.Generator, templates: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, size=n)
    images = 0.5 * templates[labels] + 0.5 * rng.random((n, *INPUT), dtype=np.float32)
    return images.astype(np.float32), labels


@pytest.fixture(scope="module")
def task() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    templates = rng.random((10, *INPUT), dtype=np.float32)
    x_train, y_train = _data(rng, templates, 1024)
    x_test, y_test = _data(rng, templates, 400)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@pytest.fixture(scope="module")
def model(task) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=INPUT, name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="block1_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="head_dense1")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(task["x_train"], task["y_train"], epochs=2, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def deployed(model, task) -> dict:
    return dp.deploy_all(model, representative_images=task["x_train"][:200], num_threads=1)


@pytest.fixture(scope="module")
def reference(model, task) -> np.ndarray:
    """Keras float32 classes, computed here without the code under test."""
    return np.argmax(model(task["x_test"], training=False).numpy(), axis=1)


def _one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


def test_hand_count_matches_keras(model):
    assert model.count_params() == PARAMS


def test_every_deployment_converts_and_runs(deployed):
    failures = {k: str(v) for k, v in deployed.items() if isinstance(v, Exception)}
    assert failures == {}
    assert list(deployed) == list(dp.DEPLOYMENTS)


def test_litert_float32_file_is_four_bytes_per_weight(deployed):
    size = deployed["litert_fp32"].file_size_bytes
    assert FLOAT32_BYTES <= size <= FLOAT32_BYTES + 16 * 1024  # flatbuffer overhead: a few KB


def test_keras_file_holds_the_weights_once(deployed):
    # Without the optimizer: the trained model's Adam state would add 8 bytes per weight.
    record = deployed["keras"].record()
    assert record["file_size_source"] == "keras_file_float32"
    assert FLOAT32_BYTES <= record["file_size_bytes"] <= FLOAT32_BYTES + 64 * 1024
    assert deployed["xla"].file_size_bytes == deployed["bf16"].file_size_bytes


@pytest.mark.parametrize(
    ("deployment", "low", "high"),
    [
        ("litert_fp16", 0.45, 0.55),
        ("litert_int8_dynamic", 0.2, 0.35),
        ("litert_int8_full", 0.2, 0.35),
    ],
)
def test_quantised_file_sizes_against_float32_bytes(deployed, deployment, low, high):
    assert low <= deployed[deployment].file_size_bytes / FLOAT32_BYTES <= high


@pytest.mark.parametrize(("deployment", "atol"), [("litert_fp32", 1e-5), ("litert_fp16", 1e-3)])
def test_litert_float_outputs_match_keras(model, deployed, deployment, atol):
    for batch in (1, 4):
        timed = deployed[deployment].timed(batch_size=batch, seed=3)
        timed.warm_up(2)
        x = np.random.default_rng(3).random((batch, *INPUT), dtype=np.float32)
        out = timed.call()
        assert out.shape == (batch, 10)
        np.testing.assert_allclose(out, model(x, training=False).numpy(), atol=atol)
        assert timed.tracing_count == 1
        assert timed.first_call_s > 0


@pytest.mark.parametrize("deployment", ["litert_int8_dynamic", "litert_int8_full"])
def test_int8_predictions_agree_with_float32(deployed, reference, task, deployment):
    assert np.mean(reference == task["y_test"]) >= 0.9  # the float model has learnt the task
    classes = deployed[deployment].predict_classes(task["x_test"])
    assert classes.shape == (len(task["x_test"]),)
    assert np.mean(classes == reference) >= 0.9


def test_int8_full_records_its_calibration(deployed):
    details = deployed["litert_int8_full"].details
    assert details["calibration_images"] == 200
    assert details["input_dtype"] == details["output_dtype"] == "float32"


@pytest.mark.parametrize("deployment", ["keras", "xla", "bf16"])
def test_tensorflow_deployments_trace_once_and_record_threads(
    deployed, reference, task, deployment
):
    chosen = deployed[deployment]
    for batch in (1, 8):
        timed = chosen.timed(batch_size=batch)
        timed.warm_up(3)
        assert timed.call().shape == (batch, 10)
        assert timed.tracing_count == 1
    assert chosen.threads == {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    assert np.mean(chosen.predict_classes(task["x_test"]) == reference) >= 0.95


def test_bf16_computes_in_bfloat16_and_leaves_the_original_alone(model, deployed):
    chosen = deployed["bf16"]
    assert chosen.timed().call().dtype == tf.bfloat16.as_numpy_dtype
    assert chosen.conversion_s > 0
    assert chosen.details["cpu_bf16"] in (True, False, None)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert all(layer.compute_dtype == "float32" for layer in model.layers)
    np.testing.assert_array_equal(chosen.model.get_weights()[2], model.get_weights()[2])


def test_keras_and_xla_convert_nothing(deployed):
    assert deployed["keras"].conversion_s is None
    assert deployed["xla"].conversion_s is None
    assert deployed["litert_fp32"].conversion_s > 0


def test_litert_threads_are_recorded_and_matched(model, deployed):
    for name in dp.LITERT_DEPLOYMENTS:
        assert deployed[name].threads == {"num_threads": 1}
    matched = dp.deploy(model, "litert_fp32", batched=False)
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    assert matched.threads == {"num_threads": intra or os.cpu_count()}


def test_litert_output_is_a_copy(deployed):
    timed = deployed["litert_fp32"].timed()
    first = timed.call()
    first[:] = -1.0
    second = timed.call()
    assert np.all(second >= 0.0) and np.isclose(second.sum(), 1.0, atol=1e-5)


def test_litert_without_the_batched_twin_refuses_batches_in_one_sentence(model):
    single = dp.deploy(model, "litert_fp32", num_threads=1, batched=False)
    with pytest.raises(dp.DeploymentError) as caught:
        single.timed(batch_size=4)
    assert _one_sentence(str(caught.value))


class PyFunctionLayer(keras.layers.Layer):
    """Doubles its input through `tf.py_function`: runs in TensorFlow, no LiteRT or XLA kernel."""

    def call(self, inputs):
        outputs = tf.py_function(lambda t: t * 2.0, [inputs], inputs.dtype)
        outputs.set_shape(inputs.shape)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape


def test_an_unconvertible_layer_is_one_sentence_and_the_rest_stays_measurable(task):
    inputs = keras.Input(shape=INPUT)
    x = keras.layers.Conv2D(4, 3, padding="same", name="block1_conv1")(inputs)
    x = PyFunctionLayer(name="block1_py")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    results = dp.deploy_all(
        model,
        deployments=("keras", "xla", *dp.LITERT_DEPLOYMENTS),
        model_name="py_model",
        representative_images=task["x_train"][:20],
        num_threads=1,
        batched=False,
    )
    assert isinstance(results["keras"], dp.Deployment)
    assert results["keras"].file_size_bytes > 0  # an unregistered custom layer still saves
    assert results["keras"].predict_classes(task["x_test"][:3]).shape == (3,)
    for name in ("xla", *dp.LITERT_DEPLOYMENTS):
        error = results[name]
        assert isinstance(error, dp.DeploymentError), name
        message = str(error)
        assert _one_sentence(message), message
        assert "'py_model'" in message and f"as {name} " in message
        assert "EagerPyFunc" in message
    assert "conversion failed" in str(results["litert_fp32"])
    assert "run failed" in str(results["xla"])  # XLA rejects the op when it compiles


def test_int8_full_without_calibration_images_is_one_sentence(model):
    with pytest.raises(dp.DeploymentError) as caught:
        dp.deploy(model, "litert_int8_full", model_name="tiny")
    assert _one_sentence(str(caught.value)) and "representative_images" in str(caught.value)
    with pytest.raises(dp.DeploymentError) as caught:
        dp.deploy(model, "litert_int8_full", representative_images=np.zeros((4, 8, 8, 3)))
    assert _one_sentence(str(caught.value))


def test_unknown_deployment_lists_the_known_ones(model):
    with pytest.raises(dp.UnknownDeploymentError) as caught:
        dp.deploy(model, "onnx")
    assert all(name in str(caught.value) for name in dp.DEPLOYMENTS)
    with pytest.raises(dp.UnknownDeploymentError):
        dp.deploy_all(model, deployments=("keras", "tensorrt"))


def test_a_flatbuffer_the_runtime_rejects_is_one_sentence():
    broken = dp.LiteRTDeployment(
        model_name="broken",
        deployment="litert_fp32",
        runtime="litert",
        file_size_bytes=16,
        file_size_source="litert_flatbuffer",
        conversion_s=0.0,
        threads={"num_threads": 1},
        flatbuffer=b"not a flatbuffer",
        input_shape=INPUT,
    )
    with pytest.raises(dp.DeploymentError) as caught:
        broken.timed()
    assert _one_sentence(str(caught.value)) and "run failed" in str(caught.value)


def test_record_is_plain_and_unrounded(deployed):
    record = deployed["litert_int8_dynamic"].record()
    assert set(record) == {
        "model",
        "deployment",
        "runtime",
        "file_size_bytes",
        "file_size_source",
        "conversion_s",
        "threads",
        "details",
    }
    assert record["model"] == "tiny" and record["runtime"] == "litert"
    assert record["file_size_bytes"] == len(deployed["litert_int8_dynamic"].flatbuffer)
    assert record["details"]["litert_version"] == "2.3.0"


def test_a_keras_file_that_cannot_be_written_is_recorded_not_fatal(model, monkeypatch):
    def refuse(_model):
        raise OSError("disk full")

    monkeypatch.setattr(dp, "keras_file_size_bytes", refuse)
    chosen = dp.deploy(model, "keras")
    assert chosen.file_size_bytes is None
    assert chosen.details["file_size_error"] == "OSError: disk full"
    assert chosen.predict_classes(np.zeros((2, *INPUT), dtype=np.float32)).shape == (2,)
