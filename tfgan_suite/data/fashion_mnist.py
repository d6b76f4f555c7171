"""Fashion-MNIST from the IDX files of the Debian package `dataset-fashion-mnist`.

The Debian package puts the four original files (gzip'd IDX) in
`/usr/share/datasets/fashion-mnist`, so the default dataset works offline
without TFDS. This module parses them; `loader.load` falls back to TFDS when
they are absent.
"""

import gzip
import os
import zlib
from typing import Optional

import numpy as np

from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
NUM_CLASSES = 10
SPLITS = ("train", "test")
_PREFIX = {"train": "train", "test": "t10k"}

# IDX type code -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parses the bytes of one IDX file into an array.

    IDX is the format of MNIST and Fashion-MNIST: a 4-byte magic number
    (two zero bytes, a type code, the number of dimensions), one big-endian
    uint32 per dimension, then the values in C order. Every field is checked so
    that a truncated or foreign file fails here with a clear message rather
    than later as a reshape error.

    Args:
        raw: the uncompressed file content.
        source: a name for the file, used in error messages.

    Returns:
        An array with the dimensions and native-endian dtype from the header.

    Raises:
        DataError: if the header or the payload size is wrong.
    """
    if len(raw) < 4:
        raise DataError(f"{source}: not an IDX file (only {len(raw)} bytes).")
    zero0, zero1, type_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{source}: not an IDX file (magic number 0x{raw[:4].hex()}; expected "
            "0x0000TTDD with type TT in 08/09/0b/0c/0d/0e and DD >= 1 dimensions)."
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(
            f"{source}: truncated IDX header ({len(raw)} bytes; {ndim} dimensions "
            f"need {header_len})."
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header_len
    if actual != expected:
        raise DataError(
            f"{source}: IDX payload is {actual} bytes but the header's shape {dims} "
            f"needs {expected} (truncated or corrupt file)."
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(dims)
    return values.astype(dtype.newbyteorder("="))


def read_idx(path: str) -> np.ndarray:
    """Reads one IDX file, gzip'd or plain (detected from its first bytes).

    Args:
        path: path of the file.

    Returns:
        The parsed array (see `parse_idx`).

    Raises:
        DataError: if the file cannot be read, decompressed or parsed.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read IDX file ({e}).") from e
    return parse_idx(raw, source=path)


def _find(directory: str, stem: str) -> Optional[str]:
    """Returns `directory/stem.gz` or `directory/stem`, whichever exists first."""
    for candidate in (stem + ".gz", stem):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def find_files(split: str, directory: str):
    """Locates the image and label IDX files of one split.

    Args:
        split: `"train"` or `"test"`.
        directory: where to look.

    Returns:
        `(images_path, labels_path)`, or `None` when neither file is there
        (the caller then falls back to TFDS).

    Raises:
        DataError: if only one of the two files is there.
    """
    prefix = _PREFIX[split]
    images = _find(directory, f"{prefix}-images-idx3-ubyte")
    labels = _find(directory, f"{prefix}-labels-idx1-ubyte")
    if images is None and labels is None:
        return None
    if images is None or labels is None:
        missing = f"{prefix}-images-idx3-ubyte" if images is None else f"{prefix}-labels-idx1-ubyte"
        raise DataError(
            f"Fashion-MNIST in {directory} is incomplete: {missing}[.gz] is missing "
            "(the split needs both its images and labels IDX files)."
        )
    return images, labels


def load_idx_split(name: str, images_path: str, labels_path: str) -> ArrayData:
    """Loads one Fashion-MNIST split from its two IDX files.

    Args:
        name: the dataset name to record in the result.
        images_path: the `*-images-idx3-ubyte[.gz]` file.
        labels_path: the matching `*-labels-idx1-ubyte[.gz]` file.

    Returns:
        `ArrayData` with x uint8 `[N, 28, 28, 1]`, y int32 `[N]`, 10 classes.

    Raises:
        DataError: if a file is malformed or the two files do not match.
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(
            f"{images_path}: expected uint8 images [N, H, W]; got {images.dtype} "
            f"{images.shape}."
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{labels_path}: expected uint8 labels [N]; got {labels.dtype} {labels.shape}."
        )
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{images_path} has {images.shape[0]} images but {labels_path} has "
            f"{labels.shape[0]} labels."
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(
            f"{labels_path}: label {labels.max()} is outside 0..{NUM_CLASSES - 1}."
        )
    return ArrayData(
        name=name,
        kind="image",
        x=images[..., np.newaxis],
        y=labels.astype(np.int32),
        num_classes=NUM_CLASSES,
    )
