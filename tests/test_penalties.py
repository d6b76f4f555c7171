"""Gradient penalties against closed forms: a linear critic D(x) = w.x + b has grad D = w."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import penalties, training

LAMBDA = 10.0


def linear_critic(w, b=0.3, shape=(2,)):
    """D(x) = w . flatten(x) + b, for x of `shape`."""
    w = np.asarray(w, np.float32).reshape(-1, 1)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Flatten(),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(w),
                           bias_initializer=keras.initializers.Constant(b)),
    ])


def mlp_critic(seed=0):
    """A nonlinear critic that treats samples independently (layer norm, no batch norm)."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.LayerNormalization(),
                             keras.layers.Dense(8, activation="softplus"), keras.layers.Dense(1)])


@pytest.mark.parametrize("w", [[0.3, -0.2], [3.0, 4.0], [0.6, 0.8]])
@pytest.mark.parametrize("seed", [0, 1])
def test_linear_critic_penalty_is_closed_form_whatever_x_hat(w, seed):
    x_hat = tf.random.stateless_normal([16, 2], seed=[seed, 7]) * 5.0
    gp, grad_norm = penalties.gradient_penalty(linear_critic(w), x_hat, weight=LAMBDA)
    norm = np.linalg.norm(w)
    np.testing.assert_allclose(float(gp), LAMBDA * (norm - 1.0) ** 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(grad_norm), norm, rtol=1e-6)


def test_norm_runs_over_all_non_batch_axes_of_images():
    w = np.arange(1, 17, dtype=np.float32) / 20.0  # 4x4x1 image -> 16 weights
    x_hat = tf.random.stateless_uniform([5, 4, 4, 1], seed=[0, 1])
    gp, grad_norm = penalties.gradient_penalty(linear_critic(w, shape=(4, 4, 1)), x_hat,
                                               weight=LAMBDA)
    np.testing.assert_allclose(float(grad_norm), np.linalg.norm(w), rtol=1e-6)
    np.testing.assert_allclose(float(gp), LAMBDA * (np.linalg.norm(w) - 1) ** 2, rtol=1e-5)


def test_weight_is_applied_once_and_target_is_used():
    critic, x = linear_critic([3.0, 4.0]), tf.zeros([4, 2])
    np.testing.assert_allclose(float(penalties.gradient_penalty(critic, x, weight=1.0)[0]), 16.0,
                               rtol=1e-6)
    np.testing.assert_allclose(float(penalties.gradient_penalty(critic, x, weight=2.5)[0]), 40.0,
                               rtol=1e-6)
    np.testing.assert_allclose(
        float(penalties.gradient_penalty(critic, x, weight=1.0, target=5.0)[0]), 0.0, atol=1e-5)


def test_gradient_wrt_critic_weights_matches_closed_form():
    # d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w||; the bias gets none.
    w = np.array([0.3, -0.2], np.float32)
    critic = linear_critic(w)
    x_hat = tf.random.stateless_normal([8, 2], seed=[3, 4])
    with tf.GradientTape() as tape:
        gp, _ = penalties.gradient_penalty(critic, x_hat, weight=LAMBDA)
    kernel, bias = critic.layers[-1].kernel, critic.layers[-1].bias
    g_kernel, g_bias = tape.gradient(gp, [kernel, bias])
    norm = np.linalg.norm(w)
    expected = 2 * LAMBDA * (norm - 1) * w / norm
    assert np.all(np.abs(expected) > 0.1)  # the check is not vacuous
    np.testing.assert_allclose(g_kernel.numpy()[:, 0], expected, rtol=1e-5)
    assert g_bias is None or np.allclose(g_bias.numpy(), 0.0)


def test_finite_when_real_equals_fake_and_for_a_flat_critic():
    # Real == fake: x_hat == x for every alpha; a flat critic (w = 0) has gradient 0, where
    # sqrt without epsilon has an infinite slope.
    x = tf.random.stateless_normal([6, 2], seed=[0, 0])
    alpha = tf.random.stateless_uniform([6, 1], seed=[0, 1])
    x_hat = penalties.random_interpolates(x, x, alpha)
    np.testing.assert_array_equal(x_hat.numpy(), x.numpy())
    for w in ([0.3, -0.2], [0.0, 0.0]):
        critic = linear_critic(w)
        with tf.GradientTape() as tape:
            gp, grad_norm = penalties.gradient_penalty(critic, x_hat, weight=LAMBDA)
        grads = tape.gradient(gp, critic.trainable_variables)
        assert np.isfinite(float(gp)) and np.isfinite(float(grad_norm))
        assert all(g is None or np.all(np.isfinite(g.numpy())) for g in grads)
    np.testing.assert_allclose(float(gp), LAMBDA, rtol=1e-4)  # w = 0: lambda (0 - 1)^2


