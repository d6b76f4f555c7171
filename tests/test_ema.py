"""The generator EMA (`--ema_decay`, tfgan_suite/ema.py): the recursion on every step path,
batch-norm statistics, exact resume, TensorBoard and --eval_every, export, and EMA off.

The reference everywhere is the recursion computed here in NumPy (float64) from G's weights
recorded after every step:

    ema_0 = g_0,  ema_k = g_k for k <= S,  ema_k = d ema_{k-1} + (1 - d) g_k for k > S.

One replica against two: the `ema` case of tests/replica_runner.py (tests/test_replicas.py).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tests.test_training import all_state, cfg_for, read_events
from tfgan_suite import ema, serving, training
from tfgan_suite.data import recsys

DECAY, START = 0.6, 2


def expected_ema(history, decay=DECAY, start=START):
    """ema_n from [g_0, ..., g_n] (each a list of G's arrays), in float64."""
    average = [np.asarray(w, np.float64) for w in history[0]]
    for k, weights in enumerate(history[1:], start=1):
        weights = [np.asarray(w, np.float64) for w in weights]
        average = weights if k <= start else [decay * a + (1 - decay) * g
                                              for a, g in zip(average, weights)]
    return average


class Recorder(keras.callbacks.Callback):
    """G's and the averaged copy's weights before training and after every step."""

    def __init__(self, model):
        super().__init__()
        self.g = [[w.numpy() for w in model.generator.weights]]
        self.ema = [[w.numpy() for w in model.ema_generator.weights]]

    def on_train_batch_end(self, batch, logs=None):
        self.g.append([w.numpy() for w in self.model.generator.weights])
        self.ema.append([w.numpy() for w in self.model.ema_generator.weights])


def tiny_recsys():
    return recsys.simulate(num_users=30, num_items=40, num_interactions=600, min_per_user=5,
                           max_per_user=30, seed=0, name="tiny_recsys")


# Every way a step ends: GANModel.train_step (dcgan, with batch norm in G), wgan's own
# train function, began's simultaneous step, ebgan's and irgan's pretraining steps.
STEP_PATHS = {
    "dcgan": (helpers.tiny_images, dict(d_steps=2)),
    # A conditional G nests its image network in a label-taking model: the copy is cloned
    # through its config, which needs every custom layer (fused batch norm) registered.
    "cgan": (helpers.tiny_images, {}),
    "wgan": (helpers.tiny_points, dict(wgan_critic_schedule=False, d_steps=2)),
    "began": (helpers.tiny_points, dict(began_hidden=8)),
    "ebgan": (helpers.tiny_points, dict(ebgan_pretrain_steps=2)),
    "irgan": (tiny_recsys, dict(irgan_pretrain_steps=2, g_lr=1e-2, eval_every=0)),
}


def run_recorded(tmp_path, variant, steps=5, **overrides):
    make_data, extra = STEP_PATHS[variant]
    data = make_data()
    cfg = training.fit_to_data(cfg_for(tmp_path, variant, variant=variant, ema_decay=DECAY,
                                       ema_start=START, **{**extra, **overrides}), data)
    keras.utils.set_random_seed(cfg.seed)
    model = training.build_model(cfg, data)
    recorder = Recorder(model)
    model.fit(model.make_dataset(cfg, data, 0), steps_per_epoch=steps, epochs=1, verbose=0,
              shuffle=False, callbacks=[recorder])
    return model, recorder


@pytest.mark.parametrize("variant", list(STEP_PATHS))
def test_the_average_follows_the_recursion_on_every_step_path(tmp_path, variant):
    model, rec = run_recorded(tmp_path, variant)
    assert int(model.step.numpy()) == 5
    # Up to step S the copy is G itself, bit for bit; after it, an average.
    for k in range(START + 1):
        for g, a in zip(rec.g[k], rec.ema[k]):
            np.testing.assert_array_equal(a, g)
    for k in range(START + 1, 6):
        for got, want in zip(rec.ema[k], expected_ema(rec.g[:k + 1])):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    moved = [not np.array_equal(a, g) for a, g in zip(rec.ema[5], rec.g[5])]
    assert any(moved), f"{variant}: the average equals G after averaging steps"
    # The copy is never trained: not trainable, and not among the model's trainables.
    assert not model.ema_generator.trainable_weights
    ema_ids = {id(v) for v in model.ema_generator.weights}
    assert not ema_ids & {id(v) for v in model.trainable_variables}


def test_batch_norm_statistics_are_averaged_like_the_weights(tmp_path):
    """G's moving mean and variance follow the recursion (not copied from G, not left at
    their initial values), and the averaged G in inference mode normalises with them."""
    model, rec = run_recorded(tmp_path, "dcgan", steps=4)
    paths = [w.path for w in model.generator.weights]
    stats = [i for i, p in enumerate(paths) if p.endswith(("moving_mean", "moving_variance"))]
    assert len(stats) >= 4, paths   # dcgan's G has batch norm
    want = expected_ema(rec.g)
    for i in stats:
        got = model.ema_generator.weights[i].numpy()
        np.testing.assert_allclose(got, want[i], rtol=1e-5, atol=1e-7, err_msg=paths[i])
        assert not np.allclose(got, rec.g[-1][i], rtol=1e-3), f"{paths[i]} copied from G"
    # Inference mode: a fresh copy holding the NumPy average gives the same samples.
    reference = keras.models.clone_model(model.generator)
    reference.set_weights([w.astype(np.float32) for w in want])
    z = tf.random.stateless_normal([5, model.latent_dim], seed=[1, 2])
    np.testing.assert_allclose(model.generate(z, ema=True).numpy(),
                               reference(z, training=False).numpy(), rtol=1e-4, atol=1e-5)
    assert not np.allclose(model.generate(z, ema=True).numpy(), model.generate(z).numpy())


def ema_state(model):
    return all_state(model) + [v.numpy() for v in model.ema_generator.weights]


def test_resume_with_ema_reproduces_the_uninterrupted_run(tmp_path):
    data = helpers.tiny_images(n=20)
    extra = dict(ema_decay=0.9, ema_start=2, d_steps=2)
    straight = training.train(cfg_for(tmp_path, "straight", **extra), data=data, verbose=0)
    tf.keras.backend.clear_session()
    first = training.train(cfg_for(tmp_path, "split", steps=3, **extra), data=data, verbose=0)
    reader = tf.train.load_checkpoint(os.path.join(first.run_dir, "ckpt", "ckpt-3"))
    assert any(n.startswith("ema_generator/") for n in reader.get_variable_to_shape_map())
    tf.keras.backend.clear_session()
    resumed = training.train(cfg_for(tmp_path, "split", **extra), data=data, verbose=0)
    assert resumed.step == 6
    got, want = ema_state(resumed.model), ema_state(straight.model)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    # The averaged copy of the straight run did average (it differs from G).
    assert any(not np.array_equal(a.numpy(), g.numpy()) for a, g in zip(
        straight.model.ema_generator.weights, straight.model.generator.weights))
    # The decay shapes the average: a resume with another one is refused.
    with pytest.raises(training.config_lib.ConfigError, match="ema_decay: saved 0.9, now 0.5"):
        training.train(cfg_for(tmp_path, "split", steps=8, **dict(extra, ema_decay=0.5)),
                       data=data, verbose=0)


class MeanOfSamples:
    """An evaluator whose one metric (logged as `fid`) is the mean of 64 samples: it tells
    which generator an evaluation drew from."""

    kind, num_samples = "points", 64

    def __call__(self, sampler, conditional=False):
        x = sampler(self.num_samples, 0)
        return {"num_samples": self.num_samples, "fid": float(np.mean(x)),
                "timings": {"total_s": 0.0}}


def test_tensorboard_and_eval_every_show_both_generators(tmp_path, monkeypatch):
    """samples/fixed_z stays the raw G; samples/fixed_z_ema and eval_ema/... are the
    averaged G's, each equal to what that generator draws at the logged step."""
    from tfgan_suite import callbacks
    from tfgan_suite.metrics import evaluation
    from tfgan_suite.variants.base import GANModel

    monkeypatch.setattr(GANModel, "make_evaluator", lambda self, cfg, data: MeanOfSamples())
    data = helpers.tiny_points()
    cfg = cfg_for(tmp_path, "tb", variant="nsgan", steps=4, ema_decay=0.5, ema_start=0,
                  eval_every=2, log_every=100)
    result = training.train(cfg, data=data, verbose=0)
    model, acc = result.model, read_events(result.run_dir)
    for averaged, tag, prefix in ((False, "samples/fixed_z", "eval"),
                                  (True, "samples/fixed_z_ema", "eval_ema")):
        assert [e.step for e in acc.Tensors(tag)] == [0, 2, 4], tag
        png = tf.make_ndarray(acc.Tensors(tag)[-1].tensor_proto)[2]
        grid = callbacks.SampleGrid.for_model(model, result.config, data, None, ema=averaged)
        grid.set_model(model)
        np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), grid.make_image())

        events = acc.Tensors(f"{prefix}/fid@64")
        assert [e.step for e in events] == [2, 4], prefix
        sampler = evaluation.keras_sampler(
            lambda z, labels, averaged=averaged: model.generate(z, labels, ema=averaged),
            model.latent_dim, "points")
        np.testing.assert_allclose(float(tf.make_ndarray(events[-1].tensor_proto)),
                                   MeanOfSamples()(sampler)["fid"], rtol=1e-6)
    raw, averaged = (float(tf.make_ndarray(acc.Tensors(f"{p}/fid@64")[-1].tensor_proto))
                     for p in ("eval", "eval_ema"))
    assert abs(raw - averaged) > 1e-6   # the two evaluations measured different generators


