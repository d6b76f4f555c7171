"""Batch normalisation whose training step runs as one fused TensorFlow kernel.

Keras 3's `BatchNormalization` computes the batch moments and the normalisation as
separate ops (mean, squared difference, mean, subtract, multiply, add) and the tape
differentiates each of them. In a DCGAN step on a 2-core CPU those ops and their
gradients were about a sixth of all op time (`benchmarks/profile_step.py`). TensorFlow's
`FusedBatchNormV3` does the forward pass in one kernel and its gradient in one more
(oneDNN's on CPUs that have it).

`FusedBatchNormalization` is a drop-in subclass: the same weights, variables, config,
momentum rule and outputs as `keras.layers.BatchNormalization` (up to float round-off).
Only the training-mode forward pass of the common case changes: TensorFlow backend,
image feature maps ([N, H, W, C], features on the last axis), no mask, no renorm, no
cross-replica moments. Everything else (inference, which the exported SavedModel uses,
and every other case) is the parent's code. Feature vectors ([N, C]) stay on the parent's
code on purpose: for the 2-D MLPs' [64, 256] the fused kernel took 5x as long as Keras's
separate ops (420 against 80 us per forward and backward on the 2-core EPYC), while for a
[64, 7, 7, 128] map it took half as long.

Two details keep it equal to the parent:
  - the fused kernel returns the batch variance with Bessel's correction (divided by
    n - 1); Keras normalises with, and averages, the biased one (divided by n), so it is
    converted back before the moving variance is updated;
  - like the parent, inputs are normalised in float32 whatever the compute dtype (mixed
    precision) and cast back to it.
"""

import keras
import tensorflow as tf


# Registered so that a network holding it can be rebuilt from its config: cloning a nested
# model (the generator EMA's copy of cgan's G) deserialises the inner model's layers.
@keras.saving.register_keras_serializable(package="tfgan_suite")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a fused training-mode kernel (see module).

    `FusedBatchNormalization.fused = False` (read when a step is traced) puts every layer
    back on the parent's code: `benchmarks/throughput.py --batch_norm=keras` measures the
    difference with it.
    """

    fused = True

    def _can_fuse(self, inputs, training, mask):
        rank = len(inputs.shape)
        axis = self.axis if self.axis >= 0 else self.axis + rank
        return (self.fused and bool(training) and self.trainable and mask is None
                and not self.renorm
                and not self.synchronized and rank == 4 and axis == rank - 1
                and keras.backend.backend() == "tensorflow")

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)
        channels = x.shape[-1]
        scale = (tf.cast(self.gamma, tf.float32) if self.scale
                 else tf.ones([channels], tf.float32))
        offset = (tf.cast(self.beta, tf.float32) if self.center
                  else tf.zeros([channels], tf.float32))
        y, mean, corrected_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=scale, offset=offset, mean=tf.constant([], tf.float32),
            variance=tf.constant([], tf.float32), epsilon=self.epsilon,
            data_format="NHWC", is_training=True)
        count = tf.cast(tf.size(x) // channels, tf.float32)
        variance = corrected_variance * tf.maximum(count - 1.0, 0.0) / count
        moving_mean = tf.cast(self.moving_mean, tf.float32)
        moving_variance = tf.cast(self.moving_variance, tf.float32)
        self.moving_mean.assign(
            tf.cast(moving_mean * self.momentum + mean * (1.0 - self.momentum),
                    self.moving_mean.dtype))
        self.moving_variance.assign(
            tf.cast(moving_variance * self.momentum + variance * (1.0 - self.momentum),
                    self.moving_variance.dtype))
        return tf.cast(y, self.compute_dtype)
