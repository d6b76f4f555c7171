"""Every registered variant trains; the classic GAN step matches its closed form."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tests import helpers, linear_game
from tfgan_suite import training, variants
from tfgan_suite.variants.gan import GAN


def small_config(variant, **overrides):
    settings = dict(variant=variant, width=8, batch_size=8, steps=3, seed=1, export=False)
    settings.update(overrides)
    return training.resolve_config(settings)


def fit(model, data, cfg, steps):
    from tfgan_suite.data import make_dataset

    ds = make_dataset(data, batch_size=cfg.batch_size * cfg.d_steps, seed=cfg.seed,
                      with_labels=model.conditional)
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)


@pytest.mark.parametrize("name", sorted(variants.REGISTRY))
@pytest.mark.parametrize("kind", ["points", "image"])
def test_every_variant_updates_both_players(name, kind):
    if kind not in variants.get(name).model.data_kinds:
        pytest.skip(f"{name} trains on {variants.get(name).model.data_kinds} data "
                    "(tested in its own file)")
    data = helpers.tiny_points() if kind == "points" else helpers.tiny_images()
    cfg = training.fit_to_data(small_config(name, d_steps=2), data)
    model = training.build_model(cfg, data)
    before = {v.path: v.numpy().copy() for v in model.generator.trainable_variables
              + model.discriminator.trainable_variables}
    fit(model, data, cfg, steps=2)
    for player in (model.generator, model.discriminator):
        unchanged = [v.path for v in player.trainable_variables
                     if np.array_equal(before[v.path], v.numpy())
                     and not _gradient_cancels(cfg, player, v)]
        assert not unchanged, f"{name}: no update to {unchanged}"
    # D ran d_steps updates for every G update.
    assert int(model.g_optimizer.iterations.numpy()) == 2
    assert int(model.d_optimizer.iterations.numpy()) == 2 * cfg.d_steps
    assert int(model.step.numpy()) == 2


def _gradient_cancels(cfg, player, variable):
    """The critic's output bias b gets no gradient from an IPM-type loss.

    E[D(G(z)) + b] - E[D(x) + b] does not depend on b (Wasserstein, McGAN's IPM), and the
    hinge loss gives b the gradient -1 + 1 = 0 while every |D| < 1 (true at the start,
    especially under spectral normalisation). Any other variable must move.
    """
    ipm_like = cfg.loss in ("wasserstein", "hinge") or cfg.variant == "mcgan"
    return (ipm_like and variable.path.endswith("bias")
            and "logits" in variable.path)


def test_variant_defaults_follow_the_papers():
    assert variants.get("gan").defaults["loss"] == "minimax"
    assert variants.get("nsgan").defaults["loss"] == "non_saturating"
    dcgan = training.fit_to_data(training.resolve_config({"variant": "dcgan"}),
                                 helpers.tiny_images())
    assert (dcgan.architecture, dcgan.optimizer, dcgan.g_lr, dcgan.d_lr, dcgan.g_beta1,
            dcgan.d_beta1, dcgan.latent_dim) == ("dcgan", "adam", 2e-4, 2e-4, 0.5, 0.5, 100)


def test_architecture_defaults_per_data_kind_and_explicit_choice_is_kept():
    for name in ("gan", "nsgan"):
        cfg = training.resolve_config({"variant": name})
        assert training.fit_to_data(cfg, helpers.tiny_images()).architecture == "mlp"
        assert training.fit_to_data(cfg, helpers.tiny_points()).architecture == "mlp"
    cfg = training.resolve_config({"variant": "dcgan"})
    assert training.fit_to_data(cfg, helpers.tiny_points()).architecture == "mlp"
    explicit = training.resolve_config({"variant": "dcgan", "architecture": "dcgan"})
    assert training.fit_to_data(explicit, helpers.tiny_points()).architecture == "dcgan"


def test_user_settings_override_variant_defaults():
    cfg = training.resolve_config({"variant": "dcgan", "g_lr": 1e-3, "latent_dim": 16})
    assert (cfg.g_lr, cfg.d_lr, cfg.latent_dim) == (1e-3, 2e-4, 16)


def test_unknown_variant_lists_the_registry():
    known = ", ".join(sorted(list(variants.REGISTRY) + list(variants.ALIASES)))
    with pytest.raises(variants.UnknownVariantError) as err:
        variants.get("began_typo")
    assert str(err.value) == f"unknown variant 'began_typo'; accepted: {known}"
    assert {"gan", "nsgan", "dcgan"} <= set(known.split(", "))


def test_gan_step_matches_closed_form():
    model = linear_game.build(GAN)
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]], np.float32)
    model.fit(tf.data.Dataset.from_tensors(x).repeat(), steps_per_epoch=1, epochs=1,
              verbose=0, shuffle=False)
    expected = linear_game.expected_after_one_step(x)
    got = linear_game.weights(model)
    for key in ("w", "c", "b"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6)


def test_instance_noise_anneals_linearly():
    data = helpers.tiny_points()
    cfg = training.fit_to_data(small_config("nsgan", instance_noise=0.4,
                                            instance_noise_steps=10), data)
    model = training.build_model(cfg, data)
    for step, expected in [(0, 0.4), (5, 0.2), (10, 0.0), (20, 0.0)]:
        model.step.assign(step)
        np.testing.assert_allclose(float(model.instance_noise_std()), expected, atol=1e-7)
    # The noise itself has that standard deviation.
    model.step.assign(5)
    x = tf.zeros([20000, 2])
    np.testing.assert_allclose(float(tf.math.reduce_std(model.noisy(x))), 0.2, rtol=0.02)


def test_random_draws_differ_per_draw_and_step_but_repeat_for_same_state():
    data = helpers.tiny_points()
    cfg = training.fit_to_data(small_config("nsgan"), data)
    model = training.build_model(cfg, data)
    first, second = model.latent(4).numpy(), model.latent(4).numpy()
    assert not np.allclose(first, second)
    model._draws = 0
    np.testing.assert_array_equal(model.latent(4).numpy(), first)
    model._draws = 0
    model.step.assign(1)
    assert not np.allclose(model.latent(4).numpy(), first)
