"""sngan and mcgan: McGAN's IPMs and projections against numpy closed forms, both variants'
training recipes and steps (graph and XLA; two replicas: test_replicas.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import ipm, losses, training
from tfgan_suite.nets.spectral_norm import SpectralNormalization
from tfgan_suite.variants.mcgan import FeatureMatchingCritic

RNG = np.random.default_rng(0)
REAL = RNG.standard_normal((40, 6)) + np.linspace(-1, 1, 6)
FAKE = 0.5 * RNG.standard_normal((30, 6))


def _f32(x):
    return tf.constant(x, tf.float32)


# ------------------------------------------------------------------ IPMs (tfgan_suite.ipm)


def test_mean_ipm_with_the_optimal_v_is_the_q_norm_of_the_mean_gap():
    delta = REAL.mean(0) - FAKE.mean(0)
    l2 = ipm.mean_ipm(_f32(REAL), _f32(FAKE), _f32(delta / np.linalg.norm(delta)))
    np.testing.assert_allclose(float(l2), np.linalg.norm(delta, 2), rtol=1e-5)
    l1 = ipm.mean_ipm(_f32(REAL), _f32(FAKE), _f32(np.sign(delta)))
    np.testing.assert_allclose(float(l1), np.linalg.norm(delta, 1), rtol=1e-5)
    v = RNG.standard_normal(6)
    np.testing.assert_allclose(float(ipm.mean_ipm(_f32(REAL), _f32(FAKE), _f32(v))), v @ delta,
                               rtol=1e-5)
    np.testing.assert_allclose(ipm.mean_scores(_f32(REAL), _f32(v)).numpy(), REAL @ v,
                               rtol=1e-5, atol=1e-5)


def test_covariance_ipm_with_top_singular_vectors_is_the_sum_of_top_k_singular_values():
    # Uncentred second moments, as in the paper: Sigma(P) = E_P[phi phi^T].
    delta = REAL.T @ REAL / len(REAL) - FAKE.T @ FAKE / len(FAKE)
    np.testing.assert_allclose(ipm.second_moment(_f32(REAL)).numpy(), REAL.T @ REAL / len(REAL),
                               rtol=1e-5, atol=1e-5)
    left, s, right_t = np.linalg.svd(delta)
    k = 3
    best = ipm.covariance_ipm(_f32(REAL), _f32(FAKE), _f32(left[:, :k]), _f32(right_t[:k].T))
    np.testing.assert_allclose(float(best), s[:k].sum(), rtol=1e-5)
    # Any U, V: trace(U^T Delta V).
    u, _ = np.linalg.qr(RNG.standard_normal((6, k)))
    v, _ = np.linalg.qr(RNG.standard_normal((6, k)))
    np.testing.assert_allclose(float(ipm.covariance_ipm(_f32(REAL), _f32(FAKE), _f32(u), _f32(v))),
                               np.trace(u.T @ delta @ v), rtol=1e-5, atol=1e-5)


def test_projection_onto_the_dual_ball():
    outside, inside = np.array([3.0, -4.0]), np.array([0.3, -0.4])
    np.testing.assert_allclose(ipm.project_to_ball(_f32(outside), 2).numpy(), [0.6, -0.8],
                               rtol=1e-6)
    np.testing.assert_allclose(ipm.project_to_ball(_f32(inside), 2).numpy(), inside, rtol=1e-6)
    np.testing.assert_allclose(ipm.project_to_ball(_f32([3.0, -0.5, -2.0]), 1).numpy(),
                               [1.0, -0.5, -1.0])
    with pytest.raises(ValueError, match="`q` must be 1 or 2"):
        ipm.project_to_ball(_f32(inside), 3)


def test_stiefel_retraction_is_sign_fixed_qr():
    a = RNG.standard_normal((8, 3))
    q = ipm.retract_to_stiefel(_f32(a)).numpy()
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-5)
    ref_q, ref_r = np.linalg.qr(a)
    signs = np.where(np.diag(ref_r) < 0, -1.0, 1.0)
    np.testing.assert_allclose(q, ref_q * signs, atol=1e-5)
    # q^T a = R with a positive diagonal; already orthonormal columns are left alone.
    assert np.all(np.diag(q.T @ a) > 0)
    np.testing.assert_allclose(ipm.retract_to_stiefel(_f32(q)).numpy(), q, atol=1e-5)


def test_critic_ipm_and_scores_match_numpy():
    features = keras.Sequential([keras.Input((6,)), keras.layers.Identity()])
    critic = FeatureMatchingCritic(features, mode="mean_cov", k=2, seed=3)
    v, u, w = (critic.mean_v.numpy(), critic.cov_u.numpy(), critic.cov_v.numpy())
    np.testing.assert_allclose(np.linalg.norm(v), 1.0, rtol=1e-6)
    np.testing.assert_allclose(u.T @ u, np.eye(2), atol=1e-5)
    total, parts = critic.ipm(_f32(REAL), _f32(FAKE))
    delta_mu = REAL.mean(0) - FAKE.mean(0)
    delta_sigma = REAL.T @ REAL / len(REAL) - FAKE.T @ FAKE / len(FAKE)
    np.testing.assert_allclose(float(parts["ipm_mean"]), v @ delta_mu, rtol=1e-5)
    np.testing.assert_allclose(float(parts["ipm_cov"]), np.trace(u.T @ delta_sigma @ w),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(float(total), v @ delta_mu + np.trace(u.T @ delta_sigma @ w),
                               rtol=1e-5, atol=1e-5)
    scores = critic(_f32(REAL)).numpy()[:, 0]
    np.testing.assert_allclose(scores, REAL @ v + np.sum((REAL @ u) * (REAL @ w), 1),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="`k` must be in"):
        FeatureMatchingCritic(features, mode="cov", k=7)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        FeatureMatchingCritic(features, mode="median")


# ------------------------------------------------------------------------------- variants


def _model(settings, data, jit=False):
    cfg = training.fit_to_data(training.resolve_config(
        dict(dict(width=8, batch_size=8, steps=3, seed=1, export=False,
                  jit_compile="true" if jit else "false"), **settings)), data)
    keras.utils.set_random_seed(cfg.seed)
    return cfg, training.build_model(cfg, data)


def _fit(model, cfg, data, steps):
    """`steps` steps on data scaled as the pipeline does; returns the last step's logs."""
    x = data.x.astype("float32")
    if data.kind == "image":
        x = x / 127.5 - 1.0
    ds = tf.data.Dataset.from_tensor_slices(x).repeat().batch(cfg.batch_size * cfg.d_steps,
                                                               drop_remainder=True)
    history = model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return {k: v[-1] for k, v in history.history.items()}


