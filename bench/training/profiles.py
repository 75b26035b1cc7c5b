"""Training profiles: how much of a recipe to run, from the report's full runs to a smoke test.

Claim: `PROFILES` is the one table of profiles (`PROFILE_NAMES` lists its keys in order). The
CPU-sized profiles are budgeted in optimizer steps, not in epochs of a subset: a short run of a
BatchNormalization model evaluates with moving statistics (momentum 0.99, starting at mean 0 and
variance 1) that need hundreds of updates to describe the trained network; with the 72 steps of
an earlier "3 epochs of 3,000 images" profile, v04 scored 10 % on Fashion-MNIST (docs/measurement.md
§7). Steps per model are equal whatever its batch size, so every variant gets the same number of
updates. This module imports neither TensorFlow nor Keras, so option tables can import it for the
names (`tests/test_training.py` checks that in a fresh process).

Steps alone are not enough: after a few hundred steps the weights still move fast and the moving
averages lag behind them (v03 on Fashion-MNIST after 250 steps: 77 % training accuracy, 24 % in
inference mode; 81 % once its statistics were re-estimated for the final weights). So the short
profiles re-estimate BatchNormalization's statistics after the last epoch ("precise BN", Wu and
Johnson 2021, "Rethinking 'Batch' in BatchNorm"): `precise_bn_images` training images, passed
once through the final model in training mode, give every BN layer the mean and variance its
inputs have now (`bench.training.precise_bn`). The paper profile runs the recipes as the report
did, without it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How much of the recipe to run.

    Attributes:
        name: a key of `PROFILES`.
        train_examples: training images to use (None: all the dataset offers).
        validation_examples: validation images (None: the recipe's `validation_examples`).
        test_examples: test images (None: the whole test set).
        max_epochs: cap on epochs (None: the recipe's `max_epochs`).
        description: one line for `--help` and reports.
        steps_per_epoch: optimizer steps per epoch, the training images reshuffled and repeated
            as needed (None: one pass over the training images is an epoch).
        precise_bn_images: training images from which BatchNormalization's statistics are
            re-estimated after the last epoch (None: the moving averages are kept as trained).
    """

    name: str
    train_examples: int | None
    validation_examples: int | None
    test_examples: int | None
    max_epochs: int | None
    description: str
    steps_per_epoch: int | None = None
    precise_bn_images: int | None = None

    @property
    def steps(self) -> int | None:
        """Optimizer steps of a run that is not stopped early, when the profile fixes them."""
        if self.steps_per_epoch is None or self.max_epochs is None:
            return None
        return self.steps_per_epoch * self.max_epochs


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
    "cpu": Profile(
        name="cpu",
        train_examples=None,
        validation_examples=1_000,
        test_examples=None,
        max_epochs=5,
        steps_per_epoch=50,
        precise_bn_images=2_048,
        description=(
            "an equal budget of 250 optimizer steps per model at its recipe's batch (5 epochs of "
            "50 steps over all training images), 1,000 validation images, the full test set; "
            "the recipes' early stoppings and augmentation apply; BatchNormalization statistics "
            "re-estimated on 2,048 training images at the end (about 90 minutes for the ten "
            "variants and ResNet-20 x 3 seeds on a 2-core CPU, two trainings at a time)"
        ),
    ),
    "quick": Profile(
        name="quick",
        train_examples=None,
        validation_examples=500,
        test_examples=2_000,
        max_epochs=3,
        steps_per_epoch=50,
        precise_bn_images=2_048,
        description=(
            "150 optimizer steps per model (3 epochs of 50 steps), 500 validation and 2,000 test "
            "images: minutes on a CPU; a BatchNormalization model may not have settled (flagged)"
        ),
    ),
    "smoke": Profile(
        name="smoke",
        train_examples=256,
        validation_examples=128,
        test_examples=256,
        max_epochs=2,
        precise_bn_images=256,
        description=(
            "seconds per model: 256 / 128 / 256 images and two epochs; checks that everything "
            "runs (and resumes), its accuracies mean nothing"
        ),
    ),
}

PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)


def run_label(variant: str, profile: str, seed: int) -> str:
    """How a training run names itself in its progress lines: "<id> [<profile>, seed <s>]"
    (`bench.suite.presentation.progress.EPOCH_LINE` parses it; the worker's test fault hook
    matches it)."""
    return f"{variant} [{profile}, seed {seed}]"
