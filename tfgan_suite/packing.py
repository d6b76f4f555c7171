"""PacGAN packing: the discriminator judges M samples at once, all real or all fake.

Why: a D that sees several samples together can tell a generator that repeats itself from
data that does not, which penalises mode collapse (Lin et al., "PacGAN: The power of two
samples in generative adversarial networks", NeurIPS 2018, section 3). Consecutive samples
of a batch are joined along the last axis: features for 2-D points, channels for images.
The generator is unchanged; only D's input grows M-fold.

    pack_samples(x [B, 2], 4)         -> [B/4, 8]
    pack_samples(x [B, 28, 28, 1], 2) -> [B/2, 28, 28, 2]
"""

import tensorflow as tf


def packed_shape(shape, pack):
    """The shape of one packed example: the last axis M times larger."""
    shape = tuple(int(d) for d in shape)
    return shape[:-1] + (shape[-1] * int(pack),)


def pack_samples(x, pack):
    """Joins each run of `pack` consecutive samples of `x` [B, ..., C] along the last axis.

    Packed example j holds samples j*M .. j*M + M - 1, in order: its last axis is
    [x_{jM}[..., :], x_{jM+1}[..., :], ...]. B must be a multiple of M.

    Returns:
        [B / M, ..., M * C]; `x` itself when pack is 1.
    """
    if pack == 1:
        return x
    rank = len(x.shape)
    inner = tf.shape(x)[1:]
    grouped = tf.reshape(x, tf.concat([[-1, pack], inner], 0))        # [B/M, M, ..., C]
    # Move the group axis next to the channels: [B/M, ..., M, C], then merge the two.
    perm = [0] + list(range(2, rank + 1 - 1)) + [1, rank]
    moved = tf.transpose(grouped, perm)
    return tf.reshape(moved, tf.concat([[-1], inner[:-1], [pack * inner[-1]]], 0))
