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
    assert losses.get("wasserstein") == (losses.wasserstein_d_loss, losses.wasserstein_g_loss)
    assert losses.get("hinge") == (losses.hinge_d_loss, losses.hinge_g_loss)
    assert losses.get("least_squares") == (losses.least_squares_d_loss,
                                           losses.least_squares_g_loss)
    with pytest.raises(ValueError, match="accepted: hinge, least_squares, minimax, "
                                         "non_saturating, wasserstein"):
        losses.get("nope")


# Raw critic scores for the losses without a sigmoid. REAL = [0, 2, -1], FAKE = [1, -3].

def test_wasserstein_losses_by_hand():
    # d = E[D(G(z))] - E[D(x)] = (1 - 3)/2 - (0 + 2 - 1)/3 = -1 - 1/3; g = -E[D(G(z))] = 1.
    d_loss, g_loss = losses.get("wasserstein")
    np.testing.assert_allclose(float(d_loss(tf.constant(REAL), tf.constant(FAKE))),
                               -4.0 / 3.0, rtol=1e-6)
    np.testing.assert_allclose(float(g_loss(tf.constant(FAKE))), 1.0, rtol=1e-6)


def test_hinge_losses_by_hand():
    # E[relu(1 - D(x))] = (1 + 0 + 2)/3 = 1; E[relu(1 + D(G(z)))] = (2 + 0)/2 = 1.
    d_loss, g_loss = losses.get("hinge")
    np.testing.assert_allclose(float(d_loss(tf.constant(REAL), tf.constant(FAKE))), 2.0,
                               rtol=1e-6)
    np.testing.assert_allclose(float(g_loss(tf.constant(FAKE))), 1.0, rtol=1e-6)
    # Beyond the margin nothing is left to learn.
    np.testing.assert_allclose(float(d_loss(tf.constant([1.5, 4.0]), tf.constant([-1.0]))),
                               0.0, atol=0)


def test_least_squares_losses_by_hand():
    # d = 1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2) = 1/2 (1 + 1 + 4)/3 + 1/2 (1 + 9)/2
    #   = 1 + 2.5; g = 1/2 mean((D(G(z)) - 1)^2) = 1/2 (0 + 16)/2 = 4.
    d_loss, g_loss = losses.get("least_squares")
    np.testing.assert_allclose(float(d_loss(tf.constant(REAL), tf.constant(FAKE))), 3.5,
                               rtol=1e-6)
    np.testing.assert_allclose(float(g_loss(tf.constant(FAKE))), 4.0, rtol=1e-6)
    # At its optimum (D(x) = 1, D(G(z)) = 0) the D loss is 0.
    np.testing.assert_allclose(float(d_loss(tf.ones([3]), tf.zeros([2]))), 0.0, atol=0)


@pytest.mark.parametrize("name", ["wasserstein", "hinge", "least_squares"])
def test_new_losses_accept_any_shape_and_float16(name):
    d_loss, g_loss = losses.get(name)
    real = tf.constant([[0.0], [2.0], [-1.0]])
    fake = tf.constant([[1.0], [-3.0]])
    flat = d_loss(tf.constant(REAL), tf.constant(FAKE))
    np.testing.assert_allclose(float(d_loss(real, fake)), float(flat), rtol=1e-6)
    half = d_loss(tf.cast(real, tf.float16), tf.cast(fake, tf.float16))
    assert half.dtype == tf.float32
    np.testing.assert_allclose(float(half), float(flat), rtol=1e-3)
    assert g_loss(tf.cast(fake, tf.float16)).dtype == tf.float32
