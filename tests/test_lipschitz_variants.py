"""wgan, wgan_gp, lsgan, hinge and dragan train a few steps with XLA off and on."""

import numpy as np
import pytest

from tests import helpers
from tfgan_suite import training, variants
from tfgan_suite.data import make_dataset

MINE = ["wgan", "wgan_gp", "lsgan", "hinge", "dragan"]
LOG_KEYS = {
    "wgan": {"d_loss", "g_loss", "wasserstein", "critic_steps"},
    "wgan_gp": {"d_loss", "g_loss", "wasserstein", "gradient_penalty", "grad_norm"},
    "dragan": {"d_loss", "g_loss", "gradient_penalty", "grad_norm", "d_real", "d_fake"},
    "lsgan": {"d_loss", "g_loss", "d_real", "d_fake"},
    "hinge": {"d_loss", "g_loss", "d_real", "d_fake"},
}


@pytest.mark.parametrize("jit", ["false", "true"])
@pytest.mark.parametrize("name", MINE)
def test_variant_trains_with_and_without_xla(name, jit):
    data = helpers.tiny_points()
    cfg = training.resolve_config(dict(variant=name, width=8, batch_size=8, d_steps=1, seed=2,
                                       jit_compile=jit, export=False))
    model = training.build_model(training.fit_to_data(cfg, data), data)
    assert model.jit_compile == (jit == "true")
    ds = make_dataset(data, batch_size=8, batches_per_step=model.batches_per_step, seed=2)
    history = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert LOG_KEYS[name] <= set(logs), logs
    assert all(np.isfinite(v) for v in logs.values()), logs
    expected_d = 200 if name == "wgan" else 2  # wgan: the early 100-update bursts
    assert int(model.d_optimizer.iterations.numpy()) == expected_d
    assert int(model.step.numpy()) == 2


def _points_model(name, **overrides):
    data = helpers.tiny_points()
    settings = dict(variant=name, width=8, batch_size=8, seed=1, export=False,
                    jit_compile="false", **overrides)
    cfg = training.fit_to_data(training.resolve_config(settings), data)
    return cfg, data, training.build_model(cfg, data)


def _one_step(model, cfg, data):
    ds = make_dataset(data, batch_size=cfg.batch_size, batches_per_step=model.batches_per_step,
                      seed=cfg.seed)
    return {k: v[-1] for k, v in model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0,
                                           shuffle=False).history.items()}


def test_wgan_gp_model_follows_the_papers_algorithm():
    """Gulrajani et al. 2017, Algorithm 1: n_critic = 5, Adam(alpha 1e-4, beta1 0.5,
    beta2 0.9); section 4: layer norm, not batch norm, in the critic. (lambda = 10 is not
    observable from the step's logs without restating the penalty; test_penalties checks
    the penalty's formula and that the weight is applied once.)"""
    import keras

    cfg, data, model = _points_model("wgan_gp")
    for optimizer in (model.g_optimizer, model.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        np.testing.assert_allclose([float(optimizer.learning_rate), optimizer.beta_1,
                                    optimizer.beta_2], [1e-4, 0.5, 0.9], rtol=1e-6)
    layers = model.discriminator.layers
    assert any(isinstance(l, keras.layers.LayerNormalization) for l in layers)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in layers)
    _one_step(model, cfg, data)
    assert int(model.d_optimizer.iterations.numpy()) == 5


def test_wgan_model_clips_and_bursts_as_the_paper():
    """Arjovsky et al. 2017, Algorithm 1: c = 0.01 and n_critic = 5, with 100 critic
    updates for the first 25 generator updates (their code's schedule)."""
    cfg, data, model = _points_model("wgan")
    assert [model.batches_per_step(k) for k in (0, 24, 25, 499, 500, 501)] == [
        100, 100, 5, 5, 100, 5]
    _one_step(model, cfg, data)
    assert int(model.d_optimizer.iterations.numpy()) == 100
    assert max(float(np.max(np.abs(w.numpy())))
               for w in model.discriminator.trainable_variables) <= 0.01


def test_lsgan_hinge_and_dragan_models_use_their_papers_losses():
    """Each built model's loss pair on fixed logits, against the papers' formulas by hand."""
    from tfgan_suite import losses
    import tensorflow as tf

    real, fake = tf.constant([0.5, 2.0]), tf.constant([-1.0, 0.2])
    want = {
        # Mao et al. 2017, eq. 9 (a=0, b=c=1): D 1/2 E(D(x)-1)^2 + 1/2 E D(G(z))^2.
        "lsgan": (0.5 * (0.25 + 1.0) / 2 + 0.5 * (1.0 + 0.04) / 2,
                  0.5 * (4.0 + 0.64) / 2),
        # Lim & Ye 2017: E relu(1 - D(x)) + E relu(1 + D(G(z))); G: -E D(G(z)).
        "hinge": ((0.5 + 0.0) / 2 + (0.0 + 1.2) / 2, 0.4),
        # Kodali et al. 2017 train the non-saturating game: G -E log sigmoid(D(G(z))).
        "dragan": (None, -np.mean(np.log(1 / (1 + np.exp(-np.array([-1.0, 0.2])))))),
    }
    for name, (d_want, g_want) in want.items():
        _, _, model = _points_model(name)
        d_loss, g_loss = losses.get(model.params.loss)
        if d_want is not None:
            np.testing.assert_allclose(float(d_loss(real, fake)), d_want, rtol=1e-6,
                                       err_msg=name)
        np.testing.assert_allclose(float(g_loss(fake)), g_want, rtol=1e-6, err_msg=name)
    assert variants.get("lsgan").model is variants.get("gan").model  # reuses the GAN step
    assert variants.get("dragan").model is variants.get("wgan_gp").model


def test_bad_lipschitz_settings_are_refused():
    from tfgan_suite.config import ConfigError

    with pytest.raises(ConfigError, match="clip_value"):
        training.resolve_config({"variant": "wgan", "clip_value": 0.0})
    with pytest.raises(ConfigError, match="gp_weight"):
        training.resolve_config({"variant": "wgan_gp", "gp_weight": -1.0})
    with pytest.raises(ConfigError, match="penalty"):
        training.resolve_config({"variant": "wgan_gp", "penalty": "r1"})


def test_wgan_gp_uses_toy_settings_on_2d_mixtures_unless_told_otherwise():
    ring = training.resolve_config({"variant": "wgan_gp", "dataset": "ring8"})
    assert (ring.gp_weight, ring.g_lr, ring.d_lr, ring.d_norm) == (1.0, 1e-3, 1e-3, "none")
    assert (ring.g_beta1, ring.g_beta2, ring.d_steps) == (0.5, 0.9, 5)  # the rest: the paper's
    told = training.resolve_config({"variant": "wgan_gp", "dataset": "ring8", "gp_weight": 10.0})
    assert told.gp_weight == 10.0
    images = training.resolve_config({"variant": "wgan_gp", "dataset": "mnist"})
    assert (images.gp_weight, images.g_lr, images.d_norm) == (10.0, 1e-4, "layer")