def _optimizer_numbers(optimizer):
    names = {"Adam": ("learning_rate", "beta_1", "beta_2"), "RMSprop": ("learning_rate", "rho")}
    # A subclass of Keras's Adam has its hyperparameters, so it counts as Adam.
    kind = "Adam" if isinstance(optimizer, keras.optimizers.Adam) else type(optimizer).__name__
    return kind, [float(getattr(optimizer, n)) for n in names[kind]]


def test_sngan_model_trains_like_the_official_code():
    """The built model, against pfnet-research/sngan_projection's configs: Adam(2e-4,
    beta1 0, beta2 0.9), n_dis = 5 D updates per G update, the hinge loss, every D layer
    spectrally normalised, no batch norm (Miyato et al. 2018, section 4 and the code)."""
    data = helpers.tiny_points()
    cfg, model = _model({"variant": "sngan"}, data)
    for optimizer in (model.g_optimizer, model.d_optimizer):
        kind, numbers = _optimizer_numbers(optimizer)
        assert kind == "Adam"
        np.testing.assert_allclose(numbers, [2e-4, 0.0, 0.9], rtol=1e-6, atol=1e-12)
    layers = model.discriminator.layers
    assert sum(isinstance(l, SpectralNormalization) for l in layers) == 3   # 2 hidden + logits
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in layers)
    # Hinge (Lim & Ye 2017): E relu(1 - D(x)) + E relu(1 + D(G(z))), and -E D(G(z)) for G.
    real, fake = np.array([0.4, 1.7, -0.2], np.float32), np.array([-1.5, 0.3], np.float32)
    d_loss, g_loss = losses.get(model.params.loss)
    np.testing.assert_allclose(float(d_loss(_f32(real), _f32(fake))),
                               (0.6 + 0 + 1.2) / 3 + (0 + 1.3) / 2, rtol=1e-6)
    np.testing.assert_allclose(float(g_loss(_f32(fake))), 0.6, rtol=1e-6)
    _fit(model, cfg, data, steps=1)
    assert int(model.d_optimizer.iterations.numpy()) == 5
    assert int(model.g_optimizer.iterations.numpy()) == 1
    switched = training.resolve_config({"variant": "sngan", "loss": "non_saturating",
                                        "d_steps": 1})
    assert (switched.loss, switched.d_steps, switched.d_spectral_norm) == (
        "non_saturating", 1, True)


