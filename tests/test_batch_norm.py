"""FusedBatchNormalization against numpy's batch norm and Keras's own layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite.nets.batch_norm import FusedBatchNormalization

MOMENTUM, EPSILON = 0.9, 1e-5


def _numpy_step(x, gamma, beta, moving_mean, moving_var):
    """Training-mode batch norm by hand: output and the updated moving statistics."""
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = ((x - mean) ** 2).mean(axis=axes)  # biased, as Keras uses
    y = gamma * (x - mean) / np.sqrt(var + EPSILON) + beta
    return (y, MOMENTUM * moving_mean + (1 - MOMENTUM) * mean,
            MOMENTUM * moving_var + (1 - MOMENTUM) * var)


def _layers(shape, dtype_policy=None):
    layers = []
    for cls in (FusedBatchNormalization, keras.layers.BatchNormalization):
        layer = cls(momentum=MOMENTUM, epsilon=EPSILON, dtype=dtype_policy)
        layer.build(shape)
        channels = shape[-1]
        layer.gamma.assign(np.linspace(0.5, 1.5, channels, dtype=np.float32))
        layer.beta.assign(np.linspace(-0.3, 0.2, channels, dtype=np.float32))
        layer.moving_mean.assign(np.full(channels, 0.25, np.float32))
        layer.moving_variance.assign(np.full(channels, 2.0, np.float32))
        layers.append(layer)
    return layers


@pytest.mark.parametrize("shape", [(8, 5, 5, 3), (2, 9, 4, 6)])
def test_training_step_matches_numpy_and_keras(shape):
    x = (np.random.default_rng(0).normal(size=shape) * 2 + 1).astype(np.float32)
    fused, reference = _layers(shape)
    results = []
    for layer in (fused, reference):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt, training=True)
            loss = tf.reduce_sum(y * tf.sin(y))
        grads = tape.gradient(loss, [xt, layer.gamma, layer.beta])
        results.append((y.numpy(), [g.numpy() for g in grads],
                        layer.moving_mean.numpy(), layer.moving_variance.numpy()))
    y_np, mean_np, var_np = _numpy_step(x.astype(np.float64), np.linspace(0.5, 1.5, shape[-1]),
                                        np.linspace(-0.3, 0.2, shape[-1]), 0.25, 2.0)
    (y_f, g_f, mm_f, mv_f), (y_k, g_k, mm_k, mv_k) = results
    np.testing.assert_allclose(y_f, y_np, atol=2e-5)
    np.testing.assert_allclose(mm_f, mean_np, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mv_f, var_np, rtol=1e-5)
    for a, b in zip(g_f, g_k):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # And the moving variance is the biased one, not the Bessel-corrected one.
    n = np.prod(shape[:-1])
    batch_var = ((x - x.mean(axis=tuple(range(x.ndim - 1)))) ** 2).mean(
        axis=tuple(range(x.ndim - 1)))
    corrected = MOMENTUM * 2.0 + (1 - MOMENTUM) * batch_var * n / (n - 1)
    assert np.all(np.abs(mv_f - corrected) > 1e-4)


def test_inference_is_the_parent_code():
    shape = (4, 3, 3, 2)
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    fused, reference = _layers(shape)
    np.testing.assert_array_equal(fused(x, training=False).numpy(),
                                  reference(x, training=False).numpy())
    # Inference leaves the moving statistics alone.
    np.testing.assert_array_equal(fused.moving_mean.numpy(), np.full(2, 0.25, np.float32))


def test_mixed_bfloat16_normalises_in_float32():
    shape = (8, 4, 4, 3)
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    fused, reference = _layers(shape, dtype_policy="mixed_bfloat16")
    y_f = fused(tf.cast(x, tf.bfloat16), training=True)
    y_k = reference(tf.cast(x, tf.bfloat16), training=True)
    assert y_f.dtype == tf.bfloat16 and fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(tf.cast(y_f, tf.float32).numpy(),
                               tf.cast(y_k, tf.float32).numpy(), atol=2e-2)
    np.testing.assert_allclose(fused.moving_variance.numpy(),
                               reference.moving_variance.numpy(), rtol=1e-2)


def test_feature_vectors_use_the_parent_code():
    shape = (16, 7)
    x = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    fused, reference = _layers(shape)
    np.testing.assert_array_equal(fused(x, training=True).numpy(),
                                  reference(x, training=True).numpy())
    np.testing.assert_array_equal(fused.moving_variance.numpy(),
                                  reference.moving_variance.numpy())
    y_np, _, var_np = _numpy_step(x.astype(np.float64), np.linspace(0.5, 1.5, 7),
                                  np.linspace(-0.3, 0.2, 7), 0.25, 2.0)
    np.testing.assert_allclose(fused.moving_variance.numpy(), var_np, rtol=1e-5)


def test_frozen_layer_uses_moving_statistics():
    shape = (6, 3)
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    fused, reference = _layers(shape)
    fused.trainable = reference.trainable = False
    np.testing.assert_array_equal(fused(x, training=True).numpy(),
                                  reference(x, training=True).numpy())
