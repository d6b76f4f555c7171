"""Datasets for tfgan_suite: load by name, then stream resumable batches.

    data = load("fashion_mnist")                    # ArrayData, uint8 [60000, 28, 28, 1]
    ds = make_dataset(data, batch_size=64, seed=0, start_batch=step)

`load` accepts `fashion_mnist` (Debian IDX files, else TFDS), any TFDS image
dataset name, `folder:PATH`, `ring8` and `grid25`. `make_dataset` yields the
same batch for the same (seed, batch number) whether a run started at 0 or
resumed, which is what exact checkpoint resume relies on.
"""

from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError
from tfgan_suite.data.loader import load
from tfgan_suite.data.mixtures import MIXTURES, is_2d
from tfgan_suite.data.pipeline import batch_indices, make_dataset
from tfgan_suite.data.recsys import RecsysData, is_recsys
from tfgan_suite.data.spec import DataSpec

__all__ = [
    "ArrayData",
    "DataError",
    "DataSpec",
    "MIXTURES",
    "RecsysData",
    "batch_indices",
    "is_2d",
    "is_recsys",
    "load",
    "make_dataset",
]
