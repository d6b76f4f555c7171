"""Every registered variant trains; the classic GAN step matches its closed form."""


import keras
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


# Descent check: learning rates (d_lr, g_lr) and settings per variant. SGD without momentum
# moves theta by -lr * grad, so the loss on the same inputs must change by
# grad . delta = -||delta||^2 / lr to first order; a wrong-signed gradient gives +||delta||^2
# / lr instead. The rates are small enough for the second-order term to stay below the
# tolerance at width 8 (measured: most variants agree to 0.5%).
DESCENT = {
    # The penalty's second derivative is large: a 100x smaller critic rate.
    "dragan": dict(d_lr=1e-5),
    # Layer norm over 16 near-equal features at width 8 makes the penalty's gradient huge
    # and non-linear in the weights (||grad||^2 ~ 1e8); without it the game is the same.
    "wgan_gp": dict(d_lr=1e-4, d_norm="none"),
    # Weights clipped to [-0.01, 0.01]: G's gradient through the clipped critic is ~1e-5,
    # so G needs a large rate for a measurable change. Always d_steps critic updates.
    "wgan": dict(g_lr=10.0, wgan_critic_schedule=False),
    # v projected on the unit ball and Phi clipped after each critic update.
    "mcgan": dict(d_lr=1e-4, g_lr=1.0),
    # A fixed rate: the plateau schedule would change it between the calls compared.
    "began": dict(began_lr_schedule="none"),
}
# Clipping after the step: a weight pushed out of [-c, c] moves less than lr * |grad|, so
# the loss falls by a little more than ||delta||^2 / lr (wgan's and mcgan's critics: ~6%
# measured; mcgan's v is also projected on its ball).
DESCENT_RTOL = {"wgan": 0.2, "mcgan": 0.2}


@pytest.mark.parametrize("name", sorted(variants.REGISTRY))
def test_every_variant_descends_its_own_losses_to_first_order(name, seed=0):
    """One SGD step of each player lowers that player's loss on the same batch and the same
    random draws by ||delta theta||^2 / lr (first order), as gradient descent must.

    The step is run as training runs it (`fit`, the variant's own train function); the loss
    after the update comes from a second call at the same step counter (so the same z,
    interpolates and noise) on the same batch, with the weights restored to: the updated D
    and the old G (D's loss), or the updated D and G with D's rate set to 0 (G's loss, which
    the step computes after D's update; began: the old D). Logged losses are those computed inside the tapes.
    """
    if "points" not in variants.get(name).model.data_kinds:
        pytest.skip(f"{name} trains on {variants.get(name).model.data_kinds} data "
                    "(its policy-gradient step is checked in its own file)")
    data = helpers.tiny_points()
    settings = dict(optimizer="sgd", d_lr=1e-3, g_lr=1e-3, d_beta1=0.0, g_beta1=0.0,
                    d_steps=1, jit_compile="false")
    settings.update(DESCENT.get(name, {}))
    cfg = training.fit_to_data(small_config(name, **settings), data)
    keras.utils.set_random_seed(seed)  # initialisation independent of the tests run before
    model = training.build_model(cfg, data)
    x = data.x[:cfg.batch_size]
    element = (x, data.y[:cfg.batch_size]) if model.conditional else x
    ds = tf.data.Dataset.from_tensors(element).repeat()

    def step():
        history = model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
        return {k: v[-1] for k, v in history.history.items()}

    step()  # away from the initialisation (wgan, mcgan: weights now inside the clip box)
    variables = model.variables
    index = {id(v): i for i, v in enumerate(variables)}
    d_vars = model.discriminator.trainable_variables
    g_vars = getattr(model, "g_variables", model.generator.trainable_variables)  # bigan: G+E
    before = [v.numpy().copy() for v in variables]
    first = step()
    after = [v.numpy().copy() for v in variables]

    def restore(updated):
        for v, value in zip(variables, before):   # the step counter and state included
            v.assign(value)
        for v in updated:
            v.assign(after[index[id(v)]])

    def moved(player):
        return sum(float(np.sum((after[index[id(v)]] - before[index[id(v)]]) ** 2))
                   for v in player)

    restore(d_vars)
    d_change = step()["d_loss"] - first["d_loss"]
    # G's loss is taken after D's update, except in began, whose players update
    # simultaneously from one state (G's loss sees D before its update).
    restore(list(g_vars) if name == "began" else list(d_vars) + list(g_vars))
    model.d_optimizer.learning_rate.assign(0.0)
    g_change = step()["g_loss"] - first["g_loss"]
    rtol = DESCENT_RTOL.get(name, 0.05)
    for player, change, lr, loss in (("D", d_change, cfg.d_lr, first["d_loss"]),
                                     ("G", g_change, cfg.g_lr, first["g_loss"])):
        predicted = -moved(d_vars if player == "D" else g_vars) / lr
        # 100x float32's rounding of the loss (so <= 1% error): the check has teeth.
        assert -predicted > 100 * np.finfo(np.float32).eps * abs(loss), (name, player,
                                                                          predicted, loss)
        np.testing.assert_allclose(change, predicted, rtol=rtol, err_msg=f"{name} {player}")


def _gradient_cancels(cfg, player, variable):
    """The critic's output bias b gets no gradient from an IPM-type loss.

    E[D(G(z)) + b] - E[D(x) + b] does not depend on b (Wasserstein, McGAN's IPM), and the
    hinge loss gives b the gradient -1 + 1 = 0 while every |D| < 1 (true at the start,
    especially under spectral normalisation). Any other variable must move.
    """
    ipm_like = cfg.loss in ("wasserstein", "hinge") or cfg.variant == "mcgan"
    return (ipm_like and variable.path.endswith("bias")
            and "logits" in variable.path)


def test_built_models_play_the_papers_games_with_their_optimizers():
    """What the built models use, against the papers' numbers (not the defaults dicts)."""
    from tfgan_suite import losses

    logits = np.array([[-2.0], [0.0], [1.5]], np.float32)
    d_of_g = 1 / (1 + np.exp(-logits))
    data = helpers.tiny_points()
    for name, want in [
        # Goodfellow et al. 2014, eq. 1: G minimises log(1 - D(G(z))) (saturating).
        ("gan", np.mean(np.log(1 - d_of_g))),
        # Goodfellow et al. 2014, section 3: G maximises log D(G(z)) instead.
        ("nsgan", -np.mean(np.log(d_of_g)))]:
        model = training.build_model(training.fit_to_data(small_config(name), data), data)
        g_loss = losses.get(model.params.loss)[1](tf.constant(logits))
        np.testing.assert_allclose(float(g_loss), want, rtol=1e-5, err_msg=name)
    # Radford, Metz & Chintala 2016, section 4: Adam, learning rate 0.0002, beta1 0.5, z of
    # size 100 (beta2 is not given; Adam's 0.999 default is what their code used).
    images = helpers.tiny_images()
    dcgan = training.build_model(training.fit_to_data(training.resolve_config(
        {"variant": "dcgan", "width": 8}), images), images)
    for optimizer in (dcgan.g_optimizer, dcgan.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        np.testing.assert_allclose([float(optimizer.learning_rate), optimizer.beta_1,
                                    optimizer.beta_2], [2e-4, 0.5, 0.999], rtol=1e-6)
    assert dcgan.generator.inputs[0].shape[-1] == 100


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
