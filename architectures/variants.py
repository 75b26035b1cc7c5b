"""The report's ten CNNs, v01-v10, as data (described in docs/source-report.md).

Each entry is one `VariantSpec`, one `Recipe` and one `Published`. Parameter counts in `Published`
are the report's `model.summary()` totals; `tests/test_variants.py` builds every spec and checks
that Keras counts exactly those, so a typo here cannot go unnoticed.
"""

from __future__ import annotations

from dataclasses import replace

from architectures.spec import Block, Conv, Dense, Published, Recipe, VariantSpec

# --- training recipes ----------------------------------------------------------------------------

_VALIDATION_NOTE = (
    "the report splits x_val off the 50,000 training images without saying how many; 5,000 (10 %) "
    "is our assumption"
)

ADAM_64 = Recipe(
    optimizer="adam",
    batch_size=64,
    patience=10,
    origin={
        "optimizer": "stated",
        "learning_rate": "assumed",
        "batch_size": "shown",
        "max_epochs": "shown",
        "patience": "shown",
        "validation_examples": "assumed",
    },
    notes={
        "optimizer": (
            "no compile() call is printed before v10's; the text of v05 says SGD replaced Adam "
            "and v07's that Adam came back, so the earlier models used Adam"
        ),
        "learning_rate": (
            "no value is printed; Adam with Keras defaults (learning rate 0.001) is assumed, as "
            "v10's compile(optimizer='Adam') uses them"
        ),
        "max_epochs": "fit(..., epochs=200) is printed for v01-v03",
        "validation_examples": _VALIDATION_NOTE,
    },
)

ADAM_128 = replace(
    ADAM_64,
    batch_size=128,
    origin={
        **ADAM_64.origin,
        "batch_size": "stated",
        "optimizer": "stated",
        "patience": "assumed",
        "max_epochs": "assumed",
    },
    notes={
        **ADAM_64.notes,
        "batch_size": "the text says the batch grew from 64 to 128 for v04",
        "patience": "not shown for v04; assumed unchanged from v01-v03 (10)",
        "max_epochs": "no fit() call is printed for v04-v07; assumed the 200 of the others",
    },
)

SGD_128 = replace(
    ADAM_128,
    optimizer="sgd",
    learning_rate=0.01,
    momentum=0.9,
    origin={
        **ADAM_128.origin,
        "optimizer": "stated",
        "learning_rate": "assumed",
        "momentum": "assumed",
        "batch_size": "assumed",
    },
    notes={
        **ADAM_128.notes,
        "optimizer": "the text says SGD with momentum replaced Adam because of the L2 terms",
        "learning_rate": (
            "the report fixes learning_rate but does not print it; 0.01 is Keras' SGD default and "
            "the usual value for SGD with momentum on CIFAR-10 at batch 128"
        ),
        "momentum": "the report fixes momentum but does not print it; 0.9 is the common choice",
        "batch_size": "not shown for v05/v06; assumed v04's 128",
    },
)

ADAM_64_P15 = replace(
    ADAM_64,
    patience=15,
    origin={
        **ADAM_64.origin,
        "optimizer": "stated",
        "batch_size": "assumed",
        "max_epochs": "assumed",
    },
    notes={
        **ADAM_64.notes,
        "optimizer": "the text says v07 went back to Adam",
        "max_epochs": "no fit() call is printed for v04-v07; assumed the 200 of the others",
        "batch_size": "not shown for v07; assumed the 64 of v01-v03",
        "patience": "raised to 15 in v07's code",
    },
)

_FLOW_NOTE = (
    "batch 32: the report calls fit(datagen.flow(x, y), batch_size=64); Keras ignores batch_size "
    "for a generator and flow() defaults to 32, so these runs really trained with 32"
)

