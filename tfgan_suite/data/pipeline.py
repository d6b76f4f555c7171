"""The training input stream: a pure function of (seed, batch number).

Exact resume needs the batches after a restart at step s to be the ones an
uninterrupted run would have seen at step s. So the stream is defined without
iterator state: it is the concatenation of per-epoch permutations
perm_0, perm_1, ... of range(N), perm_e depending only on (seed, e), and batch
k is stream elements [k*B, (k+1)*B). Batches may span an epoch boundary, every
batch is full and the stream never ends.
"""

import numpy as np
import tensorflow as tf

from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError


def epoch_permutation(n: int, seed: int, epoch) -> tf.Tensor:
    """The permutation of `range(n)` used in epoch `epoch`.

    Sorting stateless float64 uniforms gives a uniformly random order that
    depends only on `(seed, epoch)`; a stable sort keeps the (vanishingly rare)
    ties deterministic.

    Args:
        n: number of examples.
        seed: integer seed of the stream.
        epoch: int64 scalar (Python int or tensor).

    Returns:
        int32 tensor `[n]` holding each of 0..n-1 once.
    """
    stateless_seed = tf.stack(
        [tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)]
    )
    keys = tf.random.stateless_uniform([n], seed=stateless_seed, dtype=tf.float64)
    return tf.argsort(keys, stable=True)


def _check(n: int, batch_size: int, start_batch: int = 0):
    if n < 1:
        raise DataError(f"The dataset must hold at least one example. Received: n={n}")
    if batch_size < 1:
        raise DataError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
    if start_batch < 0:
        raise DataError(f"`start_batch` must be >= 0. Received: start_batch={start_batch}")


def batch_indices(n: int, batch_size: int, seed: int, batch_number: int) -> np.ndarray:
    """The row indices of batch `batch_number` of the stream, computed directly.

    A reference for `make_dataset` (tests compare the two) and a debugging aid:
    it builds the stream by concatenating the epoch permutations that batch
    `batch_number` touches, without any `tf.data` machinery.

    Args:
        n: number of examples.
        batch_size: batch size B.
        seed: integer seed of the stream.
        batch_number: k >= 0.

    Returns:
        int64 array `[batch_size]` of row indices.
    """
    _check(n, batch_size, batch_number)
    first = batch_number * batch_size
    last = first + batch_size  # exclusive
    epochs = range(first // n, (last - 1) // n + 1)
    stream = np.concatenate([epoch_permutation(n, seed, e).numpy() for e in epochs])
    offset = epochs[0] * n
    return stream[first - offset : last - offset].astype(np.int64)


def make_dataset(
    data: ArrayData,
    *,
    batch_size: int,
    seed: int,
    start_batch: int = 0,
    with_labels: bool = False,
) -> tf.data.Dataset:
    """An infinite, resumable `tf.data.Dataset` of training batches.

    Batch k holds rows `batch_indices(N, batch_size, seed, k)`. Starting at
    `start_batch` does not replay the stream: it begins at epoch
    `start_batch * B // N` and skips only the rest of that epoch, so resuming
    late in a long run is as fast as starting.

    Images are scaled to float32 in [-1, 1] (x / 127.5 - 1); points stay
    float32 in data coordinates.

    Args:
        data: the in-memory dataset (`load`).
        batch_size: batch size B; every batch is full.
        seed: integer seed; different seeds give different orders.
        start_batch: the first batch to yield (the training step to resume at).
        with_labels: yield `(x, y)` with int32 `y` instead of `x` alone.

    Returns:
        A `tf.data.Dataset` yielding float32 `[B, *data.shape]` (and int32 `[B]`).

    Raises:
        DataError: for bad sizes, or `with_labels` on unlabelled data.

    Example:
    >>> ds = make_dataset(load("ring8"), batch_size=64, seed=0, start_batch=100)
    >>> next(iter(ds)).shape
    TensorShape([64, 2])
    """
    n = len(data)
    _check(n, batch_size, start_batch)
    if with_labels and data.y is None:
        raise DataError(
            f"Dataset {data.name!r} has no labels; conditional variants need one "
            "of: fashion_mnist, ring8, grid25, or a TFDS dataset with a `label` "
            "feature (mnist, cifar10, ...)."
        )
    first_element = start_batch * batch_size
    first_epoch, skip = divmod(first_element, n)

    x_all = tf.constant(data.x)
    y_all = tf.constant(data.y) if with_labels else None
    is_image = data.kind == "image"

    def gather(indices):
        x = tf.gather(x_all, indices)
        x = tf.cast(x, tf.float32)
        if is_image:
            x = x / 127.5 - 1.0
        if with_labels:
            return x, tf.gather(y_all, indices)
        return x

    ds = tf.data.Dataset.counter(start=first_epoch, dtype=tf.int64)
    ds = ds.map(lambda epoch: epoch_permutation(n, seed, epoch))
    ds = ds.unbatch().skip(skip).batch(batch_size, drop_remainder=True)
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
