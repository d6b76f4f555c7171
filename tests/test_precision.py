"""`--precision`: mixed-precision steps against float32, loss scaling, overflow, resume.

The reference everywhere is the same computation in float32 (a second code path: the
float32 policy builds the same weights from the same seed). One SGD step (momentum 0) moves
every weight by -lr x its gradient, so comparing the weight changes compares the gradients
each policy computed; a float16 gradient left scaled (or scaled twice) would be 2^15 times
too large and fail at once.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import callbacks as cbs
from tfgan_suite import config as config_lib
from tfgan_suite import penalties, precision, training

# Relative error ||delta_mixed - delta_float32|| / ||delta_float32|| allowed for one step's
# weight changes (SGD: the gradients), all variables together. bfloat16 keeps 8 significant
# bits, float16 11; measured on these nets (2026-12-02): 2.2-4.9 % for bfloat16 and
# 0.8-1.2 % for float16 (G's gradients, a mean of terms of both signs, are the least
# precise). A gradient left scaled, or unscaled twice, is off by a factor 2^15.
STEP_TOLERANCE = {"mixed_bfloat16": 0.12, "mixed_float16": 0.03}
# The float16 loss scale a step starts from: Keras's 2^15 by default. The gradient
# penalty's scaled inner gradient can overflow float16 at 2^15, and then the first D
# updates of a run are skipped while the scale halves (tested below); this test starts
# wgan_gp from a scale that fits, to compare a real update.
START_SCALE = {"wgan_gp": 2.0 ** 8}
# wgan_gp's critic without layer norm here: at initialisation the 2-D critic's hidden
# features are nearly constant across units, where layer norm's gradient is huge and
# sensitive to rounding (bfloat16 then gives a penalty of 62.6 for float32's 13.8; float16
# overflows even at scale 2^8). That is the norm's conditioning, not the loss scaling.
VARIANT_SETTINGS = {"wgan_gp": dict(d_norm="none")}


def points_cfg(variant, precision_name, tmp_path=None, name="run", **overrides):
    settings = dict(variant=variant, width=16, latent_dim=4, batch_size=32, steps=10,
                    precision=precision_name, optimizer="sgd", d_beta1=0.0, g_beta1=0.0,
                    d_lr=1e-3, g_lr=1e-3, d_steps=1, seed=3, export=False, log_every=1,
                    sample_every=100, checkpoint_every=100)
    if tmp_path is not None:
        settings["run_dir"] = str(tmp_path / name)
    settings.update(overrides)
    return training.resolve_config(settings)


def built(cfg, data):
    cfg = training.fit_to_data(cfg, data)
    keras.utils.set_random_seed(cfg.seed)
    return cfg, training.build_model(cfg, data)


def weights(model):
    return [v.numpy().copy() for v in model.generator.trainable_variables
            + model.discriminator.trainable_variables]


def one_step(variant, precision_name, data):
    """(initial weights, weight changes, logs) of one eager train_step."""
    cfg, model = built(points_cfg(variant, precision_name, **VARIANT_SETTINGS.get(variant, {})),
                       data)
    if precision_name == "mixed_float16" and variant in START_SCALE:
        for optimizer in (model.d_optimizer, model.g_optimizer):
            optimizer.dynamic_scale.assign(START_SCALE[variant])
    element = next(iter(model.make_dataset(cfg, data, 0)))
    before = weights(model)
    logs = {k: float(v) for k, v in model.train_step(element).items()}
    return before, [a - b for a, b in zip(weights(model), before)], logs


def relative_error(got, want):
    got = np.concatenate([g.ravel() for g in got])
    want = np.concatenate([w.ravel() for w in want])
    return np.linalg.norm(got - want) / np.linalg.norm(want)


# ------------------------------------------------------------------------------ policy


def test_policy_is_scoped_to_building_and_restored_after_an_error():
    data = helpers.tiny_points()
    _, model = built(points_cfg("nsgan", "mixed_float16"), data)
    assert keras.config.dtype_policy().name == "float32"
    hidden = model.discriminator.layers[1]
    assert (hidden.compute_dtype, hidden.variable_dtype) == ("float16", "float32")
    assert model.discriminator.layers[-1].compute_dtype == "float32"   # the logits
    assert model.generator.layers[-1].compute_dtype == "float32"       # the samples
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer is model.g_optimizer                       # not wrapped twice
    with pytest.raises(RuntimeError):
        with precision.policy_scope("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == "float32"


def test_precision_setting_is_checked_saved_and_refused_where_it_cannot_apply(tmp_path):
    with pytest.raises(config_lib.ConfigError, match=r"^--precision=float64 is not accepted; "
                       r"use one of: float32, mixed_bfloat16, mixed_float16$"):
        points_cfg("nsgan", "float64")
    from tfgan_suite.data import recsys

    tiny = recsys.simulate(num_users=20, num_items=30, num_interactions=300, min_per_user=5,
                           max_per_user=30, seed=0, name="tiny_recsys")
    cfg = training.resolve_config(dict(variant="irgan", precision="mixed_bfloat16"))
    with pytest.raises(config_lib.ConfigError, match="^--precision=mixed_bfloat16 does not "
                       "apply to --variant=irgan: it trains in float32 only"):
        training.fit_to_data(cfg, tiny)
    assert json.loads(points_cfg("nsgan", "mixed_float16").to_json())["precision"] == \
        "mixed_float16"


# --------------------------------------------------------------------- one step vs float32


@pytest.mark.parametrize("variant", ["nsgan", "wgan_gp",
                                     pytest.param("sngan", marks=pytest.mark.slow)])
def test_one_step_under_each_policy_is_close_to_float32(variant):
    data = helpers.tiny_points()
    init32, delta32, logs32 = one_step(variant, "float32", data)
    for name, tol in STEP_TOLERANCE.items():
        init, delta, logs = one_step(variant, name, data)
        for a, b in zip(init, init32):   # the same seed builds the same float32 weights
            np.testing.assert_array_equal(a, b)
        error = relative_error(delta, delta32)
        assert error < tol, f"{variant} {name}: relative error {error:.4f} >= {tol}"
        for key in logs32:
            np.testing.assert_allclose(logs[key], logs32[key], rtol=tol, atol=1e-3,
                                       err_msg=f"{variant} {name} {key}")
        scales = {k for k in logs if k.endswith("_loss_scale")}
        assert scales == ({"d_loss_scale", "g_loss_scale"} if name == "mixed_float16"
                          else set())


# ------------------------------------------------------------------- the gradient penalty


def critic(last_scale=1.0):
    """A critic whose hidden layers compute in the active policy; float32 logits."""
    keras.utils.set_random_seed(5)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(16, activation="tanh"),
                            keras.layers.Dense(16, activation="tanh"),
                            keras.layers.Dense(1, dtype="float32")])
    kernel, bias = net.layers[-1].get_weights()
    net.layers[-1].set_weights([kernel * last_scale, bias])
    return net


def test_gradient_penalty_under_float16_equals_float32():
    """Tolerance: 1e-2 relative on the penalty, its gradient norm and its gradients."""
    x_hat = tf.random.stateless_normal([64, 3], seed=[1, 2])
    scale = tf.constant(2.0 ** 15)
    d32 = critic()
    with precision.policy_scope("mixed_float16"):
        d16 = critic()
    d16.set_weights(d32.get_weights())

    def penalty_and_grads(net, loss_scale):
        with tf.GradientTape() as tape:
            gp, norm = penalties.gradient_penalty(net, x_hat, weight=10.0,
                                                  loss_scale=loss_scale)
        # The critic's own loss scaling, as `replica_gradients` applies it, then unscaled.
        s = 1.0 if loss_scale is None else loss_scale
        # All but the logits' bias, which the penalty does not depend on.
        grads = tape.gradient(gp, net.trainable_variables[:-1], output_gradients=s)
        return float(gp), float(norm), [g.numpy() / float(s) for g in grads]

    gp32, norm32, grads32 = penalty_and_grads(d32, None)
    gp16, norm16, grads16 = penalty_and_grads(d16, scale)
    np.testing.assert_allclose(gp16, gp32, rtol=1e-2)
    np.testing.assert_allclose(norm16, norm32, rtol=1e-2)
    assert relative_error(grads16, grads32) < 1e-2


def test_scaling_the_inner_gradient_keeps_small_float16_gradients():
    """Gradients of about 1e-7 per element underflow in float16 unless scaled."""
    x_hat = tf.random.stateless_normal([64, 3], seed=[3, 4])
    d32 = critic(last_scale=1e-7)
    with precision.policy_scope("mixed_float16"):
        d16 = critic()
    d16.set_weights(d32.get_weights())
    kwargs = dict(weight=1.0, target=0.0, epsilon=0.0)   # the penalty is mean ||grad||^2
    want = float(penalties.gradient_penalty(d32, x_hat, **kwargs)[0])
    scaled = float(penalties.gradient_penalty(d16, x_hat, loss_scale=2.0 ** 15, **kwargs)[0])
    unscaled = float(penalties.gradient_penalty(d16, x_hat, **kwargs)[0])
    np.testing.assert_allclose(scaled, want, rtol=1e-2)
    assert abs(unscaled - want) > 0.2 * want   # the case really needs the scale


# ---------------------------------------------------------------------------- overflow


class LogRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({k: float(v) for k, v in logs.items()})


@pytest.mark.parametrize("variant", [pytest.param("nsgan", marks=pytest.mark.slow), "wgan_gp"])
def test_float16_overflow_skips_the_update_and_training_goes_on(variant):
    """D's loss scale set to 2^40 makes its float16 gradients (and wgan_gp's inner
    gradient) overflow: the loss scaler skips D's updates and halves the scale until they
    fit; the divergence guard does not stop the run; G trains meanwhile."""
    data = helpers.tiny_points()
    cfg, model = built(points_cfg(variant, "mixed_float16", steps=40), data)
    model.d_optimizer.dynamic_scale.assign(2.0 ** 40)
    d_before = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    g_before = [v.numpy().copy() for v in model.generator.trainable_variables]
    guard, recorder = cbs.DivergenceGuard(), LogRecorder()
    model.fit(model.make_dataset(cfg, data, 0), epochs=1, steps_per_epoch=1, verbose=0,
              callbacks=[guard, recorder])
    for a, b in zip(model.discriminator.trainable_variables, d_before):
        np.testing.assert_array_equal(a.numpy(), b)                 # D's update skipped
    assert float(model.d_optimizer.dynamic_scale.numpy()) == 2.0 ** 39
    assert not all(np.array_equal(a.numpy(), b)
                   for a, b in zip(model.generator.trainable_variables, g_before))
    if variant == "wgan_gp":   # the penalty's inner gradient overflowed: logged as inf
        assert not np.isfinite(recorder.logs[0]["gradient_penalty"])
    else:
        assert all(np.isfinite(v) for v in recorder.logs[0].values())
    model.fit(model.make_dataset(cfg, data, 1), epochs=1, steps_per_epoch=39, verbose=0,
              callbacks=[guard, recorder])
    assert guard.diverged is None and int(model.step.numpy()) == 40
    assert not all(np.array_equal(a.numpy(), b)
                   for a, b in zip(model.discriminator.trainable_variables, d_before))
    assert float(model.d_optimizer.dynamic_scale.numpy()) < 2.0 ** 20
    assert all(np.isfinite(v) for v in recorder.logs[-1].values())


@pytest.mark.slow
def test_float16_guard_still_stops_a_run_whose_loss_scale_collapses(tmp_path):
    """Data that is all NaN: every D update is skipped, D's scale halves from 2^15 each
    step and falls below 1 at step 16, where the guard calls it a divergence."""
    data = helpers.tiny_points(n=64)
    data = data.__class__(data.name, data.kind, np.full_like(data.x, np.nan), data.y,
                          data.num_classes)
    cfg = points_cfg("nsgan", "mixed_float16", tmp_path, steps=40, checkpoint_every=5,
                     steps_per_execution=1)
    with pytest.raises(training.Diverged, match="diverged at step 16"):
        training.train(cfg, data=data, verbose=0)


# ------------------------------------------------------------------ resume and export


def all_state(model):
    values = [v.numpy() for v in model.generator.weights + model.discriminator.weights]
    values += [v.numpy() for v in model.g_optimizer.variables + model.d_optimizer.variables]
    return values + [model.step.numpy()]


@pytest.mark.parametrize("name", [pytest.param("mixed_bfloat16", marks=pytest.mark.slow),
                                  "mixed_float16"])
def test_exact_resume_and_float32_export_under_each_policy(tmp_path, name):
    data = helpers.tiny_points()
    extra = dict(optimizer="adam", d_beta1=0.5, g_beta1=0.5, steps_per_execution=1)
    straight = training.train(points_cfg("nsgan", name, tmp_path, "straight", steps=6,
                                         export=True, export_dir=str(tmp_path / "export"),
                                         **extra), data=data, verbose=0)
    keras.backend.clear_session()
    training.train(points_cfg("nsgan", name, tmp_path, "split", steps=3, **extra), data=data,
                   verbose=0)
    keras.backend.clear_session()
    resumed = training.train(points_cfg("nsgan", name, tmp_path, "split", steps=6, **extra),
                             data=data, verbose=0)
    got, want = all_state(resumed.model), all_state(straight.model)
    assert len(got) == len(want)
    if name == "mixed_float16":   # the loss scaler's state is in the checkpoint and restored
        assert int(resumed.model.d_optimizer.step_counter.numpy()) == 6
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)

    served = tf.saved_model.load(straight.export_path).signatures["serving_default"]
    assert served.structured_input_signature[1]["z"].dtype == tf.float32
    z = tf.random.stateless_normal([5, 4], seed=[0, 1])
    samples = served(z=z)["samples"]
    assert samples.dtype == tf.float32
    # The signature runs G's traced graph, `generate` runs it eagerly: their low-precision
    # kernels round differently (about 1 % apart under bfloat16, measured).
    np.testing.assert_allclose(samples.numpy(), straight.model.generate(z).numpy(),
                               atol={"mixed_bfloat16": 3e-2, "mixed_float16": 3e-3}[name])


def test_older_float32_run_resumes_and_a_new_precision_is_refused(tmp_path):
    data = helpers.tiny_points()
    cfg = points_cfg("nsgan", "float32", tmp_path, steps=2)
    training.train(cfg, data=data, verbose=0)
    path = os.path.join(cfg.run_dir, "config.json")
    items = json.load(open(path))
    del items["precision"]                        # a config.json from before the setting
    with open(path, "w") as f:
        json.dump(items, f)
    keras.backend.clear_session()
    overrides = dict(variant="nsgan", steps=4, run_dir=cfg.run_dir, export=False)
    resumed = training.train(training.resolve_config(overrides), data=data, verbose=0)
    assert resumed.step == 4 and resumed.config.precision == "float32"
    with pytest.raises(config_lib.ConfigError,
                       match="precision: saved 'float32', now 'mixed_float16'"):
        training.train(training.resolve_config(dict(overrides, steps=6,
                                                     precision="mixed_float16")),
                       data=data, verbose=0)


# ------------------------------------------------------------------- every variant runs

ALL_VARIANTS = ["gan", "nsgan", "dcgan", "wgan", "wgan_gp", "sngan", "mcgan", "lsgan", "hinge",
                "dragan", "cgan", "ebgan", "began", "bigan"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_variant_trains_under_each_policy(tmp_path, variant, name):
    """Two steps of `train` on tiny images: no divergence, float32 logs, the players in the
    policy, and their last layers in float32."""
    data = helpers.tiny_images(n=32, size=32 if variant in ("ebgan", "began") else 28)
    cfg = training.resolve_config(dict(variant=variant, width=8, latent_dim=8, batch_size=8,
                                       steps=2, precision=name, log_every=1, export=False,
                                       sample_every=100, run_dir=str(tmp_path / "run")))
    result = training.train(cfg, data=data, verbose=0)
    model = result.model
    assert result.step == 2 and keras.config.dtype_policy().name == "float32"
    compute = name.split("_")[1]
    dtypes = {layer.compute_dtype for layer in model.generator.layers}
    assert compute in dtypes and model.generator.layers[-1].compute_dtype == "float32"
    assert (isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
            == (name == "mixed_float16"))
