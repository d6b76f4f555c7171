"""Generator EMA: an exponential moving average of G's weights, kept beside G (`--ema_decay`).

Why: the last iterate of GAN training circles around where it is heading, and an average
of G's recent weights sits closer to it: its samples are steadier and usually better
(Yazici et al. 2019). BigGAN, StyleGAN and StudioGAN evaluate and ship the averaged
generator. The average never feeds back into training: G and D follow exactly the
trajectory they follow without it, and the averaged copy is only read (sample grids,
`--eval_every`, the export).

The recursion, with g_k G's weights after k generator updates (k = the model's step) and
d the decay (`--ema_decay`, S `--ema_start`):

    ema_k = g_k                             for k <= S   (the copy tracks G)
    ema_k = d ema_{k-1} + (1 - d) g_k       for k > S

The start keeps the first, fast-moving weights out of the average: started from the
initialisation, the average would carry it for about 1 / (1 - d) steps.

Batch normalisation: G's moving mean and variance follow the same recursion as its
weights (every float variable of G does, trainable or not), as in BigGAN-PyTorch's `ema`
(its state dict, buffers included) and `torch.optim.swa_utils.AveragedModel(...,
use_buffers=True)`. Why not copy G's statistics (StyleGAN2's choice): they describe the
raw G's activations, and a pre-activation mean is linear in the weights before it
(E[W x + b] = W E[x] + b), so the average of G's means is the first-order mean of the
averaged network, which G's current mean is not. Why not recompute them ("standing
statistics", BigGAN): that needs many forward passes of the averaged G every time it is
used, and makes its output depend on the z of those passes. A non-float variable (none in
the suite's generators) is copied.

Replicas: G's trainable weights are equal on every replica after the all-reduced update,
so every replica computes the same average. Keras updates G's batch-norm statistics on
each replica from that replica's batch (their aggregation is "none"), so each replica
averages its own copy, as G keeps its own; the first replica's copy is the one that
checkpoints, sample grids and exports read, for G and its average alike.

Reference: Yazici et al., "The Unusual Effectiveness of Averaging in GAN Training",
ICLR 2019; Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural
Image Synthesis" (BigGAN), ICLR 2019, section 4 and appendix.
"""

import keras
import tensorflow as tf


def copy_network(network):
    """A copy of `network` with its current weights, not trainable.

    The averaged copy is never trained: marking it not trainable keeps its weights out of
    any `trainable_variables` (and a batch-norm layer in it in inference mode).

    Args:
        network: a Functional or Sequential model, or a subclassed one with `get_config`.

    Returns:
        The copy, a new keras.Model whose `weights` pair with `network.weights` in order.
    """
    copy = keras.models.clone_model(network)
    copy.trainable = False
    assign_weights(copy, network)
    return copy


def assign_weights(target, source):
    """Sets every variable of `target` to its partner in `source` (the copy tracks G).

    Also how an averaged copy starts from G when a checkpoint written without one is
    restored.

    Raises:
        ValueError: the variables of the two networks do not pair up in order (path,
            shape, dtype).
    """
    pairs = list(zip(target.weights, source.weights))
    if len(target.weights) != len(source.weights) or any(
            (t.path, tuple(t.shape), t.dtype) != (s.path, tuple(s.shape), s.dtype)
            for t, s in pairs):
        raise ValueError(f"the variables of {target.name} do not pair with those of "
                         f"{source.name}. Received: {[w.path for w in target.weights]} and "
                         f"{[w.path for w in source.weights]}")
    for copied, weight in pairs:
        copied.assign(weight)


def update(average, source, *, decay, averaging):
    """One step of the recursion for every pair (a, g) of `average` and `source`.

    a <- d a + (1 - d) g (written a - (1 - d)(a - g), as `tf.train.ExponentialMovingAverage`
    does) where `averaging` is true, a <- g where it is false; a non-float variable is
    copied. Call it in the traced step after G's update: the reads of G's variables come
    after their writes (TensorFlow orders the operations on one variable as written).

    Args:
        average: the averaged copy's variables (`copy_network(G).weights`).
        source: G's variables, in the same order (`G.weights`).
        decay: d in [0, 1).
        averaging: bool scalar tensor, false while the copy tracks G.
    """
    for avg, value in zip(average, source):
        value = tf.convert_to_tensor(value)
        if not keras.backend.is_float_dtype(avg.dtype):
            avg.assign(value)
            continue
        current = tf.convert_to_tensor(avg)
        moved = current - tf.cast(1.0 - decay, current.dtype) * (current - value)
        avg.assign(tf.where(averaging, moved, value))