@pytest.mark.parametrize("kind, jit, layers", [
    ("image", False, ["down1", "down2", "logits"]),
    ("points", True, ["hidden1", "hidden2", "logits"]),   # XLA of SN convs: test_spectral_norm
])
def test_sngan_steps_update_u_and_every_weight(kind, jit, layers):
    # Non-saturating loss: every D weight gets a gradient (see the hinge test below).
    data = helpers.tiny_images() if kind == "image" else helpers.tiny_points()
    cfg, model = _model({"variant": "sngan", "loss": "non_saturating", "d_steps": 2}, data, jit)
    d = model.discriminator
    wrapped = [l for l in d.layers if isinstance(l, SpectralNormalization)]
    assert [l.layer.name for l in wrapped] == layers
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in d.layers)
    before = {v.path: v.numpy().copy() for v in model.weights}
    logs = _fit(model, cfg, data, steps=2)
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert int(model.d_optimizer.iterations.numpy()) == 4
    changed = {v.path for v in model.weights if not np.array_equal(before[v.path], v.numpy())}
    trainable = {v.path for v in model.generator.trainable_variables + d.trainable_variables}
    assert trainable <= changed, trainable - changed
    assert {l.u.path for l in wrapped[:-1]} <= changed          # logits' u is +-1 (one row)


def test_hinge_gives_no_gradient_to_the_last_bias_inside_the_margin():
    """Why the shared every-variable-changes test cannot pass for a hinge D's last bias early
    on: while every |D| < 1, d/db [E relu(1 - D(x)) + E relu(1 + D(G(z)))] = -1 + 1 = 0."""
    bias = tf.Variable(0.0)
    real, fake = tf.constant([0.3, -0.5, 0.9]), tf.constant([-0.2, 0.7])
    with tf.GradientTape() as tape:
        loss = losses.get("hinge")[0](real + bias, fake + bias)
    assert float(tape.gradient(loss, bias)) == 0.0


def test_mcgan_model_trains_with_wgans_recipe():
    """The built model uses WGAN's recipe (Arjovsky et al. 2017, Algorithm 1: RMSProp with
    alpha = 5e-5, c = 0.01, n_critic = 5), which the variant's docstring names as its source
    (not checked against McGan's section 6): after one step the critic ran 5 updates and
    every weight of Phi is inside [-0.01, 0.01]; the default IPM is the mean one (no U, V)."""
    data = helpers.tiny_points()
    cfg, model = _model({"variant": "mcgan"}, data)
    for optimizer in (model.g_optimizer, model.d_optimizer):
        kind, numbers = _optimizer_numbers(optimizer)
        assert kind == "RMSprop"
        np.testing.assert_allclose(numbers, [5e-5, 0.99], rtol=1e-6)
    critic = model.discriminator
    assert critic.cov_u is None and critic.q == 2
    assert max(np.max(np.abs(w.numpy())) for w in critic.features.trainable_variables) > 0.01
    _fit(model, cfg, data, steps=1)
    assert int(model.d_optimizer.iterations.numpy()) == 5
    for w in critic.features.trainable_variables:
        assert np.max(np.abs(w.numpy())) <= 0.01, w.path
    from tfgan_suite import config
    with pytest.raises(config.ConfigError, match="--mcgan_q=3"):
        training.resolve_config({"variant": "mcgan", "mcgan_q": 3})
    with pytest.raises(config.ConfigError, match="--mcgan_mode=median"):
        training.resolve_config({"variant": "mcgan", "mcgan_mode": "median"})


