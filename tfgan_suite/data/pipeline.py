"""The training input stream: a pure function of (seed, batch number).

Exact resume needs the batches after a restart at step s to be the ones an
uninterrupted run would have seen at step s. So the stream is defined without
iterator state: it is the concatenation of per-epoch permutations
perm_0, perm_1, ... of range(N), perm_e depending only on (seed, e), and batch
k is stream elements [k*B, (k+1)*B). Batches may span an epoch boundary, every
batch is full and the stream never ends.

A training step may consume several batches (a critic's n_critic updates, each on
fresh data): with `batches_per_step` = m(k), step k's element is the m(k) batches
[S(k), S(k+1)) concatenated, where S(k) = m(0) + ... + m(k-1) is the step's
position in the batch stream. A schedule that varies (WGAN's 100 critic updates at
some steps, 5 at others) gives elements of varying size; S(k) in closed form (a
schedule's `offset(k)`) keeps resuming late in a run instantaneous.
"""

from typing import Callable, Union

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


BatchesPerStep = Union[int, Callable[[int], int]]


def step_offset(batches_per_step: BatchesPerStep, step: int) -> int:
    """S(step) = m(0) + ... + m(step - 1): batches the steps before `step` consume.

    Args:
        batches_per_step: an int m, or a schedule: a callable step -> m(step) >= 1,
            optionally with a method `offset(step)` giving this sum in closed form
            (else it is summed here, step by step).
        step: k >= 0.

    Returns:
        The index of step `step`'s first batch in the batch stream.
    """
    if isinstance(batches_per_step, int):
        return step * batches_per_step
    offset = getattr(batches_per_step, "offset", None)
    if offset is not None:
        return int(offset(step))
    return sum(int(batches_per_step(j)) for j in range(step))


def step_indices(n: int, batch_size: int, seed: int, step: int,
                 batches_per_step: BatchesPerStep) -> np.ndarray:
    """The row indices of step `step`'s element, computed directly (test reference).

    Returns:
        int64 array `[m(step) * batch_size]`: batches S(step) .. S(step + 1) - 1.
    """
    first = step_offset(batches_per_step, step)
    count = (batches_per_step if isinstance(batches_per_step, int)
             else int(batches_per_step(step)))
    return np.concatenate([batch_indices(n, batch_size, seed, first + j)
                           for j in range(count)])


def _check_schedule(batches_per_step, start_batch):
    if isinstance(batches_per_step, bool) or not (
            isinstance(batches_per_step, int) or callable(batches_per_step)):
        raise DataError("`batches_per_step` must be an int or a callable step -> int. "
                        f"Received: batches_per_step={batches_per_step!r}")
    first = (batches_per_step if isinstance(batches_per_step, int)
             else batches_per_step(start_batch))
    if first < 1:
        raise DataError("`batches_per_step` must be >= 1. Received: "
                        f"batches_per_step={first} at step {start_batch}")


