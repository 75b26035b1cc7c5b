"""ResNet-20/56 of He et al. (2016) against the paper and against hand arithmetic.

Expected values: the paper's Table 6 (test error, parameters to two digits), parameter and MAC
counts derived by hand below from the §4.2 layer list, and the option-A MAC figures quoted in
the literature (40.55 M, 125.49 M; docs/source-report.md#references).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from architectures.references import (
    RESNET_RECIPE,
    ResNetDepthError,
    ZeroPadShortcut,
    register_references,
    resnet_cifar,
)
from bench.measure.flops import analytic_counts


def _count(weights: list) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


# Parameters by hand, n = (depth - 2) / 6 blocks per stage, convs without bias:
#   stem conv 3->16:                     3*3*3*16                    = 432
#   stage 1: 2n convs 16->16             2n * 3*3*16*16  = 2n * 2,304
#   stage 2: conv 16->32, 2n-1 x 32->32  4,608 + (2n-1) * 9,216
#   stage 3: conv 32->64, 2n-1 x 64->64  18,432 + (2n-1) * 36,864
#   BN (4 per channel, half trainable): stem 16 + 2n*(16 + 32 + 64) channels
#   dense 64 -> 10: 64*10 + 10          = 650
# ResNet-20 (n = 3): convs 432 + 13,824 + 4,608 + 46,080 + 18,432 + 184,320 = 267,696
#                    BN channels 16 + 6*112 = 688 -> 1,376 trainable + 1,376 non-trainable
#                    trainable 267,696 + 1,376 + 650 = 269,722; total 271,098
# ResNet-56 (n = 9): convs 432 + 41,472 + 4,608 + 156,672 + 18,432 + 626,688 = 848,304
#                    BN channels 16 + 18*112 = 2,032 -> 4,064 + 4,064
#                    trainable 848,304 + 4,064 + 650 = 853,018; total 857,082
HAND_PARAMS = {20: (269_722, 1_376), 56: (853_018, 4_064)}  # (trainable, non-trainable)
PAPER_PARAMS_M = {20: 0.27, 56: 0.85}  # Table 6; the paper counts learned weights only

# MACs by hand (the shortcut, BN, ReLU and pooling have none):
#   stem: 32*32*16 * 3*3*3                    =    442,368
#   every 3x3 conv of a stage at full width:  32*32*16*9*16 = 16*16*32*9*32 = 8*8*64*9*64
#                                             =  2,359,296
#   the stride-2 first conv of stages 2, 3:   16*16*32*9*16 = 8*8*64*9*32 = 1,179,648
#   dense: 64*10                              =        640
# ResNet-20: 442,368 + 16 * 2,359,296 + 2 * 1,179,648 + 640 = 40,551,040
# ResNet-56: 442,368 + 52 * 2,359,296 + 2 * 1,179,648 + 640 = 125,485,696
HAND_MACS = {20: 40_551_040, 56: 125_485_696}
QUOTED_MACS_M = {20: 40.55, 56: 125.49}


@pytest.fixture(scope="module", params=[20, 56])
def resnet(request):
    return request.param, resnet_cifar(request.param)


def test_parameters_match_the_hand_derivation_and_the_paper(resnet):
    depth, model = resnet
    trainable, non_trainable = HAND_PARAMS[depth]
    assert _count(model.trainable_weights) == trainable
    assert _count(model.non_trainable_weights) == non_trainable
    assert model.count_params() == trainable + non_trainable
    assert round(trainable / 1e4) / 100 == PAPER_PARAMS_M[depth]


def test_macs_match_the_hand_count_and_the_quoted_figure(resnet):
    depth, model = resnet
    count = analytic_counts(model)
    assert count.uncounted == ()
    assert count.macs == HAND_MACS[depth]
    assert abs(count.macs / 1e6 - QUOTED_MACS_M[depth]) <= 0.005


def test_depth_counts_weighted_layers_and_layers_are_named_by_stage(resnet):
    depth, model = resnet
    weighted = [x for x in model.layers if isinstance(x, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len(weighted) == depth
    names = {layer.name for layer in model.layers}
    n = (depth - 2) // 6
    for s in (1, 2, 3):
        for b in range(1, n + 1):
            assert {f"stage{s}_block{b}_conv1", f"stage{s}_block{b}_add"} <= names
    # option A: a parameter-free shortcut only where stages 2 and 3 begin
    shortcuts = [x.name for x in model.layers if isinstance(x, ZeroPadShortcut)]
    assert shortcuts == ["stage2_block1_shortcut", "stage3_block1_shortcut"]
    assert model.get_layer("stage3_block1_add").output.shape == (None, 8, 8, 64)


def test_output_shape_and_class_count():
    assert resnet_cifar(20).output_shape == (None, 10)
    assert resnet_cifar(20, input_shape=(28, 28, 1), num_classes=7).output_shape == (None, 7)


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = np.arange(1 * 4 * 4 * 2, dtype="float32").reshape(1, 4, 4, 2)
    y = keras.ops.convert_to_numpy(ZeroPadShortcut(filters=4, strides=2)(x))
    assert y.shape == (1, 2, 2, 4)
    # one zero channel before and one after the two input channels, every other pixel kept
    np.testing.assert_array_equal(y[..., 1:3], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(y[..., 0], 0.0)
    np.testing.assert_array_equal(y[..., 3], 0.0)


def test_saves_and_loads_as_keras_in_safe_mode(tmp_path):
    model = resnet_cifar(20)
    path = tmp_path / "resnet20.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype="float32")
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)
    assert loaded.count_params() == model.count_params()


def test_depth_that_is_not_6n_plus_2_is_a_clear_error():
    with pytest.raises(ResNetDepthError, match="6n \\+ 2"):
        resnet_cifar(21)


def test_register_references_registers_both_with_the_papers_figures():
    calls = []

    def register(id, builder, recipe, **kwargs):
        calls.append((id, builder, recipe, kwargs))

    register_references(register)
    assert [c[0] for c in calls] == ["resnet20", "resnet56"]
    published = {id: kwargs["published"] for id, _, _, kwargs in calls}
    # Table 6: 8.75 % and 6.97 % test error
    assert published["resnet20"].test_accuracy == pytest.approx(0.9125)
    assert published["resnet56"].test_accuracy == pytest.approx(0.9303)
    assert published["resnet20"].params_trainable == 270_000
    assert published["resnet56"].params_trainable == 850_000
    for id, builder, recipe, kwargs in calls:
        assert kwargs["kind"] == "reference"
        assert recipe is RESNET_RECIPE
        assert builder(input_shape=(32, 32, 3), num_classes=10).name == id
    # §4.2: SGD, lr 0.1, momentum 0.9, weight decay 1e-4, batch 128, no early stopping
    assert (RESNET_RECIPE.optimizer, RESNET_RECIPE.learning_rate, RESNET_RECIPE.momentum) == (
        "sgd",
        0.1,
        0.9,
    )
    assert (RESNET_RECIPE.weight_decay, RESNET_RECIPE.batch_size) == (1e-4, 128)
    assert RESNET_RECIPE.patience is None