@pytest.mark.parametrize("jit", [False, True])
def test_mcgan_steps_keep_the_critic_in_its_constraint_sets(jit):
    data = helpers.tiny_points()
    cfg, model = _model({"variant": "mcgan", "mcgan_mode": "mean_cov", "mcgan_k": 4,
                         "d_steps": 2, "clip_value": 0.05}, data, jit)
    critic = model.discriminator
    logs = _fit(model, cfg, data, steps=3)
    assert int(model.d_optimizer.iterations.numpy()) == 6
    for m in (critic.cov_u, critic.cov_v):
        np.testing.assert_allclose(m.numpy().T @ m.numpy(), np.eye(4), atol=1e-5)
    for w in critic.features.trainable_variables:
        assert np.max(np.abs(w.numpy())) <= 0.05, w.path
    assert np.linalg.norm(critic.mean_v.numpy()) <= 1.0 + 1e-6
    assert all(np.isfinite(logs[k]) for k in ("ipm", "ipm_mean", "ipm_cov", "g_loss"))


def _numpy_features(critic, x):
    """Phi(x) of the 2-D MLP critic without norm, as `tfgan_suite.nets.mlp` documents it:
    Dense(2w) -> LReLU(0.2) -> Dense(2w) -> LReLU(0.2) (the input of the logits layer)."""
    h = x
    for name in ("hidden1", "hidden2"):
        layer = critic.features.get_layer(name)
        h = h @ layer.kernel.numpy() + layer.bias.numpy()
        h = np.where(h > 0, h, 0.2 * h)
    return h


def test_mcgan_step_logs_the_ipm_of_its_critic_batch_computed_in_numpy():
    """The logged IPM and its parts, from Phi, v, U, V before the critic update: mean part
    <v, mu_P - mu_Q>, covariance part E_P<U^T phi, V^T phi> - E_Q<U^T phi, V^T phi>
    (McGan, Algorithms 1-2). G is made constant (zero last kernel, bias b), so every fake is
    b whatever z the step draws."""
    data = helpers.tiny_points()
    cfg, model = _model({"variant": "mcgan", "mcgan_mode": "mean_cov", "mcgan_k": 3,
                         "d_steps": 1, "d_norm": "none", "clip_value": 0.5}, data)
    critic = model.discriminator
    b = np.array([0.3, -0.7], np.float32)
    head = model.generator.get_layer("to_points")
    head.kernel.assign(np.zeros(head.kernel.shape, np.float32))
    head.bias.assign(b)
    real = data.x[:cfg.batch_size]
    phi_p = _numpy_features(critic, real)
    phi_q = _numpy_features(critic, np.repeat(b[None], cfg.batch_size, 0))
    v, u, w = critic.mean_v.numpy(), critic.cov_u.numpy(), critic.cov_v.numpy()
    mean_part = v @ (phi_p.mean(0) - phi_q.mean(0))
    cov_p = np.mean(np.sum((phi_p @ u) * (phi_p @ w), 1))
    cov_q = np.mean(np.sum((phi_q @ u) * (phi_q @ w), 1))
    logs = model.train_step(tf.constant(real))
    np.testing.assert_allclose(float(logs["ipm_mean"]), mean_part, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(float(logs["ipm_cov"]), cov_p - cov_q, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(float(logs["ipm"]), mean_part + cov_p - cov_q, rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(float(logs["d_real"]), phi_p.mean(0) @ v + cov_p, rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(float(logs["d_fake"]), phi_q.mean(0) @ v + cov_q, rtol=1e-4,
                               atol=1e-7)
    # Both parts are far from 0 here, so a dropped or swapped term would show.
    assert min(abs(mean_part), abs(cov_p - cov_q)) > 1e-3, (mean_part, cov_p - cov_q)


def test_mcgan_q1_keeps_v_in_the_box_and_images_train():
    data = helpers.tiny_images()
    cfg, model = _model({"variant": "mcgan", "mcgan_q": 1, "d_steps": 1, "d_lr": 0.5}, data)
    logs = _fit(model, cfg, data, steps=2)
    v = model.discriminator.mean_v.numpy()
    assert np.max(np.abs(v)) <= 1.0 and np.isclose(np.max(np.abs(v)), 1.0)   # big lr: clipped
    assert model.discriminator.cov_u is None and "ipm_cov" not in logs
    for w in model.discriminator.features.trainable_variables:
        assert np.max(np.abs(w.numpy())) <= 0.01, w.path

