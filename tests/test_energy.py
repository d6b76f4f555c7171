"""tfgan_suite.energy: EBGAN's and BEGAN's objectives against hand computations and numpy."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import energy


def close(got, want, **kw):
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-6, atol=1e-7, **kw)


# ------------------------------------------------------------------------- energies


def test_energies_are_per_sample_means_over_elements():
    x = np.zeros([2, 2, 2, 1], np.float32)
    recon = np.array([[[[1.0], [-1.0]], [[0.0], [2.0]]],      # |e| = 1, 1, 0, 2
                      [[[0.5], [0.5]], [[0.5], [0.5]]]], np.float32)
    close(energy.mse_energy(x, recon), [(1 + 1 + 0 + 4) / 4, 0.25])
    close(energy.l1_energy(x, recon), [(1 + 1 + 0 + 2) / 4, 0.5])
    # Points: the mean over the 2 coordinates.
    close(energy.mse_energy([[0.0, 0.0]], [[3.0, 1.0]]), [5.0])


# --------------------------------------------------------------------------- EBGAN


def test_ebgan_d_loss_hinge_above_and_below_the_margin():
    real = tf.constant([0.1, 0.3])
    fake = tf.constant([0.05, 0.5, 0.2])   # below m, above m, exactly at m
    # E[D(x)] = 0.2; hinge: max(0, 0.2 - 0.05) = 0.15, 0, 0 -> mean 0.05.
    close(energy.ebgan_d_loss(real, fake, margin=0.2), 0.25)
    # All fakes above the margin: D's loss is the real energy alone.
    close(energy.ebgan_d_loss(real, tf.constant([1.0, 2.0]), margin=0.2), 0.2)
    # All below: the full hinge, m - E[D(G(z))].
    close(energy.ebgan_d_loss(real, tf.constant([0.0, 0.1]), margin=1.0), 0.2 + 0.95)


def test_ebgan_d_loss_gradient_only_from_fakes_below_the_margin():
    fake = tf.Variable([0.05, 0.5, 0.2])
    with tf.GradientTape() as tape:
        loss = energy.ebgan_d_loss(tf.constant([0.1]), fake, margin=0.3)
    close(tape.gradient(loss, fake), [-1 / 3, 0.0, -1 / 3])


def numpy_pull_away(s):
    s = s.reshape(len(s), -1).astype(np.float64)
    n = len(s)
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                cos = s[i] @ s[j] / (np.linalg.norm(s[i]) * np.linalg.norm(s[j]))
                total += cos ** 2
    return total / (n * (n - 1))


def test_pull_away_term_matches_numpy():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 3, 3, 2)).astype(np.float32)   # codes of any shape
    close(energy.pull_away_term(s), numpy_pull_away(s))
    s = rng.standard_normal((5, 7)).astype(np.float32)
    close(energy.pull_away_term(s), numpy_pull_away(s))


def test_pull_away_term_extremes():
    close(energy.pull_away_term(np.eye(4, dtype=np.float32)), 0.0)         # orthogonal
    same = np.tile([[1.0, 2.0, -1.0]], [5, 1]).astype(np.float32)
    close(energy.pull_away_term(same), 1.0)                                # collapsed
    close(energy.pull_away_term(same * [[1], [-3], [2], [0.5], [-1]]), 1.0)  # scale, sign
    # A zero code counts as orthogonal (no NaN): 2 of the 3*2 ordered pairs remain.
    with_zero = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], np.float32)
    close(energy.pull_away_term(with_zero), 2 / 6)


def test_ebgan_g_loss_applies_the_weight_once():
    codes = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)   # cos^2 = 1/2 both ways
    loss, pt = energy.ebgan_g_loss(tf.constant([0.2, 0.4]), codes, pt_weight=0.1)
    close(pt, 0.5)
    close(loss, 0.3 + 0.1 * 0.5)
    loss, pt = energy.ebgan_g_loss(tf.constant([0.2, 0.4]), codes, pt_weight=0.0)
    close(loss, 0.3)
    close(pt, 0.0)


# --------------------------------------------------------------------------- BEGAN


def test_began_d_loss():
    close(energy.began_d_loss(0.3, 0.2, 0.25), 0.3 - 0.25 * 0.2)
    # k_t is a constant of the step: no gradient flows into it.
    k = tf.Variable(0.5)
    with tf.GradientTape() as tape:
        loss = energy.began_d_loss(tf.constant(0.3), tf.constant(0.2), k)
    assert tape.gradient(loss, k) is None


@pytest.mark.parametrize("k, l_real, l_fake, gamma, lambda_k, k_next, m_global", [
    # balance = 0.5*0.2 - 0.15 = -0.05: k falls by 5e-5; M = 0.2 + 0.05.
    (0.3, 0.2, 0.15, 0.5, 0.001, 0.29995, 0.25),
    # balance = 0.7*0.4 - 0.1 = 0.18: k rises by 1.8e-4; M = 0.4 + 0.18.
    (0.0, 0.4, 0.1, 0.7, 0.001, 0.00018, 0.58),
    # In equilibrium (L(G(z)) = gamma L(x)): k unchanged, M = L(x).
    (0.42, 0.3, 0.15, 0.5, 0.001, 0.42, 0.3),
    # Clipped at 1: 0.9995 + 1e-3 * (1*1.0 - 0) = 1.0005 -> 1.
    (0.9995, 1.0, 0.0, 1.0, 0.001, 1.0, 2.0),
    # Clipped at 0: 1e-4 + 1e-3 * (0.5*0.1 - 0.5) < 0 -> 0.
    (0.0001, 0.1, 0.5, 0.5, 0.001, 0.0, 0.55),
    # A large gain is clipped both ways too.
    (0.5, 0.3, 0.0, 0.5, 100.0, 1.0, 0.45),
    (0.5, 0.0, 0.3, 0.5, 100.0, 0.0, 0.3),
])
def test_began_control_by_hand(k, l_real, l_fake, gamma, lambda_k, k_next, m_global):
    got_k, got_m = energy.began_control(k, l_real, l_fake, gamma, lambda_k)
    close(got_k, k_next)
    close(got_m, m_global)
