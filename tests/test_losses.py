"""Each loss against numbers computed by hand from its definition in the paper."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import losses

REAL = [0.0, 2.0, -1.0]
FAKE = [1.0, -3.0]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_minimax_d_loss_matches_definition():
    # -E[log D(x)] - E[log(1 - D(G(z)))], written with probabilities.
    expected = (-np.mean([math.log(sigmoid(r)) for r in REAL])
                - np.mean([math.log(1.0 - sigmoid(f)) for f in FAKE]))
    got = losses.minimax_d_loss(tf.constant(REAL), tf.constant(FAKE))
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


def test_losses_at_zero_logits_are_log_two():
    zero = tf.zeros([4])
    np.testing.assert_allclose(float(losses.minimax_d_loss(zero, zero)), 2 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(float(losses.minimax_g_loss(zero)), -math.log(2), rtol=1e-6)
    np.testing.assert_allclose(float(losses.non_saturating_g_loss(zero)), math.log(2), rtol=1e-6)


def test_generator_losses_match_definition():
    minimax = np.mean([math.log(1.0 - sigmoid(f)) for f in FAKE])
    non_saturating = -np.mean([math.log(sigmoid(f)) for f in FAKE])
    np.testing.assert_allclose(float(losses.minimax_g_loss(tf.constant(FAKE))), minimax, rtol=1e-6)
    np.testing.assert_allclose(float(losses.non_saturating_g_loss(tf.constant(FAKE))),
                               non_saturating, rtol=1e-6)


def test_extreme_logits_stay_finite_and_exact():
    # Where the probability form would take log(0), softplus gives the exact limit.
    real = tf.constant([100.0, -100.0])
    fake = tf.constant([100.0, -100.0])
    # -log sigmoid(100) ~ 0, -log sigmoid(-100) ~ 100; -log(1 - sigmoid(100)) ~ 100, ... ~ 0.
    np.testing.assert_allclose(float(losses.minimax_d_loss(real, fake)), 100.0, rtol=1e-5)
    np.testing.assert_allclose(float(losses.minimax_g_loss(fake)), -50.0, rtol=1e-5)
    np.testing.assert_allclose(float(losses.non_saturating_g_loss(fake)), 50.0, rtol=1e-5)


@pytest.mark.parametrize("logit", [-8.0, -2.0, 0.0, 3.0])
def test_generator_gradients_closed_form(logit):
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l): vanishes when D rejects (l << 0): saturating.
    # d/dl -log sigmoid(l) = -(1 - sigmoid(l)) = -sigmoid(-l): stays near -1 there.
    x = tf.Variable([logit])
    with tf.GradientTape(persistent=True) as tape:
        minimax = losses.minimax_g_loss(x)
        non_saturating = losses.non_saturating_g_loss(x)
    np.testing.assert_allclose(tape.gradient(minimax, x).numpy(), [-sigmoid(logit)], rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(non_saturating, x).numpy(), [-sigmoid(-logit)],
                               rtol=1e-5)


def test_registry_pairs_and_unknown_name():
    assert losses.get("minimax") == (losses.minimax_d_loss, losses.minimax_g_loss)
    assert losses.get("non_saturating") == (losses.minimax_d_loss, losses.non_saturating_g_loss)
    with pytest.raises(ValueError, match="accepted: minimax, non_saturating"):
        losses.get("nope")
