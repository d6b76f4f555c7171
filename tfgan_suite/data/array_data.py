"""`ArrayData`: a whole dataset held in memory as NumPy arrays."""

import dataclasses
from typing import Optional

import numpy as np

from tfgan_suite.data.errors import DataError

KINDS = ("image", "points")


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayData:
    """A dataset materialised in memory, before any scaling or batching.

    Every source (IDX files, TFDS, an image folder, a 2-D mixture) ends here,
    so the input pipeline, the metrics and the samplers deal with one shape of
    data. Images stay uint8 to keep memory at one byte per value; scaling to
    [-1, 1] happens per batch in `make_dataset`.

    Equality is identity (`eq=False`): comparing arrays element-wise is never
    what `==` on a dataset should mean.

    Args:
        name: the dataset name as given to `load`, e.g. `"fashion_mnist"`,
            `"ring8"`, `"folder:/data/faces"`.
        kind: `"image"` or `"points"`.
        x: images as uint8 `[N, H, W, C]`, or 2-D points as float32 `[N, 2]`
            in data coordinates (float points are converted to float32).
        y: int32 class labels `[N]` (the mode index for `ring8`/`grid25`), or
            `None` for unlabelled data (integer labels are converted to int32).
        num_classes: the number of classes when `y` is given, else `None`.

    Raises:
        DataError: if the arrays do not match `kind` or each other.
    """

    name: str
    kind: str
    x: np.ndarray
    y: Optional[np.ndarray]
    num_classes: Optional[int]

    def __post_init__(self):
        if self.kind not in KINDS:
            raise DataError(
                f"`kind` must be one of {KINDS}. Received: kind={self.kind!r}"
            )
        x = np.asarray(self.x)
        if self.kind == "image":
            if x.dtype != np.uint8 or x.ndim != 4:
                raise DataError(
                    "Image data must be uint8 [N, H, W, C]. Received: "
                    f"x.dtype={x.dtype}, x.shape={x.shape}"
                )
        else:
            if not np.issubdtype(x.dtype, np.floating) or x.ndim != 2 or x.shape[1] != 2:
                raise DataError(
                    "Point data must be float [N, 2]. Received: "
                    f"x.dtype={x.dtype}, x.shape={x.shape}"
                )
            x = x.astype(np.float32, copy=False)
        if x.shape[0] == 0:
            raise DataError(f"Dataset {self.name!r} is empty.")
        object.__setattr__(self, "x", x)

        if self.y is None:
            if self.num_classes is not None:
                raise DataError(
                    "`num_classes` must be None when there are no labels. "
                    f"Received: num_classes={self.num_classes}"
                )
            return
        y = np.asarray(self.y)
        if not np.issubdtype(y.dtype, np.integer) or y.shape != (x.shape[0],):
            raise DataError(
                f"Labels must be integers of shape [{x.shape[0]}]. Received: "
                f"y.dtype={y.dtype}, y.shape={y.shape}"
            )
        if self.num_classes is None or self.num_classes < 1:
            raise DataError(
                "`num_classes` must be >= 1 when labels are given. "
                f"Received: num_classes={self.num_classes}"
            )
        if y.min() < 0 or y.max() >= self.num_classes:
            raise DataError(
                f"Labels must lie in [0, {self.num_classes}). Received: "
                f"min={y.min()}, max={y.max()}"
            )
        object.__setattr__(self, "y", y.astype(np.int32, copy=False))

    @property
    def shape(self) -> tuple:
        """The shape of one example, `x.shape[1:]` (e.g. `(28, 28, 1)` or `(2,)`)."""
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __repr__(self) -> str:
        return (
            f"ArrayData(name={self.name!r}, kind={self.kind!r}, n={len(self)}, "
            f"shape={self.shape}, num_classes={self.num_classes})"
        )
