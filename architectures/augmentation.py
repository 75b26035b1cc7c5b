"""The report's augmentation policies A and B, rebuilt from Keras 3 preprocessing layers.

The report augmented with `ImageDataGenerator` (IDG), which Keras 3 no longer has. This module
keeps the report's IDG settings as data (`POLICIES`) and builds, for each, a `keras.Sequential` of
`RandomRotation`, `RandomTranslation`, `RandomShear`, `RandomZoom` and `RandomFlip` layers that
draws transforms from the same distribution as IDG with those settings.

Claim, and how `tests/test_augmentation.py` checks it: each layer, given a fixed transform, gives
the same image as IDG's `apply_affine_transform` (`keras/src/legacy/preprocessing/image.py`, reached
through `tf.keras.preprocessing.image`) for the matching IDG parameters, to float round-off
(rotation, translation, zoom; shear once the corner/centre offset below is compensated); the
whole pipeline, given one set of IDG parameters, agrees with `ImageDataGenerator.apply_transform`
on them up to the extra resampling blur (0.006 measured on a smooth test image, where a wrong
axis, sign or layer order costs 0.05 to 0.6); the layers' sampled transforms fill exactly the
policy's ranges; and the factors equal the hand conversions below.

Conversions (IDG -> Keras 3.15, read from both sources and verified numerically):

- `rotation_range=d` degrees, theta ~ U(-d, d) -> `RandomRotation(factor=d / 360)`, which draws
  U(-360 f, 360 f) degrees about the same centre ((size - 1) / 2). Same sign convention too.
- `width_shift_range=f`, `height_shift_range=f` (fractions when < 1) ->
  `RandomTranslation(height_factor=f, width_factor=f)`, U(-f, f) x size pixels. IDG quietly swaps
  the axes (its `tx`, drawn from `height_shift_range` x rows, moves columns, because its matrix's
  first coordinate is the column); both policies use equal ranges, so the swap changes nothing.
- `shear_range=s` is in DEGREES: IDG draws an angle a ~ U(-s, s), and its output->input matrix is
  [[1, -sin a], [0, cos a]] in (column, row) coordinates about the centre, i.e. columns are
  displaced by -sin(a) x (row offset) and rows scaled by cos a. `RandomShear`'s matrix
  (`_get_shear_matrix`) is [[1, k], [0, 1]] with k ~ U(-x_factor, x_factor) (a float factor f
  gives the range (-f, f) times a random sign; the docstring's "(0, f)" is wrong). Matching the
  off-diagonal entries gives x_factor = sin(s), the largest |sin a|; y_factor = 0 because IDG
  shears along one axis only. For the report's 0.1 and 0.15 degrees, x_factor is 0.0017453 and
  0.0026180: a shift of at most 0.04 px at the image edge, almost nothing (the common misreading
  of 0.1 as a fraction of the image would be a 5.7 degree shear).
- `zoom_range=z` -> IDG draws zx, zy ~ U(1 - z, 1 + z) independently and uses them as
  output->input scales about the centre; `RandomZoom(height_factor=(-z, z), width_factor=(-z, z))`
  draws its height and width zooms independently from U(1 - z, 1 + z), used the same way (> 1
  zooms out in both).
- `horizontal_flip=True` -> `RandomFlip("horizontal")`, probability 1/2 in both.
- `fill_mode="nearest"` is set on every layer that fills (the layers default to "reflect"), and
  `interpolation="bilinear"` matches IDG's `interpolation_order=1`.

Deviations from IDG, all kept because they are small next to the transforms themselves:

- IDG composes one matrix (rotation . shift . shear . zoom, output->input) and resamples once; here
  each geometric layer resamples (3 times for A, 4 for B), so images come out slightly smoother and
  the "nearest" fill of one layer can be moved by the next. The layer order is IDG's composition
  order, then the flip, which IDG applies after the affine warp.
- `RandomShear` shears about the top-left pixel, IDG about the centre: the Keras result is the
  centred shear plus a shift of k x (H - 1) / 2 pixels along x, at most 0.041 px for policy B.
  IDG's cos(a) row scale (1 - 3.4e-6 at 0.15 degrees) is dropped, and k is uniform where IDG's
  -sin(a) is sine-of-uniform, identical to about 1e-6 relative at these angles.
- Random streams differ (IDG: NumPy's global generator, one image at a time on the CPU; here one
  Keras `SeedGenerator` per layer, per-image draws over a batch), so the same seed does not give
  the same images as IDG, only the same distribution.

Known Keras issue (3.15.1): `RandomShear.get_config()` stores the sampled range (-f, f), which its
own constructor rejects, so a pipeline holding the shear layer cannot be cloned
(`keras.models.clone_model`) or reloaded from a saved model. Keep the pipeline out of the model,
in the `tf.data` map, as `bench.training.pipeline.make_pipeline` does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

import keras

_REPORT = "the course report's ImageDataGenerator calls (docs/source-report.md#augmentation)"


class UnknownPolicyError(ValueError):
    """An augmentation policy name that is not in `POLICIES`."""


@dataclass(frozen=True)
class AugmentationPolicy:
    """One `ImageDataGenerator(...)` call of the report, with IDG's own argument names and units.

    Attributes:
        name: "A" or "B".
        width_shift_range: fraction of the image width (IDG reads values < 1 as fractions).
        height_shift_range: fraction of the image height.
        horizontal_flip: flip left-right with probability 1/2.
        rotation_range: degrees; IDG draws uniformly from (-rotation_range, rotation_range).
        shear_range: degrees (IDG applies `np.deg2rad`); uniform in (-shear_range, shear_range).
        zoom_range: IDG scales each axis independently by U(1 - zoom_range, 1 + zoom_range).
        fill_mode: how IDG fills pixels whose source lies outside the image.
        source: where the settings come from.
    """

    name: str
    width_shift_range: float
    height_shift_range: float
    horizontal_flip: bool
    rotation_range: float
    shear_range: float
    zoom_range: float
    fill_mode: str
    source: str

    def idg_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the report's `ImageDataGenerator(...)` call."""
        kwargs = asdict(self)
        del kwargs["name"], kwargs["source"]
        return kwargs


