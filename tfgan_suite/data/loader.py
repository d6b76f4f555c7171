"""`load`: one dataset name in, one `ArrayData` out."""

import numbers
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_suite.data import fashion_mnist
from tfgan_suite.data import folder
from tfgan_suite.data import mixtures
from tfgan_suite.data import recsys
from tfgan_suite.data import tfds_source
from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError, describe
from tfgan_suite.data.images import resize_uint8

FOLDER_PREFIX = "folder:"


def load(
    name: str,
    *,
    split: str = "train",
    data_dir: Optional[str] = None,
    image_size: Optional[int] = None,
    seed: int = 0,
) -> ArrayData:
    """Loads a dataset by its `--dataset` name into memory.

    Accepted names:
      - `fashion_mnist`: the IDX files of the Debian package
        `dataset-fashion-mnist` (or the IDX files in `data_dir`); TFDS
        `fashion_mnist` when they are absent.
      - a TFDS image dataset name (`mnist`, `cifar10`, `celeb_a`, ...);
        `data_dir` is a prepared TFDS directory.
      - `folder:PATH`: every PNG/JPEG below PATH, RGB, `image_size` (default 64).
      - `ring8`, `grid25`: 100,000 points of a 2-D Gaussian mixture.
      - `synthetic_recsys`, `movielens_100k`: recommendation data (`RecsysData`,
        both splits; see `tfgan_suite.data.recsys`).

    Args:
        name: the dataset name.
        split: `"train"` or `"test"` (TFDS accepts any of its split strings;
            `folder:` has one split and ignores this).
        data_dir: where to read the data from (see above).
        image_size: resize images to `image_size` x `image_size` (centre
            square crop first); native size when `None` (64 for folders).
            Ignored for 2-D points.
        seed: seed of the 2-D mixture draw (images do not use it).

    Returns:
        `ArrayData`: uint8 images `[N, H, W, C]` or float32 points `[N, 2]`.

    Raises:
        DataError: with a one-line message saying what was wrong and what is
            accepted.
    """
    if not isinstance(name, str) or not name:
        raise DataError(
            f"`name` must be a dataset name. Received: name={name!r}. "
            f"Accepted: {tfds_source.ACCEPTED}."
        )
    if image_size is not None and (
        not isinstance(image_size, numbers.Integral) or image_size < 1
    ):
        raise DataError(
            f"`image_size` must be an integer >= 1. Received: image_size={image_size!r}"
        )
    if not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(f"`seed` must be an integer >= 0. Received: seed={seed!r}")
    image_size = None if image_size is None else int(image_size)
    seed = int(seed)

    if recsys.is_recsys(name):  # both splits in one RecsysData; `split` does not apply
        return recsys.load_recsys(name, data_dir=data_dir, seed=seed)
    if mixtures.is_2d(name):
        return mixtures.load_mixture(name, split=split, seed=seed)
    if name.startswith(FOLDER_PREFIX):
        path = os.path.expanduser(name[len(FOLDER_PREFIX):])
        if not path:
            raise DataError("`folder:` needs a path, e.g. --dataset=folder:/data/faces.")
        if split != "train":
            logging.info("%s has a single split; ignoring split=%r.", name, split)
        return folder.load_folder(name, path, image_size)
    if name == "fashion_mnist":
        return _load_fashion_mnist(split, data_dir, image_size)
    return tfds_source.load_tfds(name, split=split, data_dir=data_dir, image_size=image_size)


def _load_fashion_mnist(split, data_dir, image_size) -> ArrayData:
    """IDX files first, TFDS second, one message naming both ways if both fail."""
    if split not in fashion_mnist.SPLITS:
        raise DataError(
            f"fashion_mnist has splits {', '.join(fashion_mnist.SPLITS)}. "
            f"Received: split={split!r}"
        )
    directory = data_dir or fashion_mnist.DEFAULT_DIR
    paths = fashion_mnist.find_files(split, directory)
    if paths is not None:
        data = fashion_mnist.load_idx_split("fashion_mnist", *paths)
        if image_size is not None and image_size != data.x.shape[1]:
            data = _resized(data, image_size)
        return data
    try:
        return tfds_source.load_tfds(
            "fashion_mnist", split=split, data_dir=data_dir, image_size=image_size
        )
    except DataError as e:
        reason = describe(e.__cause__) if e.__cause__ is not None else str(e)
        raise DataError(
            f"Fashion-MNIST not found: no IDX files in {directory} and TFDS could "
            f"not provide it ({reason}). Install the Debian package "
            "(`apt-get install dataset-fashion-mnist`) or pass --data_dir=DIR with "
            "the four IDX files, or run with network access so TFDS can download it."
        ) from e


def _resized(data: ArrayData, image_size: int) -> ArrayData:
    batches = tf.data.Dataset.from_tensor_slices(data.x).batch(4096)
    x = np.concatenate([resize_uint8(b, image_size).numpy() for b in batches])
    return ArrayData(name=data.name, kind=data.kind, x=x, y=data.y, num_classes=data.num_classes)
