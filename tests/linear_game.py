"""A GAN whose first training step can be computed by hand.

G outputs a constant b (its kernel starts at zero), D is linear: D(x) = w.x + c. With plain
SGD one `gan` step (minimax loss, d_steps=1) is, in closed form:

    D step:  s_i = sigmoid(-(w.x_i + c)),  t = sigmoid(w.b + c)
             grad_w = -mean_i(s_i x_i) + t b,   grad_c = -mean_i(s_i) + t
             w' = w - lr grad_w,  c' = c - lr grad_c
    G step:  g_loss = -softplus(w'.b + c'),  grad_b = -sigmoid(w'.b + c') w'
             b' = b - lr grad_b

Used in-process and, under MirroredStrategy, in a subprocess (the gan_closed_form case of tests/replica_runner.py).
"""

import keras
import numpy as np

W0 = np.array([0.3, -0.2], np.float32)
C0 = 0.1
B0 = np.array([0.5, 0.25], np.float32)
LR = 0.5


def build(model_cls, latent_dim=3, **kwargs):
    """The linear game as a `model_cls` (a GANModel), compiled with SGD(LR); `kwargs` go to
    its constructor (e.g. the generator EMA's `ema_decay`)."""
    g = keras.Sequential([keras.Input((latent_dim,)),
                          keras.layers.Dense(2, kernel_initializer="zeros",
                                             bias_initializer=keras.initializers.Constant(B0))])
    d = keras.Sequential([keras.Input((2,)),
                          keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(W0[:, None]),
                                             bias_initializer=keras.initializers.Constant(C0))])
    model = model_cls(g, d, latent_dim=latent_dim, loss="minimax", **kwargs)
    model.compile(d_optimizer=keras.optimizers.SGD(LR), g_optimizer=keras.optimizers.SGD(LR))
    return model


def expected_after_one_step(x):
    x = np.asarray(x, np.float64)
    w, c, b = W0.astype(np.float64), float(C0), B0.astype(np.float64)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    s = sig(-(x @ w + c))
    t = sig(w @ b + c)
    grad_w = -(s[:, None] * x).mean(0) + t * b
    grad_c = -s.mean() + t
    w2, c2 = w - LR * grad_w, c - LR * grad_c
    grad_b = -sig(w2 @ b + c2) * w2
    return dict(w=w2, c=c2, b=b - LR * grad_b)


def weights(model):
    d_kernel, d_bias = model.discriminator.layers[-1].get_weights()
    _, g_bias = model.generator.layers[-1].get_weights()
    return dict(w=d_kernel[:, 0], c=float(d_bias[0]), b=g_bias)
