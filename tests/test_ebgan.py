"""`ebgan`: the step's losses, auto-encoder pretraining, exact resume across it, XLA."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tests.test_training import all_state, cfg_for
from tfgan_suite import config as config_lib
from tfgan_suite import training
from tfgan_suite.data import make_dataset
from tfgan_suite.nets import autoencoder


def build(**overrides):
    data = helpers.tiny_images(n=16)
    settings = dict(variant="ebgan", width=8, latent_dim=8, batch_size=8, seed=5,
                    export=False)
    settings.update(overrides)
    cfg = training.fit_to_data(training.resolve_config(settings), data)
    keras.utils.set_random_seed(cfg.seed)
    return cfg, data, training.build_model(cfg, data)


def build_points(**overrides):
    """ebgan on 2-D points: the MLP generator and auto-encoder (numpy-checkable)."""
    data = helpers.tiny_points()
    settings = dict(variant="ebgan", architecture="mlp", width=4, latent_dim=3,
                    began_hidden=3, batch_size=8, seed=5, export=False, jit_compile="false")
    settings.update(overrides)
    cfg = training.fit_to_data(training.resolve_config(settings), data)
    keras.utils.set_random_seed(cfg.seed)
    return cfg, data, training.build_model(cfg, data)


def _np_dense_stack(model, names, x, last_linear=True):
    """Dense layers `names` of `model` in order, LeakyReLU(0.2) after all but the last."""
    for i, name in enumerate(names):
        layer = model.get_layer(name)
        x = x @ layer.kernel.numpy() + layer.bias.numpy()
        if i < len(names) - 1 or not last_linear:
            x = np.where(x > 0, x, 0.2 * x)
    return x


def numpy_auto_encoder(d, x):
    """(codes S, energies ||Dec(Enc(x)) - x||^2 / 2) of the points auto-encoder as
    `tfgan_suite.nets.autoencoder.mlp_autoencoder` documents it."""
    codes = _np_dense_stack(d.encoder, ["enc_hidden1", "enc_hidden2", "enc_code"], x)
    recon = _np_dense_stack(d.decoder, ["dec_hidden1", "dec_hidden2", "dec_output"], codes)
    return codes, np.mean((recon - x) ** 2, axis=1)


def numpy_generator(g, z):
    """Dense(2w) -> ReLU -> Dense(2w) -> ReLU -> Dense(2) (`tfgan_suite.nets.mlp`)."""
    for name in ("hidden1", "hidden2"):
        layer = g.get_layer(name)
        z = np.maximum(z @ layer.kernel.numpy() + layer.bias.numpy(), 0.0)
    layer = g.get_layer("to_points")
    return z @ layer.kernel.numpy() + layer.bias.numpy()


def numpy_pull_away(s):
    """Zhao et al. 2017, eq. 6: mean over i != j of cos^2(S_i, S_j)."""
    unit = s / np.linalg.norm(s, axis=1, keepdims=True)
    cos2 = (unit @ unit.T) ** 2
    n = len(s)
    return (cos2.sum() - np.trace(cos2)) / (n * (n - 1))


def test_step_energies_and_losses_match_numpy():
    """One adversarial step against numpy (Zhao et al. 2017, eqs. 2-4 and 6): the energies,
    L_D = E[D(x)] + E[max(0, m - D(G(z)))] with D before its update, and L_G = E[D(G(z))] +
    lambda_PT f_PT(S) with D after its update and G before. The margin is set between the
    fake energies, so the hinge is on for some fakes and off for others. z is the step's own
    draw (the model's stream: draw 0 for D's batch, draw 1 for G's)."""
    cfg, data, model = build_points(pt_weight=0.3)
    rng = np.random.default_rng(1)
    for v in model.generator.weights + model.discriminator.weights:   # known weights
        v.assign(rng.normal(0, 0.7, v.shape).astype(np.float32))
    model._draws = 0
    z_d, z_g = model.latent(cfg.batch_size).numpy(), model.latent(cfg.batch_size).numpy()
    model._draws = 0
    real = data.x[:cfg.batch_size]
    fake_d, fake_g = numpy_generator(model.generator, z_d), numpy_generator(model.generator,
                                                                             z_g)
    _, e_real = numpy_auto_encoder(model.discriminator, real)
    _, e_fake = numpy_auto_encoder(model.discriminator, fake_d)
    margin = float(np.median(e_fake))
    model.params = dataclasses.replace(model.params, ebgan_margin=margin)
    active = e_fake < margin
    assert 0 < active.sum() < len(active)   # both branches of the hinge are exercised
    logs = {k: float(v) for k, v in model.train_step(tf.constant(real)).items()}
    codes, e_fake_g = numpy_auto_encoder(model.discriminator, fake_g)   # D after its update
    f_pt = numpy_pull_away(codes)
    want = {"energy_real": e_real.mean(), "energy_fake": e_fake.mean(),
            "d_loss": e_real.mean() + np.mean(np.maximum(0.0, margin - e_fake)),
            "hinge_active": active.mean(), "pull_away": f_pt,
            "g_loss": e_fake_g.mean() + 0.3 * f_pt, "pretraining": 0.0}
    for key, value in want.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-4, atol=1e-7, err_msg=key)