def test_irgan_ranks_with_the_averaged_generator_too(tmp_path):
    from tfgan_suite import callbacks
    from tfgan_suite.metrics.ranking import ranking_metrics

    model, _ = run_recorded(tmp_path, "irgan", steps=4)
    data = tiny_recsys()
    callback = callbacks.RankingEval(None, 1, data)
    callback.set_model(model)
    _, scalars = callback.measure()
    averaged = model.scores(player="ema_generator")
    assert not np.allclose(averaged, model.scores())
    want = ranking_metrics(averaged, data.train_positives, data.test_positives)
    for name in ("P@5", "NDCG@5"):
        assert scalars[f"eval_ema/{name}"] == want[name], name
        assert f"eval/{name}" in scalars and f"eval_discriminator/{name}" in scalars


def exported_samples(path, z):
    return tf.saved_model.load(path).signatures["serving_default"](z=z)["samples"].numpy()


def test_export_holds_the_average_by_default_and_g_with_export_ema_false(tmp_path):
    data = helpers.tiny_images(n=16)
    cfg = cfg_for(tmp_path, "exp", steps=2, ema_decay=0.5, ema_start=0, export=True,
                  export_dir=str(tmp_path / "exports"))
    result = training.train(cfg, data=data, verbose=0)
    model = result.model
    z = tf.random.stateless_normal([4, cfg.latent_dim], seed=[3, 4])
    as_image = lambda x: np.clip((x.numpy() + 1.0) / 2.0, 0.0, 1.0)  # noqa: E731
    averaged, raw = as_image(model.generate(z, ema=True)), as_image(model.generate(z))
    assert np.abs(averaged - raw).max() > 1e-4   # the two are told apart

    np.testing.assert_allclose(exported_samples(result.export_path, z), averaged, atol=1e-5)
    meta = serving.read_meta(result.export_path)
    assert (meta["generator"], meta["ema_decay"], meta["ema_start"]) == ("ema", 0.5, 0)

    path = model.export(result.config.replace(export_ema=False), data, result.step)
    np.testing.assert_allclose(exported_samples(path, z), raw, atol=1e-5)
    meta = serving.read_meta(path)
    assert meta["generator"] == "raw" and "ema_decay" not in meta

    # The export command: what it restores exports the average by default (in-process,
    # as `main` does), G with --export_ema=false (the command itself).
    cfg2, spec, restored, step = training.restore(result.run_dir)
    path = restored.export(cfg2.replace(export_dir=str(tmp_path / "restored")), spec, step)
    assert serving.read_meta(path)["generator"] == "ema"
    np.testing.assert_allclose(exported_samples(path, z), averaged, atol=1e-5)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, "-m", "tfgan_suite.export", f"--run_dir={result.run_dir}",
         f"--export_dir={tmp_path / 'cli'}", "--export_ema=false"], cwd=root,
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    version = os.path.join(tmp_path, "cli", "dcgan", "1")
    with open(os.path.join(version, "assets.extra", "tfgan_suite.json")) as f:
        assert json.load(f)["generator"] == "raw"
    np.testing.assert_allclose(exported_samples(version, z), raw, atol=1e-5)


