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


def test_paper_defaults():
    cfg = training.resolve_config
    gp = cfg({"variant": "wgan_gp"})
    assert (gp.loss, gp.penalty, gp.gp_weight, gp.d_steps, gp.d_norm, gp.optimizer, gp.g_lr,
            gp.d_lr, gp.g_beta1, gp.g_beta2, gp.d_beta1, gp.d_beta2) == (
        "wasserstein", "wgan_gp", 10.0, 5, "layer", "adam", 1e-4, 1e-4, 0.5, 0.9, 0.5, 0.9)
    dragan = cfg({"variant": "dragan"})
    assert (dragan.loss, dragan.penalty, dragan.gp_weight, dragan.d_norm) == (
        "non_saturating", "dragan", 10.0, "layer")
    assert cfg({"variant": "lsgan"}).loss == "least_squares"
    assert cfg({"variant": "hinge"}).loss == "hinge"
    wgan = cfg({"variant": "wgan"})
    assert (wgan.loss, wgan.clip_value, wgan.wgan_critic_schedule) == ("wasserstein", 0.01, True)
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
