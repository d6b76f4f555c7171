"""`folder:PATH`: every PNG/JPEG below a directory, as square RGB uint8 images."""

import os

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError
from tfgan_suite.data.images import resize_uint8

DEFAULT_IMAGE_SIZE = 64
EXTENSIONS = (".png", ".jpg", ".jpeg")


def list_images(path: str) -> list:
    """Returns every PNG/JPEG file below `path`, recursively, in sorted order.

    Sorting makes the row order (and so the training stream for a given seed)
    the same on every file system.

    Args:
        path: the root directory.

    Returns:
        Sorted list of file paths whose extension is .png/.jpg/.jpeg (any case).
    """
    found = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for filename in files:
            if filename.lower().endswith(EXTENSIONS):
                found.append(os.path.join(root, filename))
    return sorted(found)


def _decode(path: str, image_size: int):
    """Decodes one file to RGB uint8 `[S, S, 3]`, or returns None if it cannot."""
    try:
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=3, expand_animations=False
        )
        return resize_uint8(image, image_size).numpy()
    except (tf.errors.OpError, ValueError):
        return None


def read_folder(path: str, image_size: int = DEFAULT_IMAGE_SIZE):
    """Decodes and resizes every readable image below `path`.

    Args:
        path: the root directory.
        image_size: output side length (centre square crop, then resize).

    Returns:
        `(images, skipped)`: uint8 `[N, S, S, 3]` and the number of files that
        could not be decoded.

    Raises:
        DataError: if `path` is not a directory or holds no readable image.
    """
    if not os.path.isdir(path):
        raise DataError(
            f"folder:{path}: no such directory (folder:PATH needs a directory of "
            "PNG/JPEG images)."
        )
    files = list_images(path)
    images = []
    for file in files:
        image = _decode(file, image_size)
        if image is not None:
            images.append(image)
    skipped = len(files) - len(images)
    if not images:
        raise DataError(
            f"folder:{path}: no readable image among {len(files)} PNG/JPEG file(s) "
            f"({skipped} unreadable); expected files ending in {', '.join(EXTENSIONS)}."
        )
    if skipped:
        logging.warning(
            "folder:%s: skipped %d unreadable image file(s) of %d.",
            path, skipped, len(files),
        )
    return np.stack(images), skipped


def load_folder(name: str, path: str, image_size=None) -> ArrayData:
    """Loads `folder:PATH` as unlabelled RGB images.

    Args:
        name: the dataset name to record, e.g. `"folder:/data/faces"`.
        path: the directory.
        image_size: side length; `DEFAULT_IMAGE_SIZE` (64) when `None`.

    Returns:
        `ArrayData` of kind `"image"`, x uint8 `[N, S, S, 3]`, y `None`.

    Raises:
        DataError: see `read_folder`.
    """
    images, _ = read_folder(path, image_size or DEFAULT_IMAGE_SIZE)
    return ArrayData(name=name, kind="image", x=images, y=None, num_classes=None)