def test_resume_across_the_end_of_pretraining_reproduces_an_uninterrupted_run(tmp_path):
    data = helpers.tiny_images(n=20)
    # Steps 0-1 pretrain the auto-encoder, 2-5 are adversarial; the split run stops at 3.
    extra = dict(variant="ebgan", latent_dim=8, ebgan_pretrain_steps=2, sample_every=100)
    straight = training.train(cfg_for(tmp_path, "straight", **extra), data=data, verbose=0)
    tf.keras.backend.clear_session()
    first = training.train(cfg_for(tmp_path, "split", steps=3, **extra), data=data, verbose=0)
    # Pretraining left G and its optimizer alone: 3 D updates, 1 G update.
    assert int(first.model.d_optimizer.iterations.numpy()) == 3
    assert int(first.model.g_optimizer.iterations.numpy()) == 1
    tf.keras.backend.clear_session()
    resumed = training.train(cfg_for(tmp_path, "split", **extra), data=data, verbose=0)
    assert resumed.step == 6
    assert int(resumed.model.g_optimizer.iterations.numpy()) == 4
    for a, b in zip(all_state(resumed.model), all_state(straight.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_pretraining_updates_only_the_auto_encoder():
    cfg, data, model = build(ebgan_pretrain_steps=2)
    g_before = [v.numpy().copy() for v in model.generator.weights]
    d_before = [v.numpy().copy() for v in model.discriminator.trainable_weights]
    ds = make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)
    history = model.fit(ds, steps_per_epoch=1, epochs=2, verbose=0, shuffle=False)
    assert history.history["pretraining"] == [1.0, 1.0]
    # D's pretraining loss is the real energy alone.
    np.testing.assert_allclose(history.history["d_loss"], history.history["energy_real"])
    for a, v in zip(g_before, model.generator.weights):
        np.testing.assert_array_equal(a, v.numpy())
    assert all(not np.array_equal(a, v.numpy())
               for a, v in zip(d_before, model.discriminator.trainable_weights))
    assert int(model.g_optimizer.iterations.numpy()) == 0


def test_xla_and_eager_runs_agree_over_several_steps():
    """Four steps under XLA and without, compared step by step and in the final weights.

    XLA draws other z than the TF kernels for the same stateless seed, so G is made
    independent of z: its first layer is dead (zero kernel, bias -1: ReLU outputs 0 and
    passes no gradient, so it stays dead) and G(z) is a learned constant (the second
    layer's bias and the last layer). Everything else
    (both players' updates, the hinge, the energies) runs as usual; the pull-away term of
    identical fakes is 1 (and gives G no gradient)."""
    runs = {}
    for jit in ("false", "true"):
        cfg, data, model = build_points(jit_compile=jit)
        assert model.jit_compile == (jit == "true")
        first = model.generator.get_layer("hidden1")
        first.kernel.assign(np.zeros(first.kernel.shape, np.float32))
        first.bias.assign(-np.ones(first.bias.shape, np.float32))
        second = model.generator.get_layer("hidden2")
        second.bias.assign(np.full(second.bias.shape, 0.5, np.float32))   # a live constant
        players = model.generator.weights + model.discriminator.weights
        start = [v.numpy().copy() for v in players]
        ds = make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)
        history = model.fit(ds, steps_per_epoch=1, epochs=4, verbose=0, shuffle=False).history
        assert int(model.step.numpy()) == 4
        weights = [v.numpy() for v in players]
        # The run did train: G's live layers and every D layer moved.
        moved = {v.path for v, a, b in zip(players, start, weights) if not np.array_equal(a, b)}
        assert {v.path for v in model.discriminator.trainable_weights} <= moved
        assert {v.path for v in model.generator.get_layer("to_points").weights} <= moved
        assert model.generator.get_layer("hidden2").bias.path in moved
        runs[jit] = history, weights
    (eager, eager_w), (xla, xla_w) = runs["false"], runs["true"]
    for key in ("d_loss", "g_loss", "energy_real", "energy_fake", "pull_away"):
        assert len(eager[key]) == 4 and np.all(np.isfinite(eager[key]))
        np.testing.assert_allclose(xla[key], eager[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert len(set(eager["d_loss"])) == 4   # four different steps, not one repeated
    for a, b in zip(xla_w, eager_w, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("architecture, shape", [
    ("dcgan", (28, 28, 1)), ("dcgan", (32, 32, 3)), ("dcgan", (64, 64, 3)),
    ("mlp", (2,)), ("mlp", (28, 28, 1))])
def test_auto_encoders(architecture, shape):
    g, d = autoencoder.build_players(architecture, data_shape=shape, latent_dim=4, width=4,
                                     hidden=5, norm="batch")
    x = g(tf.random.normal([3, 4], seed=1))
    assert tuple(x.shape) == (3, *shape)
    codes, recon = d.reconstruct(x, training=True)
    assert tuple(recon.shape) == (3, *shape) and recon.dtype == tf.float32
    if architecture == "dcgan":  # S = the encoder's last map: side / 2^b, 2^(b-1) width
        side = {28: 7, 32: 4, 64: 4}[shape[0]]
        channels = {28: 8, 32: 16, 64: 32}[shape[0]]
        assert tuple(codes.shape) == (3, side, side, channels)
    else:
        assert tuple(codes.shape) == (3, 5)
    paths = [v.path for v in g.weights + d.weights]
    assert len(paths) == len(set(paths)), "variable paths of G and D collide"


@pytest.mark.parametrize("variant", ["ebgan", "began"])
@pytest.mark.parametrize("setting", [{"instance_noise": 0.1}, {"d_spectral_norm": True}])
def test_classifier_options_are_refused(variant, setting):
    data = helpers.tiny_images(n=16)
    cfg = training.fit_to_data(training.resolve_config(dict(variant=variant, **setting)), data)
    with pytest.raises(config_lib.ConfigError, match=next(iter(setting))):
        training.build_model(cfg, data)
