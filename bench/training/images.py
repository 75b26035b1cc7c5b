"""Image sizes given on the command line, and folders of a user's own images.

`parse_image_size` reads `--image-size`: "HxW" (e.g. "96x128") or one number for a square
("224"). Every failure is an `ImageSizeError` in one sentence. `tests/test_images.py` checks it.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$")


class ImageSizeError(ValueError):
    """An `--image-size` that is not "HxW" with two positive whole numbers."""


def parse_image_size(text: str) -> tuple[int, int]:
    """(height, width) of "HxW", or of "N" for a square N x N.

    Raises:
        ImageSizeError: the text is not of that form or a side is 0.
    """
    match = _SIZE.match(str(text))
    if match is None:
        raise ImageSizeError(
            f"--image-size {text!r} is not a size; give HEIGHTxWIDTH in pixels, e.g. 224x224 "
            "(or 224 for a square)."
        )
    height = int(match.group(1))
    width = int(match.group(2) or height)
    if height < 1 or width < 1:
        raise ImageSizeError(
            f"--image-size {text!r} has a side of 0 pixels; give sides of 1 or more."
        )
    return height, width
