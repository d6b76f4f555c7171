"""Any TFDS image dataset (`mnist`, `cifar10`, `celeb_a`, ...), materialised as NumPy.

TFDS is imported lazily: it is slow to import and only needed for these
datasets and the Fashion-MNIST fallback.
"""

from typing import Optional

import numpy as np
import tensorflow as tf

from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError, describe
from tfgan_suite.data.images import resize_uint8

ACCEPTED = (
    "fashion_mnist, ring8, grid25, folder:PATH, synthetic_recsys, movielens_100k, "
    "or a TFDS image dataset name (mnist, cifar10, celeb_a, ...)"
)
_BATCH = 1024


def _builder(name: str, data_dir: Optional[str]):
    """Returns the TFDS builder of `name`, or raises DataError if TFDS has none."""
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise DataError(f"Unknown dataset {name!r}. Accepted: {ACCEPTED}.") from e


def _as_dataset(name: str, split: str, data_dir: Optional[str]) -> tf.data.Dataset:
    """Loads a split from prepared data, downloading it only if it is not prepared.

    Raises:
        DataError: for a bad split, or data neither prepared nor downloadable.
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    try:
        return tfds.load(name, split=split, data_dir=data_dir, download=False)
    except AssertionError:  # TFDS: "could not find data in <dir>".
        pass
    except (ValueError, KeyError) as e:  # An unknown split name or slice.
        raise DataError(
            f"TFDS dataset {name!r}: bad split {split!r} ({describe(e)})."
        ) from e
    try:
        return tfds.load(name, split=split, data_dir=data_dir, download=True)
    except Exception as e:  # pylint: disable=broad-except
        # Offline, the download fails with whatever the HTTP stack raises;
        # any failure here means the same thing to the user.
        where = data_dir or "the default TFDS directory (~/tensorflow_datasets)"
        raise DataError(
            f"TFDS dataset {name!r} (split {split!r}) is not prepared in {where} "
            f"and downloading it failed ({describe(e)}). Pass --data_dir=DIR "
            f"pointing at a prepared TFDS directory that holds {name!r}, or run "
            "with network access so TFDS can download it."
        ) from e


def load_tfds(
    name: str,
    *,
    split: str = "train",
    data_dir: Optional[str] = None,
    image_size: Optional[int] = None,
    dataset_name: Optional[str] = None,
) -> ArrayData:
    """Loads a TFDS image dataset into memory as uint8 images and int32 labels.

    The training pipeline indexes rows at random (`make_dataset`), so the whole
    split is read once into NumPy. Resizing happens while reading, so a large
    dataset is never held at its native size.

    Args:
        name: the TFDS name, e.g. `"mnist"`.
        split: a TFDS split string, e.g. `"train"`, `"test"`, `"train[:10%]"`.
        data_dir: a TFDS data directory; TFDS's default when `None`.
        image_size: resize to `image_size` x `image_size` (centre square crop
            first); native size when `None`.
        dataset_name: the name recorded in the result (defaults to `name`).

    Returns:
        `ArrayData` of kind `"image"`; `y`/`num_classes` come from the `label`
        feature when the dataset has one, else `None`.

    Raises:
        DataError: for an unknown name, a dataset without an `image` feature,
            images of varying size without `image_size`, a bad split, or data
            that is neither prepared nor downloadable.
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    builder = _builder(name, data_dir)
    features = builder.info.features
    image_feature = features["image"] if "image" in features else None
    if not isinstance(image_feature, tfds.features.Image):
        raise DataError(
            f"TFDS dataset {name!r} has no `image` feature (features: "
            f"{', '.join(features.keys())}); only image datasets are supported. "
            f"Accepted: {ACCEPTED}."
        )
    if np.dtype(image_feature.np_dtype) != np.uint8:
        raise DataError(
            f"TFDS dataset {name!r} has {np.dtype(image_feature.np_dtype)} images; "
            "only uint8 images are supported."
        )
    if image_size is None and None in tuple(image_feature.shape[:2]):
        raise DataError(
            f"TFDS dataset {name!r} has images of varying size "
            f"{tuple(image_feature.shape)}; pass --image_size=N to resize them."
        )
    label_feature = features["label"] if "label" in features else None
    if not isinstance(label_feature, tfds.features.ClassLabel):
        label_feature = None

    ds = _as_dataset(name, split, data_dir)

    def convert(example):
        image = example["image"]
        if image_size is not None:
            image = resize_uint8(image, image_size)
        label = example["label"] if label_feature is not None else tf.constant(0)
        return image, tf.cast(label, tf.int32)

    xs, ys = [], []
    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE).batch(_BATCH)
    for images, labels in ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
        xs.append(images)
        ys.append(labels)
    if not xs:
        raise DataError(f"TFDS dataset {name!r}, split {split!r}, has no examples.")
    return ArrayData(
        name=dataset_name or name,
        kind="image",
        x=np.concatenate(xs).astype(np.uint8, copy=False),
        y=np.concatenate(ys) if label_feature is not None else None,
        num_classes=label_feature.num_classes if label_feature is not None else None,
    )
