"""Schedules of optimizers.py against values worked out by hand."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import optimizers


def run_window_decay(schedule, values, window):
    """(decay, window_sum, best) after each step of `values`, the state carried along."""
    window_sum, best, out = 0.0, float("inf"), []
    for step, value in enumerate(values):
        decay, window_sum, best = optimizers.window_decay(
            schedule, step=tf.constant(step, tf.int64), value=tf.constant(value),
            window=window, window_sum=tf.constant(window_sum), best=tf.constant(best))
        out.append((bool(decay), float(window_sum), float(best)))
    return out


def test_plateau_decays_only_when_a_window_mean_is_not_one_percent_better():
    # Windows of 2: means 1.0, 0.5 (better), 0.498 (0.4% better: stalled), 0.2 (better).
    values = [1.2, 0.8, 0.6, 0.4, 0.5, 0.496, 0.3, 0.1]
    got = run_window_decay("plateau", values, window=2)
    assert [d for d, _, _ in got] == [False, False, False, False, False, True, False, False]
    np.testing.assert_allclose([s for _, s, _ in got], [1.2, 0, 0.6, 0, 0.5, 0, 0.3, 0],
                               rtol=1e-6)
    np.testing.assert_allclose([b for _, _, b in got],
                               [np.inf, 1.0, 1.0, 0.5, 0.5, 0.498, 0.498, 0.2], rtol=1e-6)


def test_fixed_decays_at_every_window_end_and_none_never():
    got = run_window_decay("fixed", [5.0] * 7, window=3)
    assert [d for d, _, _ in got] == [False, False, True, False, False, True, False]
    assert all(s == 0.0 and b == float("inf") for _, s, b in got)  # state untouched
    assert not any(d for d, _, _ in run_window_decay("none", [5.0] * 4, window=1))


def test_window_decay_checks_its_arguments():
    with pytest.raises(ValueError, match="schedule='cosine'"):
        optimizers.window_decay("cosine", step=0, value=1.0, window=2, window_sum=0.0,
                                best=1.0)
    with pytest.raises(ValueError, match="window=0"):
        optimizers.window_decay("fixed", step=0, value=1.0, window=0, window_sum=0.0,
                                best=1.0)


def test_scale_learning_rates():
    opts = [keras.optimizers.Adam(1e-3), keras.optimizers.SGD(0.5)]
    optimizers.scale_learning_rates(opts, tf.constant(0.5))
    optimizers.scale_learning_rates(opts, 1.0)
    np.testing.assert_allclose([float(o.learning_rate) for o in opts], [5e-4, 0.25], rtol=1e-6)


@pytest.mark.parametrize("updates", [1, 3])
def test_with_initial_rate_switches_after_exactly_that_many_updates(updates):
    var = keras.Variable(np.zeros(2, np.float32))
    opt = optimizers.with_initial_rate(keras.optimizers.SGD(0.1, momentum=0.5), 0.01,
                                       updates)
    assert isinstance(opt, keras.optimizers.SGD) and float(opt.momentum) == 0.5
    opt.build([var])
    rates = []
    for _ in range(updates + 2):
        rates.append(float(opt.learning_rate))
        opt.apply([tf.ones(2)], [var])
    np.testing.assert_allclose(rates, [0.01] * updates + [0.1, 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="updates=0"):
        optimizers.with_initial_rate(keras.optimizers.SGD(0.1), 0.01, 0)


def test_linear_decay_updates_follow_the_model_step_down_to_zero():
    """SGD on L = w^2 / 2 (gradient w) with rate r (1 - s / S) at model step s:
    w_{s+1} = w_s (1 - r (1 - s / S)), and no update once s >= S."""
    rate, steps = 0.2, 4
    step = keras.Variable(0, dtype="int64")
    opt = keras.optimizers.SGD(optimizers.decayed_rate(rate, "linear", step, steps))
    w = keras.Variable(np.float32(3.0))
    want = 3.0
    for s in range(steps + 2):
        opt.apply([tf.convert_to_tensor(w)], [w])   # grad of w^2/2 is w
        want *= 1 - rate * max(0.0, 1 - s / steps)
        step.assign(s + 1)
        np.testing.assert_allclose(float(w.numpy()), want, rtol=1e-6)
    assert float(opt.learning_rate) == 0.0
    # "none" keeps the optimizer's constant rate.
    assert optimizers.decayed_rate(rate, "none", step, steps) == rate
    with pytest.raises(ValueError, match="accepted: none, linear"):
        optimizers.decayed_rate(rate, "cosine", step, steps)


def _adam_reference(w, grads, lr, b1, b2, eps):
    """Adam's update (Kingma & Ba, Algorithm 1, with the step-size form of its section 2)
    in float64 numpy."""
    w = w.astype(np.float64)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return w


@pytest.mark.parametrize("fused", [True, False])
def test_fused_adam_follows_adam_and_uses_one_op_per_variable(fused, monkeypatch):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5, 3)).astype("float32")
    grads = [rng.normal(size=(5, 3)).astype("float32") for _ in range(5)]
    monkeypatch.setattr(optimizers.FusedAdam, "fused", fused)
    opt = optimizers.make("adam", learning_rate=1e-2, beta1=0.5, beta2=0.9)
    assert isinstance(opt, optimizers.FusedAdam)
    w = keras.Variable(w0.copy())
    opt.build([w])

    @tf.function
    def step(g):
        opt.apply([g], [w])

    for g in grads:
        step(tf.constant(g))
    np.testing.assert_allclose(w.numpy(), _adam_reference(w0, grads, 1e-2, 0.5, 0.9, 1e-7),
                               rtol=1e-6, atol=1e-6)
    assert int(opt.iterations) == len(grads)
    graph = step.get_concrete_function(tf.constant(grads[0])).graph
    fused_ops = [op for op in graph.get_operations() if op.type == "ResourceApplyAdam"]
    assert len(fused_ops) == (1 if fused else 0)


def test_the_training_step_updates_every_variable_with_the_fused_op():
    """What `train.py` runs takes the fused path (one op per variable of both players),
    not Keras's fallback: a check that the condition for it holds inside a real step."""
    from tests import helpers
    from tfgan_suite import training

    data = helpers.tiny_points()
    cfg = training.fit_to_data(training.resolve_config(
        dict(variant="nsgan", dataset="ring8", width=8, batch_size=16)), data)
    model = training.build_model(cfg, data)
    assert isinstance(model.d_optimizer, optimizers.FusedAdam)
    graph = tf.function(model.train_step).get_concrete_function(
        tf.TensorSpec([16, 2], tf.float32)).graph
    fused_ops = [op for op in graph.get_operations() if op.type == "ResourceApplyAdam"]
    variables = (len(model.generator.trainable_variables)
                 + len(model.discriminator.trainable_variables))
    assert len(fused_ops) == variables