ADAM_AUG_A = replace(
    ADAM_64_P15,
    batch_size=32,
    augmentation="A",
    origin={
        **ADAM_64_P15.origin,
        "batch_size": "shown",
        "patience": "assumed",
        "augmentation": "shown",
        "max_epochs": "shown",
    },
    notes={
        **ADAM_64_P15.notes,
        "optimizer": (
            "v08's text says the optimizer was Adam; v09's does not name it (assumed v08's)"
        ),
        "max_epochs": "fit(..., epochs=200) is printed for v08-v10",
        "batch_size": _FLOW_NOTE,
        "patience": "not shown for v08/v09; assumed v07's 15",
        "augmentation": "ImageDataGenerator policy A (shift 0.1, flip, rotation 15, shear 0.1)",
    },
)

ADAM_AUG_B = replace(
    ADAM_AUG_A,
    augmentation="B",
    origin={
        **ADAM_AUG_A.origin,
        "optimizer": "shown",
        "learning_rate": "shown",
        "patience": "shown",
    },
    notes={
        **ADAM_AUG_A.notes,
        "optimizer": "Adam shown in v10's code",
        "learning_rate": "compile(optimizer='Adam') in v10's code: Keras' defaults (0.001)",
        "patience": "15 shown in v10's code",
        "augmentation": (
            "policy B (shift 0.2, flip, rotation 20, shear 0.15, zoom 0.2), read from the code "
            "block before v10; its prose only mentions the added zoom"
        ),
    },
)

# --- architectures -------------------------------------------------------------------------------


def _pair(filters: int, activation: str = "relu", *, dropout: float = 0.0) -> tuple[Conv, ...]:
    """Two BN'd convs; `dropout` follows the first one (v07's pattern)."""
    return (
        Conv(filters=filters, activation=activation, batch_norm=True, dropout=dropout),
        Conv(filters=filters, activation=activation, batch_norm=True),
    )


V01 = VariantSpec(
    blocks=(
        Block(convs=(Conv(filters=32),)),
        Block(convs=(Conv(filters=64),)),
        Block(convs=(Conv(filters=128),)),
    ),
    head=(Dense(units=32),),
)

V02 = VariantSpec(
    blocks=tuple(replace(b, dropout=0.4) for b in V01.blocks),
    head=V01.head,
)

# v03 has four pools (32 -> 16 -> 8 -> 4 -> 2): block 2 of the report, C64 BN P C64 BN P D, is two
# of our blocks, because a block here ends at its pool.
V03 = VariantSpec(
    blocks=(
        Block(convs=_pair(32), dropout=0.4),
        Block(convs=(Conv(filters=64, batch_norm=True),)),
        Block(convs=(Conv(filters=64, batch_norm=True),), dropout=0.4),
        Block(convs=_pair(128), dropout=0.4),
    ),
    head=(Dense(units=32),),
)

V04 = VariantSpec(
    blocks=(
        Block(convs=_pair(64), dropout=0.5),
        Block(convs=_pair(128), dropout=0.5),
        Block(convs=_pair(256), dropout=0.6),
    ),
    head=(
        Dense(units=128, batch_norm=True, dropout=0.65),
        Dense(units=256, dropout=0.7),
    ),
)

V05 = replace(V04, l2=0.0005, kernel_initializer="he_uniform")

V06 = replace(
    V04,
    head=(
        Dense(units=256, batch_norm=True, dropout=0.7),
        Dense(units=256, dropout=0.7),
    ),
    l2=0.0001,
    kernel_initializer="he_uniform",
)

V07 = VariantSpec(
    blocks=(
        Block(convs=_pair(64, "swish", dropout=0.4), dropout=0.4),
        Block(convs=_pair(128, "relu", dropout=0.5), dropout=0.5),
        Block(convs=_pair(256, "swish", dropout=0.6), dropout=0.6),
        Block(
            convs=(Conv(filters=512, activation="relu", batch_norm=True),), pool=False, dropout=0.6
        ),
    ),
    head=(
        Dense(units=512, activation="swish", batch_norm=True, dropout=0.7),
        Dense(units=512, activation="relu", batch_norm=True, dropout=0.7),
    ),
)