def test_ema_off_adds_nothing_and_never_changes_g(tmp_path):
    """EMA off: no copy, no variable, no checkpoint entry, no TensorBoard tag, export
    "raw"; EMA on: G (and D) train exactly as with it off."""
    data = helpers.tiny_images(n=16)
    off = training.train(cfg_for(tmp_path, "off", steps=3, checkpoint_every=3), data=data,
                         verbose=0)
    model = off.model
    assert model.ema_generator is None
    own = (model.generator.weights + model.discriminator.weights
           + list(model._state.values()))
    assert {id(v) for v in model.weights} == {id(v) for v in own}
    reader = tf.train.load_checkpoint(os.path.join(off.run_dir, "ckpt", "ckpt-3"))
    assert not [n for n in reader.get_variable_to_shape_map() if "ema" in n]
    assert "samples/fixed_z_ema" not in read_events(off.run_dir).Tags()["tensors"]
    assert model.exported_generator_meta(True) == {"generator": "raw"}

    tf.keras.backend.clear_session()
    on = training.train(cfg_for(tmp_path, "on", steps=3, ema_decay=0.5, ema_start=0),
                        data=data, verbose=0)
    for a, b in zip(all_state(on.model), all_state(model)):
        np.testing.assert_array_equal(a, b)

    # A checkpoint without the EMA restores into a model with it: the copy starts from G.
    tf.keras.backend.clear_session()
    cfg = training.fit_to_data(cfg_for(tmp_path, "off", ema_decay=0.5), data)
    averaging = training.build_model(cfg, data)
    manager = training.checkpoint_manager(averaging, off.run_dir, 1)
    training.restore_checkpoint(manager, averaging)
    assert int(averaging.step.numpy()) == 3
    for a, g, want in zip(averaging.ema_generator.weights, averaging.generator.weights,
                          model.generator.weights):
        np.testing.assert_array_equal(g.numpy(), want.numpy())
        np.testing.assert_array_equal(a.numpy(), want.numpy())


def test_settings_are_checked():
    with pytest.raises(training.config_lib.ConfigError, match=r"--ema_decay must be in \[0"):
        training.resolve_config(dict(ema_decay=1.0))
    with pytest.raises(training.config_lib.ConfigError, match="--ema_start must be >= 0"):
        training.resolve_config(dict(ema_start=-1))
    cfg = training.resolve_config({})
    assert (cfg.ema_decay, cfg.ema_start, cfg.export_ema) == (0.0, 1000, True)
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    from tfgan_suite.variants.gan import GAN

    with pytest.raises(ValueError, match="ema_decay=-0.1"):
        GAN(g, d, latent_dim=2, ema_decay=-0.1)


def test_assign_weights_refuses_networks_that_do_not_pair():
    a = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    b = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="do not pair"):
        ema.assign_weights(a, b)