POLICIES: MappingProxyType[str, AugmentationPolicy] = MappingProxyType(
    {
        "A": AugmentationPolicy(
            name="A",
            width_shift_range=0.1,
            height_shift_range=0.1,
            horizontal_flip=True,
            rotation_range=15.0,
            shear_range=0.1,
            zoom_range=0.0,  # not passed in the report's call; IDG's default is 0 (no zoom)
            fill_mode="nearest",
            source=f"{_REPORT}; used by v08 and v09",
        ),
        "B": AugmentationPolicy(
            name="B",
            width_shift_range=0.2,
            height_shift_range=0.2,
            horizontal_flip=True,
            rotation_range=20.0,
            shear_range=0.15,
            zoom_range=0.2,
            fill_mode="nearest",
            source=(
                f"{_REPORT}; used by v10. The code block gives these values; v10's prose only "
                "mentions the added 20 % zoom, and the code is the stronger evidence"
            ),
        ),
    }
)


def rotation_factor(rotation_range_deg: float) -> float:
    """`RandomRotation` factor (a fraction of a full turn) for IDG's `rotation_range` in degrees."""
    return rotation_range_deg / 360.0


def shear_factor(shear_range_deg: float) -> float:
    """`RandomShear` x_factor for IDG's `shear_range` in degrees: sin of the largest angle.

    IDG's shear matrix has -sin(angle) off the diagonal; `RandomShear`'s has the factor itself
    (see the module docstring for the derivation and what is left out).
    """
    return math.sin(math.radians(shear_range_deg))


def build_augmentation(
    policy: str | AugmentationPolicy | None, *, seed: int | None = None
) -> keras.Sequential | None:
    """Build the Keras 3 equivalent of one of the report's `ImageDataGenerator` policies.

    The layers act only when called with `training=True`; at inference they return the images
    unchanged (as float32). Call it on batches inside a `tf.data` map (see
    `bench.training.pipeline.make_pipeline`) so that the model's inference graph stays the bare
    network.

    Args:
        policy: "A", "B", an `AugmentationPolicy`, or None for no augmentation.
        seed: base seed; layer i gets `seed + i`, so the same seed gives the same sequence of
            transforms. None draws a fresh random seed per layer.

    Returns:
        A `keras.Sequential` named `augmentation_<name>`, or None when `policy` is None.

    Raises:
        UnknownPolicyError: `policy` is a string that is not a key of `POLICIES`.
    """
    if policy is None:
        return None
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise UnknownPolicyError(
                f"Unknown augmentation policy {policy!r}; choose one of "
                f"{', '.join(map(repr, POLICIES))} or None."
            )
        policy = POLICIES[policy]
    return keras.Sequential(_layers(policy, seed), name=f"augmentation_{policy.name}")


def _layers(policy: AugmentationPolicy, seed: int | None) -> list[keras.layers.Layer]:
    """The policy's layers in IDG's output->input order: rotation, shift, shear, zoom, flip.

    Layer i gets seed `seed + i` (None: a fresh random seed each).
    """

    def layer_seed(index: int) -> int | None:
        return None if seed is None else seed + index

    # float32 whatever the global dtype policy: augmentation runs in tf.data, not in the model.
    common = {"fill_mode": policy.fill_mode, "interpolation": "bilinear", "dtype": "float32"}
    rotation = rotation_factor(policy.rotation_range)
    shift_h, shift_w, z = policy.height_shift_range, policy.width_shift_range, policy.zoom_range
    candidates = [
        (policy.rotation_range, lambda s: keras.layers.RandomRotation(
            factor=(-rotation, rotation), seed=s, name="aug_rotate", **common)),
        (shift_w or shift_h, lambda s: keras.layers.RandomTranslation(
            height_factor=(-shift_h, shift_h), width_factor=(-shift_w, shift_w), seed=s,
            name="aug_translate", **common)),
        # IDG shears along one axis only
        (policy.shear_range, lambda s: keras.layers.RandomShear(
            x_factor=shear_factor(policy.shear_range), y_factor=0.0, seed=s, name="aug_shear",
            **common)),
        # width_factor not None: IDG draws the two axes independently
        (z, lambda s: keras.layers.RandomZoom(
            height_factor=(-z, z), width_factor=(-z, z), seed=s, name="aug_zoom", **common)),
        (policy.horizontal_flip, lambda s: keras.layers.RandomFlip(
            "horizontal", seed=s, name="aug_flip", dtype="float32")),
    ]  # fmt: skip
    return [make(layer_seed(i)) for i, (wanted, make) in enumerate(candidates) if wanted]