def test_penalty_is_per_sample_for_a_nonlinear_critic():
    critic = mlp_critic()
    x_hat = tf.random.stateless_normal([6, 3], seed=[1, 2])
    gp, grad_norm = penalties.gradient_penalty(critic, x_hat, weight=LAMBDA)
    # Reference: each sample's gradient on its own, by the Jacobian of D at that sample.
    norms = []
    for i in range(6):
        xi = x_hat[i:i + 1]
        with tf.GradientTape() as tape:
            tape.watch(xi)
            score = critic(xi)
        norms.append(np.linalg.norm(tape.gradient(score, xi).numpy()))
    norms = np.array(norms)
    assert norms.std() > 1e-3  # samples really differ
    np.testing.assert_allclose(float(grad_norm), norms.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(gp), LAMBDA * np.mean((norms - 1) ** 2), rtol=1e-5)


def test_random_interpolates_are_per_sample_points_on_the_segments():
    real = tf.random.stateless_normal([4, 3, 3, 1], seed=[0, 2])
    fake = tf.random.stateless_normal([4, 3, 3, 1], seed=[0, 3])
    shape = penalties.alpha_shape(real)
    np.testing.assert_array_equal(shape.numpy(), [4, 1, 1, 1])
    np.testing.assert_array_equal(penalties.alpha_shape(tf.zeros([5, 2])).numpy(), [5, 1])
    alpha = tf.constant([0.0, 0.25, 0.5, 1.0])[:, None, None, None]
    x_hat = penalties.random_interpolates(real, fake, alpha).numpy()
    expected = real.numpy() + alpha.numpy() * (fake.numpy() - real.numpy())
    np.testing.assert_allclose(x_hat, expected, rtol=1e-6)
    np.testing.assert_array_equal(x_hat[0], real[0].numpy())
    np.testing.assert_allclose(x_hat[3], fake[3].numpy(), rtol=1e-6)


def test_dragan_points_use_the_batch_std_and_stay_near_the_data():
    real = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, (64, 2)), tf.float32)
    noise = tf.random.stateless_uniform([64, 2], seed=[0, 5])
    alpha = tf.random.stateless_uniform([64, 1], seed=[0, 6])
    x_hat = penalties.dragan_interpolates(real, noise, alpha).numpy()
    std = np.std(real.numpy())  # one number over the whole batch, as in X.std()
    expected = real.numpy() + alpha.numpy() * 0.5 * std * noise.numpy()
    np.testing.assert_allclose(x_hat, expected, rtol=1e-5, atol=1e-5)
    offset = x_hat - real.numpy()
    assert np.all(offset >= 0) and np.all(offset < 0.5 * std + 1e-6)


@pytest.mark.parametrize("variant,penalty", [("wgan_gp", "wgan_gp"), ("dragan", "dragan")])
def test_model_draws_alpha_uniform_per_sample(variant, penalty):
    data = helpers.tiny_points()
    cfg = training.resolve_config(dict(variant=variant, width=8, batch_size=64, seed=1,
                                       export=False))
    model = training.build_model(training.fit_to_data(cfg, data), data)
    assert model.params.penalty == penalty
    real = tf.random.stateless_normal([512, 2], seed=[1, 1])
    fake = tf.random.stateless_normal([512, 2], seed=[1, 2]) + 3.0
    x_hat = model.penalty_points(real, fake).numpy()
    if penalty == "wgan_gp":
        ratio = (x_hat - real.numpy()) / (fake.numpy() - real.numpy())
        # One alpha per sample, shared by its features, uniform on [0, 1].
        np.testing.assert_allclose(ratio[:, 0], ratio[:, 1], rtol=1e-4, atol=1e-5)
        alpha = ratio[:, 0]
        assert alpha.min() >= -1e-6 and alpha.max() <= 1 + 1e-6
        # U[0, 1]: mean 1/2, variance 1/12 (a normal draw fails this).
        assert abs(alpha.mean() - 0.5) < 0.05 and abs(alpha.var() - 1 / 12) < 0.02
        assert len(np.unique(np.round(alpha, 5))) > 500  # per sample, not one per batch
    else:
        # x_hat - x = alpha * 0.5 std(x) * u: in [0, 0.5 std) and different per sample.
        offset = x_hat - real.numpy()
        std = np.std(real.numpy())
        assert offset.min() >= -1e-6 and offset.max() < 0.5 * std + 1e-6
        assert len(np.unique(np.round(offset[:, 0], 5))) > 500
