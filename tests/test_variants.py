"""The ten variants against the report: parameter counts, per-layer tables, recipes, figures.

Every expected value here is transcribed from the report's `model.summary()` tables and text
(docs/source-report.md), never computed by the code under test.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import architectures
from architectures import VARIANTS, UnknownVariantError, get

# (total, non-trainable) from the report's summaries.
REPORT_PARAMS = {
    "v01": (159_146, 0),
    "v02": (159_146, 0),
    "v03": (305_546, 896),
    "v04": (1_709_514, 2_048),
    "v05": (1_709_514, 2_048),
    "v06": (2_267_210, 2_304),
    "v07": (6_797_898, 4_864),
    "v08": (1_709_514, 2_048),
    "v09": (6_797_898, 4_864),
    "v10": (36_595_850, 11_776),
}

REPORT_IDS = list(REPORT_PARAMS)


def _non_trainable(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


def _trainable(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_registry_order_starts_with_the_reports_ten():
    assert [e.id for e in VARIANTS.values() if e.kind == "variant"] == REPORT_IDS
    assert list(VARIANTS)[:10] == REPORT_IDS


@pytest.mark.parametrize("variant", REPORT_IDS)
def test_parameter_counts_match_the_report(variant):
    model = get(variant).build()
    total, non_trainable = REPORT_PARAMS[variant]
    assert model.count_params() == total
    assert _non_trainable(model) == non_trainable
    assert _trainable(model) == total - non_trainable
    published = get(variant).published
    assert (published.params_total, published.params_non_trainable) == (total, non_trainable)
    assert published.params_trainable == total - non_trainable


# Per-layer rows of the report's tables: (layer class, output shape without batch, params).
# Dropout rows carry no parameters and keep the shape, so they are left out of the comparison.
C, B, P, F, D = "Conv2D", "BatchNormalization", "MaxPooling2D", "Flatten", "Dense"
REPORT_TABLES = {
    "v01": [
        (C, (32, 32, 32), 896), (P, (16, 16, 32), 0),
        (C, (16, 16, 64), 18_496), (P, (8, 8, 64), 0),
        (C, (8, 8, 128), 73_856), (P, (4, 4, 128), 0),
        (F, (2048,), 0), (D, (32,), 65_568), (D, (10,), 330),
    ],
    "v03": [
        (C, (32, 32, 32), 896), (B, (32, 32, 32), 128),
        (C, (32, 32, 32), 9_248), (B, (32, 32, 32), 128), (P, (16, 16, 32), 0),
        (C, (16, 16, 64), 18_496), (B, (16, 16, 64), 256), (P, (8, 8, 64), 0),
        (C, (8, 8, 64), 36_928), (B, (8, 8, 64), 256), (P, (4, 4, 64), 0),
        (C, (4, 4, 128), 73_856), (B, (4, 4, 128), 512),
        (C, (4, 4, 128), 147_584), (B, (4, 4, 128), 512), (P, (2, 2, 128), 0),
        (F, (512,), 0), (D, (32,), 16_416), (D, (10,), 330),
    ],
    "v07": [
        (C, (32, 32, 64), 1_792), (B, (32, 32, 64), 256),
        (C, (32, 32, 64), 36_928), (B, (32, 32, 64), 256), (P, (16, 16, 64), 0),
        (C, (16, 16, 128), 73_856), (B, (16, 16, 128), 512),
        (C, (16, 16, 128), 147_584), (B, (16, 16, 128), 512), (P, (8, 8, 128), 0),
        (C, (8, 8, 256), 295_168), (B, (8, 8, 256), 1_024),
        (C, (8, 8, 256), 590_080), (B, (8, 8, 256), 1_024), (P, (4, 4, 256), 0),
        (C, (4, 4, 512), 1_180_160), (B, (4, 4, 512), 2_048),
        (F, (8192,), 0),
        (D, (512,), 4_194_816), (B, (512,), 2_048),
        (D, (512,), 262_656), (B, (512,), 2_048),
        (D, (10,), 5_130),
    ],
    "v10": [
        (C, (32, 32, 128), 3_584), (B, (32, 32, 128), 512),
        (C, (32, 32, 128), 147_584), (B, (32, 32, 128), 512), (P, (16, 16, 128), 0),
        (C, (16, 16, 256), 295_168), (B, (16, 16, 256), 1_024),
        (C, (16, 16, 256), 590_080), (B, (16, 16, 256), 1_024), (P, (8, 8, 256), 0),
        (C, (8, 8, 512), 1_180_160), (B, (8, 8, 512), 2_048),
        (C, (8, 8, 512), 2_359_808), (B, (8, 8, 512), 2_048), (P, (4, 4, 512), 0),
        (C, (4, 4, 1024), 4_719_616), (B, (4, 4, 1024), 4_096),
        (C, (4, 4, 1024), 9_438_208), (B, (4, 4, 1024), 4_096),
        (F, (16384,), 0),
        (D, (1024,), 16_778_240), (B, (1024,), 4_096),
        (D, (1024,), 1_049_600), (B, (1024,), 4_096),
        (D, (10,), 10_250),
    ],
}  # fmt: skip


@pytest.mark.parametrize("variant", list(REPORT_TABLES))
def test_per_layer_table_matches_the_report(variant):
    model = get(variant).build()
    rows = [
        (type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
        if type(layer).__name__ in {C, B, P, F, D}
    ]
    assert rows == REPORT_TABLES[variant]
    assert sum(p for _, _, p in REPORT_TABLES[variant]) == REPORT_PARAMS[variant][0]


def test_dropout_rates_and_activations_follow_the_report():
    # v07: C(64,swish) BN D(.4) C(64,swish) BN P D(.4) ... Dense(512,swish) BN D(.7) ...
    model = get("v07").build()
    layers = {layer.name: layer for layer in model.layers}
    assert layers["block1_conv1"].activation.__name__ in {
        "swish",
        "silu",
    }  # Keras 3 aliases swish = silu
    assert layers["block2_conv1"].activation.__name__ == "relu"
    assert layers["block1_drop1"].rate == pytest.approx(0.4)
    assert layers["block3_drop"].rate == pytest.approx(0.6)
    assert layers["head_drop1"].rate == pytest.approx(0.7)
    assert layers["head_dense1"].activation.__name__ in {
        "swish",
        "silu",
    }  # Keras 3 aliases swish = silu
    assert layers["predictions"].activation.__name__ == "softmax"
    # v04's head: Dense(128) BN D(.65) Dense(256) D(.7)
    v04 = {layer.name: layer for layer in get("v04").build().layers}
    assert (v04["head_drop1"].rate, v04["head_drop2"].rate) == (0.65, 0.7)


@pytest.mark.parametrize(("variant", "l2"), [("v05", 0.0005), ("v06", 0.0001)])
def test_regularised_variants_put_l2_and_he_uniform_on_hidden_layers_only(variant, l2):
    model = get(variant).build()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            if layer.name == "predictions":
                assert layer.kernel_regularizer is None
                continue
            assert layer.kernel_regularizer.l2 == pytest.approx(l2)
            assert type(layer.kernel_initializer).__name__ == "HeUniform"


def test_layers_are_named_by_block():
    names = [layer.name for layer in get("v03").build().layers]
    assert names[:6] == [
        "image",
        "block1_conv1",
        "block1_bn1",
        "block1_conv2",
        "block1_bn2",
        "block1_pool",
    ]
    assert names[-1] == "predictions"


def test_input_shape_and_classes_are_parameters():
    model = get("v07").build(input_shape=(64, 64, 1), num_classes=5)
    assert tuple(model.input.shape[1:]) == (64, 64, 1)
    assert tuple(model.output.shape[1:]) == (5,)


# Recipes: (optimizer, batch, patience, augmentation) per the recipe table of docs/source-report.md.
RECIPES = {
    "v01": ("adam", 64, 10, None),
    "v02": ("adam", 64, 10, None),
    "v03": ("adam", 64, 10, None),
    "v04": ("adam", 128, 10, None),
    "v05": ("sgd", 128, 10, None),
    "v06": ("sgd", 128, 10, None),
    "v07": ("adam", 64, 15, None),
    "v08": ("adam", 32, 15, "A"),  # 32: flow() ignores fit's batch_size=64
    "v09": ("adam", 32, 15, "A"),
    "v10": ("adam", 32, 15, "B"),
}


@pytest.mark.parametrize("variant", REPORT_IDS)
def test_recipe_matches_the_report(variant):
    recipe = get(variant).recipe
    assert (recipe.optimizer, recipe.batch_size, recipe.patience, recipe.augmentation) == RECIPES[
        variant
    ]
    assert recipe.max_epochs == 200
    assert recipe.origin["validation_examples"] == "assumed"


def test_recipe_origins_keep_shown_stated_and_assumed_apart():
    assert get("v01").recipe.origin["patience"] == "shown"
    assert get("v04").recipe.origin["batch_size"] == "stated"
    assert get("v04").recipe.origin["patience"] == "assumed"
    sgd = get("v05").recipe
    assert sgd.origin["learning_rate"] == sgd.origin["momentum"] == "assumed"
    assert sgd.learning_rate is not None and sgd.momentum is not None
    assert get("v10").recipe.origin["patience"] == "shown"
    assert "flow()" in get("v08").recipe.notes["batch_size"]
    # No compile() is printed before v10's (docs/source-report.md#recipes): the optimizer of
    # v01-v03 is only stated by later prose, its learning rate assumed; v10 shows both.
    assert get("v01").recipe.origin["optimizer"] == "stated"
    assert get("v01").recipe.origin["learning_rate"] == "assumed"
    assert get("v10").recipe.origin["optimizer"] == get("v10").recipe.origin["learning_rate"]
    assert get("v10").recipe.origin["learning_rate"] == "shown"
    # fit(..., epochs=200) is printed for v01-v03 and v08-v10 only.
    epochs = {vid: get(vid).recipe.origin["max_epochs"] for vid in REPORT_IDS}
    assert {v for v, o in epochs.items() if o == "shown"} == {
        "v01",
        "v02",
        "v03",
        "v08",
        "v09",
        "v10",
    }


PUBLISHED_ACCURACY = {
    "v01": 0.7232, "v02": 0.7743, "v03": 0.8036, "v04": None, "v05": 0.8577,
    "v06": 0.8465, "v07": 0.8856, "v08": 0.8843, "v09": 0.9045, "v10": 0.9135,
}  # fmt: skip


@pytest.mark.parametrize("variant", REPORT_IDS)
def test_published_accuracy_matches_the_report(variant):
    published = get(variant).published
    assert published.test_accuracy == PUBLISHED_ACCURACY[variant]
    assert published.accuracy_note  # v04's reason, or where the figure was read


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(UnknownVariantError) as info:
        get("v11")
    message = str(info.value)
    assert "v11" in message and "v01" in message and "v10" in message


def test_user_models_flow_through_the_registry():
    def tiny(input_shape, num_classes):
        inputs = keras.Input(shape=input_shape)
        x = keras.layers.GlobalAveragePooling2D()(inputs)
        return keras.Model(inputs, keras.layers.Dense(num_classes, name="predictions")(x))

    entry = architectures.register("my_net", tiny, architectures.Recipe(batch_size=16))
    try:
        assert list(VARIANTS)[-1] == "my_net"
        assert [e.id for e in architectures.select("v02,my_net")] == ["v02", "my_net"]
        assert entry.build().count_params() == 3 * 10 + 10
        with pytest.raises(architectures.RegistryError):
            architectures.register("my_net", tiny, architectures.Recipe())
    finally:
        architectures.unregister("my_net")
    assert "my_net" not in VARIANTS


def test_select_rejects_unknown_names_before_anything_runs():
    with pytest.raises(UnknownVariantError):
        architectures.select("v01,nope")
