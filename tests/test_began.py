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


def test_step_logs_and_k_t_follow_the_controller_and_clip_both_ways():
    cfg, data, model = build(architecture="mlp")  # the controller does not care; mlp is quick
    real = next(iter(make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)))
    # L(x) with D's weights before the step (the step evaluates it before D's update).
    want_l_real = float(tf.reduce_mean(energy.l1_energy(real, model.discriminator(real))))
    cases = [  # (k_0, gamma, lambda_k): ordinary, pushed above 1, pushed below 0
        (0.3, 0.5, 1.0), (0.9, 1.0, 100.0), (0.1, 0.01, 100.0)]
    seen = []
    for k0, gamma, lambda_k in cases:
        model.gamma, model.lambda_k = gamma, lambda_k
        model.make_train_function(force=True)  # the constants are baked in at trace time
        model.k_t.assign(k0)
        logs = one_step(model, cfg, data)
        if not seen:
            np.testing.assert_allclose(logs["l_real"], want_l_real, rtol=1e-5)
        balance = gamma * logs["l_real"] - logs["l_fake"]
        want_k = min(1.0, max(0.0, k0 + lambda_k * balance))
        np.testing.assert_allclose(float(model.k_t.numpy()), want_k, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(logs["k_t"], want_k, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(logs["m_global"], logs["l_real"] + abs(balance), rtol=1e-5)
        np.testing.assert_allclose(logs["g_loss"], logs["l_fake"], rtol=1e-6)
        seen.append(float(model.k_t.numpy()))
    assert 0.0 < seen[0] < 1.0 and seen[1] == 1.0 and seen[2] == 0.0, seen


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


@pytest.mark.parametrize("schedule", ["fixed", "plateau"])
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
        first = one_step(model, cfg, data)
        d_weights = [v.numpy() for v in model.discriminator.weights]
        second = one_step(model, cfg, data)
        assert int(model.step.numpy()) == 2
        k = 0.0
        for logs in (first, second):
            assert all(np.isfinite(v) for v in logs.values()), logs
            k = min(1.0, max(0.0, k + cfg.began_lambda_k * (
                cfg.began_gamma * logs["l_real"] - logs["l_fake"])))
            np.testing.assert_allclose(logs["k_t"], k, rtol=1e-4, atol=1e-9)
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
