"""Training profiles: how much of a recipe to run, from the report's full runs to a smoke test.

Claim: `PROFILES` is the one table of profiles (`PROFILE_NAMES` lists its keys in order), and each
smaller profile is a subset of a bigger one's budget (`tests/test_training.py` checks the nesting).
This module imports neither TensorFlow nor Keras, so option tables can import it for the names
without paying for a framework import (`tests/test_training.py` checks that in a fresh process).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How much of the recipe to run.

    Attributes:
        name: "paper", "quick" or "smoke".
        train_examples: training images to use (None: all the dataset offers).
        validation_examples: validation images (None: the recipe's `validation_examples`).
        test_examples: test images (None: the whole test set).
        max_epochs: cap on epochs (None: the recipe's `max_epochs`).
        description: one line for `--help` and reports.
    """

    name: str
    train_examples: int | None
    validation_examples: int | None
    test_examples: int | None
    max_epochs: int | None
    description: str


PROFILES: dict[str, Profile] = {
    "paper": Profile(
        name="paper",
        train_examples=None,
        validation_examples=None,
        test_examples=None,
        max_epochs=None,
        description=(
            "the recipes as the report ran them: all training images, up to 200 epochs, both "
            "early stoppings, the full test set (hours per variant; meant for a GPU)"
        ),
    ),
    "quick": Profile(
        name="quick",
        train_examples=3_000,
        validation_examples=1_000,
        test_examples=2_000,
        max_epochs=3,
        description=(
            "a CPU-sized budget: 3,000 training / 1,000 validation / 2,000 test images, at most 3 "
            "epochs (about 0.1 s per training image for v10 on one core, so ~15 min for v10 and "
            "~30 min for all ten; accuracies far below the report's)"
        ),
    ),
    "smoke": Profile(
        name="smoke",
        train_examples=256,
        validation_examples=128,
        test_examples=256,
        max_epochs=1,
        description=(
            "seconds per variant: 256 / 128 / 256 images and one epoch; checks that everything "
            "runs, its accuracies mean nothing"
        ),
    ),
}

PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)
