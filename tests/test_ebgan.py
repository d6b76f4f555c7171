"""`ebgan`: the step's losses, auto-encoder pretraining, exact resume across it, XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tests.test_training import all_state, cfg_for
from tfgan_suite import config as config_lib
from tfgan_suite import energy, training
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


def test_first_step_energies_and_losses():
    cfg, data, model = build(ebgan_margin=10.0)   # far above any energy: hinge always on
    real = next(iter(make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)))
    # D is in training mode (batch statistics) in the step; so here.
    want_real = energy.mse_energy(real, model.discriminator(real, training=True))
    ds = make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)
    logs = {k: v[-1] for k, v in model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0,
                                            shuffle=False).history.items()}
    np.testing.assert_allclose(logs["energy_real"], float(tf.reduce_mean(want_real)),
                               rtol=1e-5)
    assert logs["pretraining"] == 0.0
    assert 0.0 <= logs["pull_away"] <= 1.0 and 0.0 <= logs["hinge_active"] <= 1.0
    # Every fake is below the margin: L_D = E[D(x)] + m - E[D(G(z))].
    assert logs["hinge_active"] == 1.0
    np.testing.assert_allclose(
        logs["d_loss"], logs["energy_real"] + 10.0 - logs["energy_fake"], rtol=1e-6)


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


def test_a_few_steps_with_xla():
    """XLA draws other z than the TF kernels for the same stateless seed, so the runs are
    compared through what does not depend on z: the first real energy."""
    first = {}
    for jit in ("false", "true"):
        cfg, data, model = build(jit_compile=jit, d_norm="none")
        assert model.jit_compile == (jit == "true")
        ds = make_dataset(data, batch_size=cfg.batch_size, seed=cfg.seed)
        history = model.fit(ds, steps_per_epoch=1, epochs=2, verbose=0, shuffle=False)
        assert all(np.all(np.isfinite(v)) for v in history.history.values())
        assert int(model.step.numpy()) == 2
        first[jit] = history.history["energy_real"][0]
    np.testing.assert_allclose(first["true"], first["false"], rtol=1e-5)


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
