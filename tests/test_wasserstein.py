"""WGAN and WGAN-GP: the critic schedule, weight clipping and one step in closed form.

The closed forms use a linear critic D(x) = w.x + c and a generator whose kernel starts at
zero, so G(z) = b for every z; with plain SGD (learning rate LR) one step is:

    critic (Wasserstein loss mean(D(G(z))) - mean(D(x)), plus lambda (||w|| - 1)^2 for GP):
        grad_w = b - mean(x) [+ 2 lambda (||w|| - 1) w / ||w||],  grad_c = 0
        w' = w - LR grad_w, then for WGAN clipped to [-clip, clip]
    generator (loss -mean(D(G(z)))): grad_b = -w',  b' = b + LR w'
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import training
from tfgan_suite.data import make_dataset
from tfgan_suite.variants.wgan import WGAN, CriticSchedule
from tfgan_suite.variants.wgan_gp import GradientPenaltyGAN

W0 = np.array([0.3, -0.2])
C0 = 0.1
B0 = np.array([0.5, 0.25])
X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]], np.float32)


def linear_pair(model_cls, lr, **kwargs):
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(B0))])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Constant(W0[:, None]),
        bias_initializer=keras.initializers.Constant(C0))])
    model = model_cls(g, d, latent_dim=3, **kwargs)
    model.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr))
    return model


def one_step(model):
    history = model.fit(tf.data.Dataset.from_tensors(X).repeat(), steps_per_epoch=1, epochs=1,
                        verbose=0, shuffle=False)
    d_kernel, d_bias = model.discriminator.layers[-1].get_weights()
    _, g_bias = model.generator.layers[-1].get_weights()
    return d_kernel[:, 0], float(d_bias[0]), g_bias, {k: v[-1] for k, v in history.history.items()}


# ------------------------------------------------------------------------------ schedule


def test_schedule_is_the_papers():
    s = CriticSchedule(n_critic=5)
    assert [s(k) for k in range(25)] == [100] * 25
    assert [s(k) for k in (25, 26, 499, 500, 501, 999, 1000, 1001)] == [5, 5, 5, 100, 5, 5, 100, 5]
    assert sum(s(k) for k in range(1000)) == 25 * 100 + 974 * 5 + 100


@pytest.mark.parametrize("params", [dict(n_critic=5), dict(n_critic=2, burst=7, first=3, every=4),
                                    dict(n_critic=1, first=0, every=3),
                                    dict(n_critic=3, first=10, every=2)])
def test_schedule_offset_closed_form_matches_the_sum(params):
    s = CriticSchedule(**params)
    total = 0
    for k in range(1200):
        assert s.offset(k) == total, k
        total += s(k)


def test_schedule_rejects_bad_values():
    with pytest.raises(ValueError, match="n_critic"):
        CriticSchedule(n_critic=0)
    with pytest.raises(ValueError, match="every"):
        CriticSchedule(n_critic=5, every=0)


def test_schedule_switch_and_clip_value_come_from_the_config():
    data = helpers.tiny_points()
    cfg = training.resolve_config(dict(variant="wgan", width=8, batch_size=8, clip_value=0.05))
    model = training.build_model(training.fit_to_data(cfg, data), data)
    assert model.params.clip_value == 0.05 and model.batches_per_step == CriticSchedule(5)
    # Arjovsky et al. 2017, Algorithm 1: RMSProp, alpha = 5e-5, n_critic = 5; rho 0.99 is
    # PyTorch's default that their code ran with.
    for optimizer in (model.g_optimizer, model.d_optimizer):
        assert type(optimizer).__name__ == "RMSprop"
        np.testing.assert_allclose([float(optimizer.learning_rate), float(optimizer.rho)],
                                   [5e-5, 0.99], rtol=1e-6)
    cfg = training.resolve_config(dict(variant="wgan", wgan_critic_schedule=False, d_steps=3))
    model = training.build_model(training.fit_to_data(cfg, data), data)
    assert model.batches_per_step == 3


# ------------------------------------------------------------------------------ closed forms


def test_wgan_step_matches_closed_form_with_clipping():
    lr, clip = 0.2, 0.2
    model = linear_pair(WGAN, lr, clip_value=clip, wgan_critic_schedule=False)
    w, c, b, logs = one_step(model)
    w_free = W0 - lr * (B0 - X.mean(0))  # [0.225, -0.075]: the first weight is clipped
    expected_w = np.clip(w_free, -clip, clip)
    assert w_free[0] > clip and abs(w_free[1]) < clip
    np.testing.assert_allclose(w, expected_w, rtol=1e-6)
    np.testing.assert_allclose(c, C0, rtol=1e-6)  # no gradient: the offsets cancel
    np.testing.assert_allclose(b, B0 + lr * expected_w, rtol=1e-6)
    # Logged before the critic's update: E[D(x)] - E[D(G(z))] = w.(mean x - b).
    np.testing.assert_allclose(logs["wasserstein"], W0 @ (X.mean(0) - B0), rtol=1e-5)
    assert logs["critic_steps"] == 1


def test_wgan_gp_step_matches_closed_form():
    lr, lam = 0.01, 10.0
    model = linear_pair(GradientPenaltyGAN, lr, gp_weight=lam)
    w, c, b, logs = one_step(model)
    norm = np.linalg.norm(W0)
    grad_w = B0 - X.mean(0) + 2 * lam * (norm - 1) * W0 / norm
    expected_w = W0 - lr * grad_w
    np.testing.assert_allclose(w, expected_w, rtol=1e-5)
    np.testing.assert_allclose(c, C0, rtol=1e-6)
    np.testing.assert_allclose(b, B0 + lr * expected_w, rtol=1e-5)
    np.testing.assert_allclose(logs["gradient_penalty"], lam * (norm - 1) ** 2, rtol=1e-5)
    np.testing.assert_allclose(logs["grad_norm"], norm, rtol=1e-5)
    np.testing.assert_allclose(logs["wasserstein"], W0 @ (X.mean(0) - B0), rtol=1e-5)
    np.testing.assert_allclose(logs["d_loss"], W0 @ (B0 - X.mean(0)) + lam * (norm - 1) ** 2,
                               rtol=1e-5)


# ------------------------------------------------------------------------------ the schedule in training


class CriticSteps(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(int(logs["critic_steps"]))


def scheduled_model(d_steps=2, clip=0.01):
    data = helpers.tiny_points()
    cfg = training.resolve_config(dict(variant="wgan", width=8, batch_size=8, seed=1,
                                       d_steps=d_steps, clip_value=clip, export=False))
    return data, training.build_model(training.fit_to_data(cfg, data), data)


def run_from(model, data, start, steps):
    model.step.assign(start)
    ds = make_dataset(data, batch_size=8, seed=1, start_batch=start,
                      batches_per_step=model.batches_per_step)
    recorder = CriticSteps()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,
              callbacks=[recorder])
    return recorder.seen


def test_critic_runs_the_scheduled_number_of_updates_and_stays_clipped():
    data, model = scheduled_model()
    before = int(model.d_optimizer.iterations.numpy())
    assert run_from(model, data, 23, 4) == [100, 100, 2, 2]
    assert int(model.d_optimizer.iterations.numpy()) - before == 204
    assert run_from(model, data, 499, 3) == [2, 100, 2]
    assert int(model.d_optimizer.iterations.numpy()) - before == 204 + 104
    assert int(model.g_optimizer.iterations.numpy()) == 7
    # Every critic weight in [-c, c] after the steps; clipping was active.
    weights = np.concatenate([v.numpy().ravel() for v in model.discriminator.trainable_variables])
    assert np.all(np.abs(weights) <= 0.01 + 1e-9)
    assert np.isclose(np.abs(weights).max(), 0.01)


def test_element_that_is_not_whole_batches_is_refused():
    data, model = scheduled_model()
    ds = tf.data.Dataset.from_tensors(tf.zeros([12, 2])).repeat()
    with pytest.raises(ValueError, match="not a whole number"):
        model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)


# With instance noise the resume also restores the noise stream; without it (a subset of
# that check) runs with `make test-slow`.
@pytest.mark.parametrize("instance_noise", [pytest.param(0.0, marks=pytest.mark.slow), 0.1])
def test_train_runs_100_critic_updates_per_early_step_and_resumes_exactly(tmp_path,
                                                                          instance_noise):
    # d_steps=1 keeps the traces small; 25 -> 26 crosses the end of the early bursts. With
    # instance noise every critic update of the chunks draws noise too.
    data = helpers.tiny_points()
    settings = dict(variant="wgan", width=8, batch_size=8, seed=3, d_steps=1, export=False,
                    checkpoint_every=1000, sample_every=1000, log_every=1,
                    instance_noise=instance_noise, instance_noise_steps=50)
    full = training.train(training.resolve_config(dict(settings, steps=26,
                                                       run_dir=str(tmp_path / "full"))),
                          data=data, verbose=0)
    assert int(full.model.d_optimizer.iterations.numpy()) == 25 * 100 + 1
    assert int(full.model.g_optimizer.iterations.numpy()) == 26
    run_dir = str(tmp_path / "resumed")
    training.train(training.resolve_config(dict(settings, steps=24, run_dir=run_dir)),
                   data=data, verbose=0)
    resumed = training.train(training.resolve_config(dict(settings, steps=26, run_dir=run_dir)),
                             data=data, verbose=0)
    assert resumed.step == 26
    for a, b in zip(full.model.generator.weights + full.model.discriminator.weights
                    + full.model.d_optimizer.variables,
                    resumed.model.generator.weights + resumed.model.discriminator.weights
                    + resumed.model.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------------------ instance noise
#
# With instance noise sigma the critic sees x + sigma e_r and b + sigma e_f, so for the linear
# critic grad_w = b + sigma mean(e_f) - mean(x) - sigma mean(e_r); grad_c stays 0 and G's
# gradient -w' does not depend on the noise. The noise is reproduced here from the step's
# documented draw numbering (seed [seed, step * 4096 + draw]): a critic update draws z, the
# real batch's noise and the fake batch's; the last call (its d_steps critic updates, then
# G's z and noise) numbers from 0, and the earlier (chunked) critic updates follow it.

SEED = 7
DRAWS_PER_STEP = 1 << 12


def drawn_noise(step, draw, shape):
    """The N(0, 1) draw `draw` of generator step `step` (one replica, no XLA)."""
    seed = tf.constant([SEED, step * DRAWS_PER_STEP + draw], tf.int64)
    return tf.random.stateless_normal(shape, seed=seed).numpy()


def test_wgan_instance_noise_enters_the_critic_update_as_drawn():
    lr, sigma, clip = 0.2, 0.5, 10.0   # clip so wide that it stays inactive
    model = linear_pair(WGAN, lr, clip_value=clip, wgan_critic_schedule=False, seed=SEED,
                        instance_noise=sigma, instance_noise_steps=4)
    w, c, b, logs = one_step(model)
    # d_steps = 1: draws 0 = z, 1 = noise on x, 2 = noise on G(z); 3, 4 for G's update.
    e_real, e_fake = drawn_noise(0, 1, X.shape), drawn_noise(0, 2, X.shape)
    shift = sigma * (e_fake.mean(0) - e_real.mean(0))
    expected_w = W0 - lr * (B0 - X.mean(0) + shift)
    assert np.abs(lr * shift).max() > 0.05   # the noise moves w by far more than rtol
    np.testing.assert_allclose(w, expected_w, rtol=1e-5)
    np.testing.assert_allclose(c, C0, rtol=1e-6)
    np.testing.assert_allclose(b, B0 + lr * expected_w, rtol=1e-5)
    np.testing.assert_allclose(
        logs["wasserstein"], W0 @ (X.mean(0) + sigma * e_real.mean(0) - B0
                                   - sigma * e_fake.mean(0)), rtol=1e-5)
    np.testing.assert_allclose(logs["instance_noise"], sigma, rtol=1e-6)
    # sigma = 0: the noiseless closed form (and no noise draws).
    model = linear_pair(WGAN, lr, clip_value=clip, wgan_critic_schedule=False, seed=SEED)
    w, _, _, logs = one_step(model)
    np.testing.assert_allclose(w, W0 - lr * (B0 - X.mean(0)), rtol=1e-6)
    assert logs["instance_noise"] == 0.0


def test_wgan_instance_noise_in_chunked_critic_updates_over_two_steps():
    """n_critic = 5 with d_steps = 2: chunks of 2 and 1 critic updates, then the last call;
    every update gets its own noise (distinct draws), and step 1 draws anew."""
    lr, sigma, clip, d_steps, n_critic, steps = 0.1, 0.3, 1.0, 2, 5, 4
    model = linear_pair(WGAN, lr, clip_value=clip, wgan_critic_schedule=False, seed=SEED,
                        d_steps=d_steps, batch_size=len(X), instance_noise=sigma,
                        instance_noise_steps=steps)
    batches = [X + 0.1 * j for j in range(n_critic)]
    element = np.concatenate(batches)
    history = model.fit(tf.data.Dataset.from_tensors(element).repeat(), steps_per_epoch=2,
                        epochs=1, verbose=0, shuffle=False)

    last_call = 3 * d_steps + 2               # draws of the last call

    def reference(sigma):
        """(w, K, b, draws) after 2 steps; G(z) = z K + b with K = 0 only at the start."""
        w, k, b, draws = W0.copy(), np.zeros((3, 2)), B0.copy(), []
        for step in range(2):
            sigma_t = sigma * (1 - step / steps)
            for j in range(n_critic):         # critic update j uses real batch j
                chunked = j < n_critic - d_steps
                first = last_call + 3 * j if chunked else 3 * (j - (n_critic - d_steps))
                draws += [(step, first), (step, first + 1), (step, first + 2)]
                fake = drawn_noise(step, first, (len(X), 3)) @ k + b
                e_real = drawn_noise(step, first + 1, X.shape)
                e_fake = drawn_noise(step, first + 2, X.shape)
                grad_w = (fake.mean(0) - batches[j].mean(0)
                          + sigma_t * (e_fake.mean(0) - e_real.mean(0)))
                w = np.clip(w - lr * grad_w, -clip, clip)
            draws += [(step, 3 * d_steps), (step, 3 * d_steps + 1)]
            z = drawn_noise(step, 3 * d_steps, (len(X), 3))
            k = k + lr * np.outer(z.mean(0), w)   # loss -mean(z K + b + noise) . w - c
            b = b + lr * w
        return w, k, b, draws

    w, k, b, draws = reference(sigma)
    w_noiseless, _, b_noiseless, _ = reference(0.0)
    assert np.abs(w - w_noiseless).max() > 0.05 and np.abs(b - b_noiseless).max() > 0.005
    assert len(set(draws)) == len(draws) == 2 * (3 * n_critic + 2)
    d_kernel, _ = model.discriminator.layers[-1].get_weights()
    g_kernel, g_bias = model.generator.layers[-1].get_weights()
    np.testing.assert_allclose(d_kernel[:, 0], w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_kernel, k, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_bias, b, rtol=1e-5)
    assert int(model.d_optimizer.iterations.numpy()) == 2 * n_critic
    np.testing.assert_allclose(history.history["instance_noise"][-1], sigma * (1 - 1 / steps),
                               rtol=1e-6)