def make_dataset(
    data: ArrayData,
    *,
    batch_size: int,
    seed: int,
    start_batch: int = 0,
    with_labels: bool = False,
    batches_per_step: BatchesPerStep = 1,
    steps_per_element: int = 1,
) -> tf.data.Dataset:
    """An infinite, resumable `tf.data.Dataset` of training batches.

    Batch k holds rows `batch_indices(N, batch_size, seed, k)`. Starting at
    `start_batch` does not replay the stream: it begins at epoch
    `start_batch * B // N` and skips only the rest of that epoch, so resuming
    late in a long run is as fast as starting.

    With `batches_per_step`, element k (the k-th training step) holds the
    m(k) batches S(k) .. S(k+1) - 1 concatenated (`step_indices`), and
    `start_batch` counts elements, i.e. steps. An int m gives the same
    elements as `batch_size=m*B`, of static size; a schedule gives elements of
    varying size (static shape [None, ...]).

    With `steps_per_element` = k > 1 (an int `batches_per_step` only), each
    element holds k consecutive steps' elements stacked, `[k, m*B, ...]`, and
    `start_batch` must be a multiple of k: the same stream, one element per
    call of a train function that runs k steps (`GANModel`), so the call
    fetches its data once instead of k times.

    Images are scaled to float32 in [-1, 1] (x / 127.5 - 1); points stay
    float32 in data coordinates.

    Args:
        data: the in-memory dataset (`load`).
        batch_size: batch size B; every batch is full.
        seed: integer seed; different seeds give different orders.
        start_batch: the first batch (with `batches_per_step`: the first
            step) to yield, i.e. the training step to resume at.
        with_labels: yield `(x, y)` with int32 `y` instead of `x` alone.
        batches_per_step: m, an int or a schedule (see `step_offset`).
        steps_per_element: k, steps per element (see above).

    Returns:
        A `tf.data.Dataset` yielding float32 `[m*B, *data.shape]` (and int32
        `[m*B]`); with k > 1, `[k, m*B, *data.shape]` (and `[k, m*B]`).

    Raises:
        DataError: for bad sizes, or `with_labels` on unlabelled data.

    Example:
    >>> ds = make_dataset(load("ring8"), batch_size=64, seed=0, start_batch=100)
    >>> next(iter(ds)).shape
    TensorShape([64, 2])
    """
    n = len(data)
    _check(n, batch_size, start_batch)
    _check_schedule(batches_per_step, start_batch)
    if with_labels and data.y is None:
        raise DataError(
            f"Dataset {data.name!r} has no labels; conditional variants need one "
            "of: fashion_mnist, ring8, grid25, or a TFDS dataset with a `label` "
            "feature (mnist, cifar10, ...)."
        )
    if (isinstance(steps_per_element, bool) or not isinstance(steps_per_element, int)
            or steps_per_element < 1):
        raise DataError("`steps_per_element` must be an int >= 1. Received: "
                        f"steps_per_element={steps_per_element!r}")
    group = steps_per_element
    if group > 1 and not isinstance(batches_per_step, int):
        raise DataError("`steps_per_element` > 1 needs an int `batches_per_step` (elements "
                        f"of one size). Received: steps_per_element={group} with a schedule")
    if start_batch % group:
        raise DataError(f"`start_batch` must be a multiple of steps_per_element={group}. "
                        f"Received: start_batch={start_batch}")
    if isinstance(batches_per_step, int):
        # m batches of B rows are one batch of m*B rows, and k steps of those one batch of
        # k*m*B rows (split into k at the end): no grouping, static shapes.
        step_rows, schedule = batch_size * batches_per_step, None
        batch_size, first_batch = step_rows * group, start_batch // group
    else:
        schedule = batches_per_step
        first_batch = step_offset(schedule, start_batch)
    first_epoch, skip = divmod(first_batch * batch_size, n)

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

    def epoch_rows(epoch):
        # The first epoch starts `skip` rows in; the others whole.
        start = tf.where(tf.equal(epoch, first_epoch), skip, 0)
        return epoch_permutation(n, seed, epoch)[start:]

    ds = tf.data.Dataset.counter(start=first_epoch, dtype=tf.int64).map(epoch_rows)
    # `rebatch` cuts the stream of permutations into batches that may span two epochs,
    # copying slices; `unbatch().batch()` would make every row an element of its own, which
    # cost a 2-D step (64 rows, under a millisecond) measurably.
    ds = ds.rebatch(batch_size, drop_remainder=True)
    if schedule is not None:
        ds = _group_steps(ds, schedule, start_batch)
    def element(indices):  # one step's rows, or k steps' stacked [k, m*B, ...]
        if group == 1:
            return gather(indices)
        return tf.nest.map_structure(
            lambda t: tf.reshape(t, [group, step_rows, *t.shape[1:]]), gather(indices))

    ds = ds.map(element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _group_steps(batches, schedule, start_step):
    """Concatenates each step's m(step) consecutive index batches into one element.

    Every batch is tagged with its step (step k repeated m(k) times), then
    `group_by_window` closes step k's window after its m(k)-th batch. The
    schedule is plain Python, called through `tf.py_function` once per step.
    """

    def count(step):
        def call(s):
            m = int(schedule(int(s)))
            if m < 1:
                raise ValueError(f"batches_per_step({int(s)}) = {m}; must be >= 1")
            return np.int64(m)

        m = tf.py_function(call, [step], tf.int64)
        m.set_shape([])
        return m

    steps = tf.data.Dataset.counter(start=start_step, dtype=tf.int64)
    tags = steps.flat_map(lambda k: tf.data.Dataset.from_tensors(k).repeat(count(k)))
    grouped = tf.data.Dataset.zip((batches, tags)).group_by_window(
        key_func=lambda indices, step: step,
        reduce_func=lambda step, window: window.batch(np.iinfo(np.int64).max),
        window_size_func=count,
    )
    return grouped.map(lambda indices, step: tf.reshape(indices, [-1]))
