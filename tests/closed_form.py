"""Tiny players whose first training step can be written down by hand (tests/test_single_step.py).

The shapes follow tests/linear_game.py: data in R^2, z in R^3, G(z) = z K + b with K = 0 at
the start (so every fake is b whatever z is), D linear, plain SGD with learning rate LR.
After the generator's update K is no longer 0: its gradient is sum_i z_i (dL/dx_i), so the
expected K needs the generator's z. Those draws are recomputed here from base.py's
documented stream: seed = [model seed, step * 4096 + k] for the k-th draw of the step
(`GANModel.next_seed`), N(0, I) by `tf.random.stateless_normal`.

Everything else here is numpy: the references never call the code under test.
"""

import keras
import numpy as np
import tensorflow as tf

LATENT = 3
LR = 0.5
W0 = np.array([0.3, -0.2])
C0 = 0.1
B0 = np.array([0.5, 0.25])
# Four real points; D(x) = W0.x + C0 on them is [0.4, -0.3, -0.4, 0.15].
X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]])

# Draws per step are numbered from 0 (base.py: `_DRAWS_PER_STEP`).
DRAWS_PER_STEP = 1 << 12


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def softplus(v):
    return np.log1p(np.exp(v))


def latent_draw(index, n, *, seed=0, step=0, dim=LATENT):
    """z of draw `index` of step `step`: N(0, I) [n, dim] from the stateless stream."""
    seeds = tf.constant([seed, step * DRAWS_PER_STEP + index], tf.int64)
    return tf.random.stateless_normal([n, dim], seed=seeds).numpy().astype(np.float64)


def dense(units, kernel, bias=None, name=None):
    """A Dense layer with the given initial kernel (and bias, or none)."""
    kernel = np.asarray(kernel, np.float32)
    return keras.layers.Dense(
        units, kernel_initializer=keras.initializers.Constant(kernel),
        use_bias=bias is not None, name=name,
        bias_initializer=keras.initializers.Constant(np.asarray(
            0.0 if bias is None else bias, np.float32)))


def generator(b=B0, kernel=None, latent_dim=LATENT):
    """G(z) = z K + b, K = 0 unless given."""
    kernel = np.zeros((latent_dim, len(b))) if kernel is None else kernel
    return keras.Sequential([keras.Input((latent_dim,)), dense(len(b), kernel, b)])


def linear_critic(w=W0, c=C0):
    """D(x) = w.x + c."""
    w = np.asarray(w)
    return keras.Sequential([keras.Input((len(w),)), dense(1, w[:, None], c)])


def compile_sgd(model, lr=LR):
    model.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr),
                  jit_compile=False)
    return model


def one_step(model, element):
    """One `fit` step on `element` (an array, or a tuple such as (x, y)); the last logs."""
    element = tf.nest.map_structure(
        lambda a: tf.constant(a, tf.float32 if np.asarray(a).dtype.kind == "f" else tf.int32),
        element)
    history = model.fit(tf.data.Dataset.from_tensors(element).repeat(), steps_per_epoch=1,
                        epochs=1, verbose=0, shuffle=False)
    assert int(model.step.numpy()) == 1
    return {k: v[-1] for k, v in history.history.items()}


def dense_weights(layer):
    """(kernel, bias) of a Dense layer as float64 arrays (bias None without one)."""
    values = [np.asarray(v, np.float64) for v in layer.get_weights()]
    return values[0], (values[1] if len(values) > 1 else None)


def assert_close(got, want, name, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=atol,
                               err_msg=name)
