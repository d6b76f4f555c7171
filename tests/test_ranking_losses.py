"""IRGAN's ranking losses against NumPy computed by hand."""

import numpy as np
import tensorflow as tf

from tfgan_suite import ranking_losses

REAL = np.array([[2.0, -1.0, 0.5], [0.0, 30.0, -30.0]], np.float32)
FAKE = np.array([[-0.5, 1.5, 3.0], [1.0, -40.0, 40.0]], np.float32)
# Row 0: two valid entries; row 1: one (the padding holds extreme values on purpose).
MASK = np.array([[True, True, False], [True, False, False]])


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def test_masked_mean_counts_only_valid_entries():
    x = np.array([[1.0, 2.0, 100.0], [4.0, -7.0, 9.0]], np.float32)
    got = ranking_losses.masked_mean(tf.constant(x), tf.constant(MASK))
    np.testing.assert_allclose(got, (1.0 + 2.0 + 4.0) / 3, rtol=1e-6)
    # 0/1 float masks work alike; an empty mask gives 0, not NaN.
    np.testing.assert_allclose(ranking_losses.masked_mean(tf.constant(x), MASK.astype(np.float32)),
                               7.0 / 3, rtol=1e-6)
    assert float(ranking_losses.masked_mean(tf.constant(x), np.zeros_like(MASK))) == 0.0


def test_pointwise_bce_by_hand():
    valid = MASK.astype(np.float64)
    real = (softplus(-REAL.astype(np.float64)) * valid).sum() / valid.sum()
    fake = (softplus(FAKE.astype(np.float64)) * valid).sum() / valid.sum()
    got = ranking_losses.pointwise_bce(tf.constant(REAL), tf.constant(FAKE), tf.constant(MASK))
    np.testing.assert_allclose(got, 0.5 * (real + fake), rtol=1e-6)
    # The three valid pairs by hand: -log sigmoid(2), -log sigmoid(-1), -log sigmoid(0) ...
    real_hand = (np.log(1 + np.exp(-2.0)) + np.log(1 + np.exp(1.0)) + np.log(2.0)) / 3
    # ... and -log(1 - sigmoid(l)) = log(1 + e^l) for l = -0.5, 1.5, 1.0.
    fake_hand = (np.log(1 + np.exp(-0.5)) + np.log(1 + np.exp(1.5)) + np.log(1 + np.exp(1.0))) / 3
    np.testing.assert_allclose(got, 0.5 * (real_hand + fake_hand), rtol=1e-6)


def test_bpr_by_hand():
    got = ranking_losses.bpr(tf.constant(REAL), tf.constant(FAKE), tf.constant(MASK))
    # Valid differences: 2.5, -2.5, -1.0; -log sigmoid(d) = log(1 + e^-d).
    want = (np.log(1 + np.exp(-2.5)) + np.log(1 + np.exp(2.5)) + np.log(1 + np.exp(1.0))) / 3
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_losses_have_the_gradient_of_their_formula():
    real, fake = tf.Variable(REAL), tf.Variable(FAKE)
    with tf.GradientTape() as tape:
        loss = ranking_losses.bpr(real, fake, MASK)
    g_real, g_fake = tape.gradient(loss, [real, fake])
    # d/dpos of -log sigmoid(pos - neg) = -(1 - sigmoid(pos - neg)), over 3 valid pairs.
    d = REAL.astype(np.float64) - FAKE
    want = -(1 - 1 / (1 + np.exp(-d))) * MASK / 3
    np.testing.assert_allclose(g_real, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_fake, -want, rtol=1e-5, atol=1e-7)
