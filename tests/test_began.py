"""`began`: the k_t controller in the step, the learning-rate decay, exact resume, XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tests.test_training import all_state, cfg_for
from tfgan_suite import energy, training
from tfgan_suite.data import make_dataset
from tfgan_suite.nets import autoencoder
from tfgan_suite.variants.began import BEGAN

DRAWS_PER_STEP = 1 << 12   # the step's draw numbering: seed [seed, step * 4096 + draw]


def build(**overrides):
    data = helpers.tiny_images(n=16)
    settings = dict(variant="began", width=8, latent_dim=8, began_hidden=8, batch_size=8,
                    seed=3, export=False)
    settings.update(overrides)
    cfg = training.fit_to_data(training.resolve_config(settings), data)
    keras.utils.set_random_seed(cfg.seed)
    return cfg, data, training.build_model(cfg, data)


def one_step(model, cfg, data):
    ds = make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed,
                      start_batch=int(model.step.numpy()))
    history = model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
    return {k: float(v[-1]) for k, v in history.history.items()}


def state_losses(model, cfg, data, jit=False):
    """(L(x), L(G(z_G))) of the model's state before its next step, computed outside it.

    The real batch is the step's (the pipeline from the step's position); z_G is redrawn
    from the step's stateless seed (draw d_steps, after the d_steps z_D draws), with XLA's
    generator when the step runs under XLA (it draws other numbers for the same seed).
    """
    step = int(model.step.numpy())
    real = next(iter(make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed,
                                  start_batch=step)))
    real = real[0] if isinstance(real, tuple) else real
    seed = tf.constant([cfg.seed, step * DRAWS_PER_STEP + cfg.d_steps], tf.int64)
    draw = tf.function(lambda: tf.random.stateless_normal(
        [cfg.batch_size // cfg.d_steps, cfg.latent_dim], seed=seed), jit_compile=jit)
    fake = model.generator(draw(), training=True)

    def loss(v):
        return float(tf.reduce_mean(energy.l1_energy(v, model.discriminator(v, training=True))))

    return loss(real), loss(fake)


def test_step_logs_and_k_t_follow_the_controller_and_clip_both_ways():
    cfg, data, model = build(architecture="mlp")  # the controller does not care; mlp is quick
    cases = [  # (k_0, gamma, lambda_k): ordinary, pushed above 1, pushed below 0
        (0.3, 0.5, 1.0), (0.9, 1.0, 100.0), (0.1, 0.01, 100.0)]
    seen = []
    for k0, gamma, lambda_k in cases:
        model.params = model.Params(began_gamma=gamma, began_lambda_k=lambda_k,
                                    began_lr_schedule=model.params.began_lr_schedule)
        model.make_train_function(force=True)  # the constants are baked in at trace time
        model.k_t.assign(k0)
        # Both losses of the controller from the state before the step (one state).
        l_real, l_fake = state_losses(model, cfg, data)
        logs = one_step(model, cfg, data)
        np.testing.assert_allclose(logs["l_real"], l_real, rtol=1e-5)
        np.testing.assert_allclose(logs["l_fake"], l_fake, rtol=1e-5)
        balance = gamma * l_real - l_fake
        want_k = min(1.0, max(0.0, k0 + lambda_k * balance))
        np.testing.assert_allclose(float(model.k_t.numpy()), want_k, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(logs["k_t"], want_k, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(logs["m_global"], l_real + abs(balance), rtol=1e-5)
        np.testing.assert_allclose(logs["g_loss"], l_fake, rtol=1e-5)
        seen.append(float(model.k_t.numpy()))
    assert 0.0 < seen[0] < 1.0 and seen[1] == 1.0 and seen[2] == 0.0, seen


# ------------------------------------------------------------------------------ closed form
#
# A linear auto-encoder D(v) = v W + c and a generator G(z) = z K + b with K = 0 at the
# start (G(z) = b for every z). With r(v) = v - D(v), L(V) = mean over rows n and elements
# j of |r_nj| (d = 2 elements), and every loss evaluated at the step's one state:
#     dL/dW_ij = -mean_n v_ni sign(r_nj) / d,   dL/dc_j = -mean_n sign(r_nj) / d
#     D: grad = dL(x) - k_t dL(b)   (b as N rows)
#     G: dL(G)/db = (I - W) sign(r(b)) / d,    dL(G)/dK = mean_n z_n (x) dL(G)/db
#     k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(b))),  M = L(x) + |gamma L(x) - L(b)|
# With plain SGD each update is theta - LR grad.

W0 = np.array([[0.6, -0.2], [0.1, 0.3]])
C0 = np.array([0.05, -0.1])
B0 = np.array([0.4, -0.3])
X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]])


def residuals(v, w, c):
    return v - (v @ w + c)


def l1(v, w, c):
    return np.abs(residuals(v, w, c)).mean()


def d_grads(v, w, c):
    """(dL(v)/dW, dL(v)/dc) of the linear auto-encoder."""
    s = np.sign(residuals(v, w, c))
    d = v.shape[1]
    return -v.T @ s / (len(v) * d), -s.mean(0) / d


def linear_began(lr, k0, d_steps, **kwargs):
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(B0))])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        2, kernel_initializer=keras.initializers.Constant(W0),
        bias_initializer=keras.initializers.Constant(C0))])
    model = BEGAN(g, d, latent_dim=3, d_steps=d_steps, seed=5, began_lr_schedule="none", **kwargs)
    model.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr))
    model.k_t.assign(k0)
    return model


@pytest.mark.parametrize("d_steps", [1, 2])
def test_one_step_is_simultaneous_in_closed_form(d_steps):
    lr, k0, gamma, lambda_k = 0.5, 0.4, 0.7, 0.5
    batches = [X + 0.25 * i for i in range(d_steps)]
    model = linear_began(lr, k0, d_steps, began_gamma=gamma, began_lambda_k=lambda_k)
    history = model.fit(tf.data.Dataset.from_tensors(
        np.concatenate(batches).astype(np.float32)).repeat(), steps_per_epoch=1, epochs=1,
        verbose=0, shuffle=False)
    logs = {k: float(v[-1]) for k, v in history.history.items()}

    fakes = np.tile(B0, (len(X), 1))
    w, c = W0.copy(), C0.copy()
    for x in batches[:-1]:   # --d_steps > 1: D alone first
        (gw_r, gc_r), (gw_f, gc_f) = d_grads(x, w, c), d_grads(fakes, w, c)
        w, c = w - lr * (gw_r - k0 * gw_f), c - lr * (gc_r - k0 * gc_f)
    # The last D update and G's, every quantity from the one state (w, c, b, k0).
    x = batches[-1]
    l_real, l_fake = l1(x, w, c), l1(fakes, w, c)
    (gw_r, gc_r), (gw_f, gc_f) = d_grads(x, w, c), d_grads(fakes, w, c)
    grad_b = (np.eye(2) - w) @ np.sign(residuals(B0[None], w, c))[0] / 2
    z = tf.random.stateless_normal([len(X), 3], seed=tf.constant(
        [5, d_steps], tf.int64)).numpy()   # z_G: draw d_steps of step 0
    want_w, want_c = w - lr * (gw_r - k0 * gw_f), c - lr * (gc_r - k0 * gc_f)
    want_b, want_k_kernel = B0 - lr * grad_b, -lr * np.outer(z.mean(0), grad_b)
    balance = gamma * l_real - l_fake
    want_k = np.clip(k0 + lambda_k * balance, 0.0, 1.0)
    assert 0.0 < want_k < 1.0

    d_kernel, d_bias = model.discriminator.layers[-1].get_weights()
    g_kernel, g_bias = model.generator.layers[-1].get_weights()
    np.testing.assert_allclose(d_kernel, want_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d_bias, want_c, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_bias, want_b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_kernel, want_k_kernel, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(model.k_t.numpy()), want_k, rtol=1e-5)
    np.testing.assert_allclose(logs["k_t"], want_k, rtol=1e-5)
    np.testing.assert_allclose(logs["m_global"], l_real + abs(balance), rtol=1e-5)
    np.testing.assert_allclose(logs["l_real"], l_real, rtol=1e-5)
    np.testing.assert_allclose(logs["l_fake"], l_fake, rtol=1e-5)
    np.testing.assert_allclose(logs["g_loss"], l_fake, rtol=1e-5)
    np.testing.assert_allclose(logs["d_loss"], l_real - k0 * l_fake, rtol=1e-5)
    # The alternating rule (G and the controller after D's update) differs measurably.
    assert abs(l1(fakes, want_w, want_c) - l_fake) > 1e-2


def test_k_t_starts_at_zero_and_the_schedule_state_is_checkpointed():
    _, _, model = build()
    assert float(model.k_t.numpy()) == 0.0
    assert {"step", "k_t", "m_window_sum", "m_best"} <= set(model.checkpoint_items()["state"])


@pytest.mark.parametrize("schedule", ["fixed", "plateau", "none"])
def test_learning_rate_schedules(schedule):
    _, _, model = build(began_lr_schedule=schedule, began_lr_steps=2)
    lrs = []
    # M_global per step: windows (steps 0-1, 2-3, 4-5) with means 1.0, 0.5, 0.498.
    for step, m in enumerate([1.2, 0.8, 0.6, 0.4, 0.5, 0.496]):
        model.step.assign(step)
        model.update_learning_rates(tf.constant(m))
        lrs.append(float(model.g_optimizer.learning_rate.numpy()))
        assert float(model.d_optimizer.learning_rate.numpy()) == lrs[-1]
    base = 1e-4
    want = {
        "fixed": [1, .5, .5, .25, .25, .125],          # halved at every window's end
        "plateau": [1, 1, 1, 1, 1, .5],                # only the 3rd window stalled (< 1%)
        "none": [1] * 6,
    }[schedule]
    np.testing.assert_allclose(lrs, np.array(want) * base, rtol=1e-6)
    if schedule == "plateau":
        np.testing.assert_allclose(float(model.m_best.numpy()), 0.498, rtol=1e-6)
        assert float(model.m_window_sum.numpy()) == 0.0


# "plateau" keeps the most state across a resume (its windowed decisions); "fixed", a
# function of the step alone, runs with `make test-slow`.
@pytest.mark.parametrize("schedule", [pytest.param("fixed", marks=pytest.mark.slow), "plateau"])
def test_resume_reproduces_an_uninterrupted_run(tmp_path, schedule):
    data = helpers.tiny_images(n=20)
    # Windows of 2 steps: decay decisions at steps 2, 4 and 6, on both sides of the resume
    # at step 3, which falls mid-window (the plateau's window sum must be restored).
    extra = dict(variant="began", latent_dim=8, began_hidden=8, began_lr_steps=2,
                 began_lr_schedule=schedule, began_lambda_k=0.05, sample_every=100)
    straight = training.train(cfg_for(tmp_path, "straight", **extra), data=data, verbose=0)
    tf.keras.backend.clear_session()
    first = training.train(cfg_for(tmp_path, "split", steps=3, **extra), data=data, verbose=0)
    tf.keras.backend.clear_session()
    resumed = training.train(cfg_for(tmp_path, "split", **extra), data=data, verbose=0)
    assert (first.step, resumed.step) == (3, 6)

    def everything(model):
        state = [v.numpy() for v in model.checkpoint_items()["state"].values()]
        return all_state(model) + state

    for a, b in zip(everything(resumed.model), everything(straight.model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(straight.model.k_t.numpy()) > 0.0
    if schedule == "fixed":
        np.testing.assert_allclose(float(resumed.model.g_optimizer.learning_rate.numpy()),
                                   1e-4 / 8, rtol=1e-6)
    else:
        assert np.isfinite(float(straight.model.m_best.numpy()))   # a window has ended
        assert float(first.model.m_window_sum.numpy()) > 0.0       # saved mid-window


def test_a_few_steps_with_and_without_xla():
    """XLA draws other random numbers than the TF kernels for the same stateless seed (its
    own Philox), so z differs between the two runs. What must agree: D's first update,
    which does not see the fakes because k_0 = 0, and the controller in each run."""
    runs = {}
    for jit in ("false", "true"):
        cfg, data, model = build(jit_compile=jit, architecture="mlp")
        assert model.jit_compile == (jit == "true")
        k = 0.0
        steps = []
        for _ in range(2):
            # The controller's inputs from the state before each step, computed outside it.
            l_real, l_fake = state_losses(model, cfg, data, jit=jit == "true")
            logs = one_step(model, cfg, data)
            assert all(np.isfinite(v) for v in logs.values()), logs
            np.testing.assert_allclose(logs["l_fake"], l_fake, rtol=1e-5)
            k = min(1.0, max(0.0, k + cfg.began_lambda_k * (cfg.began_gamma * l_real - l_fake)))
            np.testing.assert_allclose(logs["k_t"], k, rtol=1e-4, atol=1e-9)
            if not steps:
                d_weights = [v.numpy() for v in model.discriminator.weights]
            steps.append(logs)
        assert int(model.step.numpy()) == 2
        first = steps[0]
        runs[jit] = first, d_weights
    np.testing.assert_allclose(runs["true"][0]["l_real"], runs["false"][0]["l_real"], rtol=1e-5)
    for a, b in zip(runs["true"][1], runs["false"][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_began_nets_at_every_image_size(shape):
    g, d = autoencoder.build_players("began", data_shape=shape, latent_dim=4, width=4,
                                     hidden=6)
    x = g(tf.random.normal([2, 4], seed=1))
    assert tuple(x.shape) == (2, *shape) and np.all(np.abs(x.numpy()) <= 1.0)
    assert tuple(d(x).shape) == (2, *shape)
    assert tuple(d.encode(x).shape) == (2, 6)
    paths = [v.path for v in g.weights + d.weights]
    assert len(paths) == len(set(paths)), "variable paths of G and D collide"


def test_began_architecture_refuses_points():
    with pytest.raises(Exception, match="--architecture=mlp"):
        autoencoder.build_players("began", data_shape=(2,), latent_dim=4)
