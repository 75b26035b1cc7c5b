"""Frozen specs: what a variant is (layers, recipe, the report's figures), with no Keras in sight.

A variant of the report is data: a `VariantSpec` read by the one builder in `builder.py`. The
recipe records where each value comes from (shown in the report's code, stated in its prose, or
assumed by us), because the report leaves several values unstated. `tests/test_variants.py` checks
every value against the report as described in `docs/source-report.md`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Origin = Literal["shown", "stated", "assumed"]

# The course report's figures and He et al.'s are accuracies on the full CIFAR-10 test set.
CIFAR10_TEST_EXAMPLES = 10_000
REPORT_CITATION = (
    'course report "Proyecto IV – Visión por Computador" (S. E. Velasco; see docs/source-report.md)'
)


@dataclass(frozen=True)
class Conv:
    """One `Conv2D(filters, (3, 3), padding="same")`, optionally followed by BN and dropout."""

    filters: int
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0  # Dropout after this conv (and its BN), before the next conv


@dataclass(frozen=True)
class Block:
    """Convolutions, then an optional 2x2 max pool, then an optional block dropout."""

    convs: tuple[Conv, ...]
    pool: bool = True
    dropout: float = 0.0


@dataclass(frozen=True)
class Dense:
    """One hidden `Dense(units, activation)`, optionally followed by BN and dropout."""

    units: int
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0


@dataclass(frozen=True)
class Recipe:
    """How a variant was trained.

    `origin` says, per field, whether the report shows the value in code ("shown"), states it in
    prose ("stated"), or is silent and we chose it ("assumed"); `notes` gives the reason. Any field
    can be overridden with `dataclasses.replace` (the suite exposes the common ones as options).
    `patience=None` means no early stopping.
    """

    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float | None = None  # None: Keras' default for the optimizer (Adam: 0.001)
    momentum: float | None = None
    batch_size: int = 64
    max_epochs: int = 200
    patience: int | None = 10
    augmentation: Literal["A", "B"] | None = None
    validation_examples: int = 5000
    weight_decay: float | None = None  # decoupled decay (references); the report uses L2 in layers
    origin: dict[str, Origin] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """Figures published for a model (the course report's, or a paper's for references).

    `test_accuracy` is a fraction on `test_examples` images of `dataset`; `None` with
    `accuracy_note` saying why when none was published.
    """

    test_accuracy: float | None
    accuracy_note: str
    params_total: int | None
    params_trainable: int | None
    params_non_trainable: int | None
    macs: int | None = None
    citation: str = REPORT_CITATION
    dataset: str = "cifar10"
    test_examples: int = CIFAR10_TEST_EXAMPLES


@dataclass(frozen=True)
class VariantSpec:
    """One CNN of the report: conv blocks, a dense head, and the softmax output.

    `l2` and `kernel_initializer` apply to every Conv2D and every hidden Dense, never to the output
    layer (v05/v06 in the report).
    """

    blocks: tuple[Block, ...]
    head: tuple[Dense, ...]
    l2: float | None = None
    kernel_initializer: str = "glorot_uniform"  # Keras' default, which the report's v01-v04 use
