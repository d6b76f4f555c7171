"""PacGAN packing (`--pack=M`): layout, shapes, refusals and one packed step by hand."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import config as config_lib
from tfgan_suite import packing, training
from tfgan_suite.variants.gan import GAN


def test_points_are_joined_along_features_in_batch_order():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)          # sample i = (2i, 2i+1)
    got = packing.pack_samples(tf.constant(x), 3).numpy()
    want = np.stack([np.concatenate(x[0:3]), np.concatenate(x[3:6])])
    np.testing.assert_array_equal(got, want)


def test_images_are_joined_along_channels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 2)).astype(np.float32)  # 4 images, 2 channels
    got = packing.pack_samples(tf.constant(x), 2).numpy()
    assert got.shape == (2, 3, 5, 4)
    for j in range(2):  # packed image j: channels of image 2j, then of image 2j+1
        np.testing.assert_array_equal(got[j], np.concatenate([x[2 * j], x[2 * j + 1]], -1))


def test_pack_1_is_the_input_itself():
    """--pack=1 is bit-for-bit the unpacked step: D is handed the very same tensor."""
    x = tf.constant(np.ones((4, 2), np.float32))
    assert packing.pack_samples(x, 1) is x
    assert packing.packed_shape((28, 28, 1), 3) == (28, 28, 3)


@pytest.mark.parametrize("variant, data, shape", [
    ("nsgan", "points", (8,)),
    ("dcgan", "image", (28, 28, 4)),
    ("wgan_gp", "points", (8,)),
])
def test_the_discriminator_takes_packed_examples(variant, data, shape):
    data = helpers.tiny_points() if data == "points" else helpers.tiny_images()
    cfg = training.resolve_config(dict(variant=variant, width=4, batch_size=8, pack=4))
    model = training.build_model(cfg, data)
    assert tuple(model.discriminator.inputs[0].shape[1:]) == shape


def test_packing_is_refused_where_d_does_not_judge_samples_alone():
    cfg = training.resolve_config(dict(variant="cgan", pack=2))
    with pytest.raises(config_lib.ConfigError, match="--pack=2 does not apply to --variant=cgan"):
        training.fit_to_data(cfg, helpers.tiny_points())


def test_a_batch_that_does_not_split_into_packs_is_refused(tmp_path):
    cfg = training.resolve_config(dict(variant="nsgan", batch_size=10, pack=4,
                                       run_dir=str(tmp_path / "r"), export=False))
    with pytest.raises(config_lib.ConfigError, match="multiple of --pack=4"):
        training.train(cfg, data=helpers.tiny_points(), verbose=0)
    assert not (tmp_path / "r").exists()


W0 = np.array([0.3, -0.2, 0.1, 0.4], np.float32)   # D on a packed pair: 4 features
C0 = 0.1
B0 = np.array([0.5, 0.25], np.float32)
LR = 0.5
X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5], [0.2, -0.3]], np.float32)


def test_one_packed_minimax_step_in_closed_form():
    """M = 2, G(z) = b (zero kernel), D(r) = w.r + c on packed pairs r, plain SGD.

    D step on the packed real rows R_j = [x_2j, x_2j+1] and the packed fake [b, b]:
        s_j = sigmoid(-(w.R_j + c)), t = sigmoid(w.[b, b] + c)
        grad_w = -mean_j(s_j R_j) + t [b, b],  grad_c = -mean_j(s_j) + t
    G step (minimax): g = -softplus(w'.[b, b] + c'), so
        grad_b = -sigmoid(w'.[b, b] + c') (w'[:2] + w'[2:])   (b appears in both halves)
    """
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(B0))])
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Constant(W0[:, None]),
        bias_initializer=keras.initializers.Constant(C0))])
    model = GAN(g, d, latent_dim=3, loss="minimax", pack=2)
    model.compile(d_optimizer=keras.optimizers.SGD(LR), g_optimizer=keras.optimizers.SGD(LR))
    model.fit(tf.data.Dataset.from_tensors(X).repeat(), steps_per_epoch=1, epochs=1,
              verbose=0)

    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    w, c, b = W0.astype(np.float64), float(C0), B0.astype(np.float64)
    rows = X.astype(np.float64).reshape(2, 4)
    bb = np.concatenate([b, b])
    s = sig(-(rows @ w + c))
    t = sig(w @ bb + c)
    w2 = w - LR * (-(s[:, None] * rows).mean(0) + t * bb)
    c2 = c - LR * (-s.mean() + t)
    b2 = b - LR * (-sig(w2 @ bb + c2) * (w2[:2] + w2[2:]))

    d_kernel, d_bias = d.layers[-1].get_weights()
    np.testing.assert_allclose(d_kernel[:, 0], w2, rtol=1e-5)
    np.testing.assert_allclose(d_bias[0], c2, rtol=1e-5)
    np.testing.assert_allclose(g.layers[-1].get_weights()[1], b2, rtol=1e-5)


def _packable():
    from tfgan_suite import variants

    return sorted(n for n, v in variants.REGISTRY.items() if v.model.packable)


@pytest.mark.parametrize("name", _packable())
def test_every_packable_variant_trains_packed(name, tmp_path):
    cfg = training.resolve_config(dict(variant=name, width=4, batch_size=8, steps=2, pack=2,
                                       d_steps=1, run_dir=str(tmp_path / name),
                                       export=False))
    if name == "wgan":
        cfg = cfg.replace(wgan_critic_schedule=False)
    result = training.train(cfg, data=helpers.tiny_points(), verbose=0)
    assert result.step == 2
    d = result.model.discriminator
    assert tuple(getattr(d, "features", d).inputs[0].shape[1:]) == (4,)  # mcgan: Phi's input
    assert all(np.all(np.isfinite(v.numpy())) for v in result.model.discriminator.weights)