V08 = VariantSpec(
    blocks=(
        Block(convs=_pair(64), dropout=0.4),
        Block(convs=_pair(128), dropout=0.4),
        Block(convs=_pair(256), dropout=0.4),
    ),
    head=(
        Dense(units=128, batch_norm=True, dropout=0.5),
        Dense(units=256, dropout=0.5),
    ),
)

V09 = VariantSpec(
    blocks=(
        Block(convs=_pair(64, "swish"), dropout=0.3),
        Block(convs=_pair(128, "relu"), dropout=0.4),
        Block(convs=_pair(256, "swish"), dropout=0.5),
        Block(
            convs=(Conv(filters=512, activation="relu", batch_norm=True),), pool=False, dropout=0.4
        ),
    ),
    head=(
        Dense(units=512, activation="swish", batch_norm=True, dropout=0.4),
        Dense(units=512, activation="relu", batch_norm=True, dropout=0.4),
    ),
)

V10 = VariantSpec(
    blocks=(
        Block(convs=_pair(128, "swish"), dropout=0.3),
        Block(convs=_pair(256, "relu"), dropout=0.4),
        Block(convs=_pair(512, "swish"), dropout=0.5),
        Block(convs=_pair(1024, "relu"), pool=False, dropout=0.5),
    ),
    head=(
        Dense(units=1024, activation="swish", batch_norm=True, dropout=0.4),
        Dense(units=1024, activation="relu", batch_norm=True, dropout=0.4),
    ),
)


def _published(accuracy: float | None, note: str, total: int, non_trainable: int) -> Published:
    return Published(
        test_accuracy=accuracy,
        accuracy_note=note,
        params_total=total,
        params_trainable=total - non_trainable,
        params_non_trainable=non_trainable,
    )


# (id, description, spec, recipe, published), in the report's order.
REPORT_VARIANTS: tuple[tuple[str, str, VariantSpec, Recipe, Published], ...] = (
    (
        "v01",
        "first model: three conv layers 32/64/128, Dense(32)",
        V01,
        ADAM_64,
        _published(0.7232, "printed 72.32 %; the text says 73.3 %", 159_146, 0),
    ),
    (
        "v02",
        "v01 with dropout 0.4 after each block",
        V02,
        ADAM_64,
        _published(0.7743, "printed by model.evaluate", 159_146, 0),
    ),
    (
        "v03",
        "doubled convs with batch norm, four pools",
        V03,
        ADAM_64,
        _published(0.8036, "printed by model.evaluate (train accuracy about 87 %)", 305_546, 896),
    ),
    (
        "v04",
        "wider 64/128/256, heavier dropout, batch 128",
        V04,
        ADAM_128,
        _published(
            None,
            "not legible in the report's extracted text; its prose only says v04 beat v03",
            1_709_514,
            2_048,
        ),
    ),
    (
        "v05",
        "v04 with L2(5e-4), he_uniform and SGD",
        V05,
        SGD_128,
        _published(0.8577, "printed by model.evaluate", 1_709_514, 2_048),
    ),
    (
        "v06",
        "v05 with weaker L2(1e-4) and a wider dense head",
        V06,
        SGD_128,
        _published(0.8465, "printed by model.evaluate", 2_267_210, 2_304),
    ),
    (
        "v07",
        "swish/relu alternated, a 512 conv, dense 512, patience 15, Adam",
        V07,
        ADAM_64_P15,
        _published(0.8856, "printed by model.evaluate", 6_797_898, 4_864),
    ),
    (
        "v08",
        "v04-like net with lighter dropout and augmentation A",
        V08,
        ADAM_AUG_A,
        _published(0.8843, "printed by model.evaluate", 1_709_514, 2_048),
    ),
    (
        "v09",
        "v07-like net with augmentation A",
        V09,
        ADAM_AUG_A,
        _published(0.9045, "printed by model.evaluate", 6_797_898, 4_864),
    ),
    (
        "v10",
        "the winner: conv pairs 128/256/512/1024, two Dense(1024), augmentation B",
        V10,
        ADAM_AUG_B,
        _published(0.9135, "printed by model.evaluate", 36_595_850, 11_776),
    ),
)
