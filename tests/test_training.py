"""train(): exact resume, divergence, TensorBoard contents, config handling."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import config as config_lib
from tfgan_suite import training
from tfgan_suite.data import batch_indices


def cfg_for(tmp_path, name, **overrides):
    settings = dict(variant="dcgan", width=8, latent_dim=8, batch_size=8, steps=6,
                    checkpoint_every=100, sample_every=2, log_every=1, seed=7,
                    run_dir=str(tmp_path / name), export=False)
    settings.update(overrides)
    return training.resolve_config(settings)


def all_state(model):
    """Every number a resumed run must reproduce: weights, optimizer slots, step."""
    values = [v.numpy() for v in model.generator.weights + model.discriminator.weights]
    values += [v.numpy() for v in model.g_optimizer.variables + model.d_optimizer.variables]
    values.append(model.step.numpy())
    return values


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    data = helpers.tiny_images(n=20)  # 20 rows, batches of 8*2: epochs wrap mid-batch
    # The split run stops early by asking for 3 steps; pin the noise schedule (which
    # defaults to --steps) so that both runs follow the same one, as an interrupted run does.
    extra = dict(d_steps=2, instance_noise=0.1, instance_noise_steps=6)
    straight = training.train(cfg_for(tmp_path, "straight", **extra), data=data, verbose=0)
    tf.keras.backend.clear_session()
    first = training.train(cfg_for(tmp_path, "split", steps=3, **extra), data=data, verbose=0)
    assert first.step == 3
    tf.keras.backend.clear_session()
    resumed = training.train(cfg_for(tmp_path, "split", **extra), data=data, verbose=0)
    assert resumed.step == 6
    got, want = all_state(resumed.model), all_state(straight.model)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    # And the run did move: the resumed half changed the weights of the first half.
    assert not all(np.array_equal(a, b) for a, b in
                   zip(all_state(first.model)[:4], all_state(resumed.model)[:4]))


def test_resume_refuses_changed_settings(tmp_path):
    data = helpers.tiny_points()
    training.train(cfg_for(tmp_path, "run", variant="nsgan", steps=2), data=data, verbose=0)
    with pytest.raises(config_lib.ConfigError, match="g_lr: saved 0.0002, now 0.001"):
        training.train(cfg_for(tmp_path, "run", variant="nsgan", steps=4, g_lr=1e-3),
                       data=data, verbose=0)


def test_divergence_stops_and_keeps_last_good_checkpoint(tmp_path):
    data = helpers.tiny_points(n=64)
    cfg = cfg_for(tmp_path, "nan", variant="nsgan", steps=50, checkpoint_every=2, seed=3)
    # Poison one row that the stream puts in batch 4, i.e. the 5th step.
    x = data.x.copy()
    x[batch_indices(len(x), cfg.batch_size, cfg.seed, 4)[0]] = np.nan
    poisoned = dataclasses.replace(data, x=x)
    with pytest.raises(training.Diverged, match="diverged at step 5") as err:
        training.train(cfg, data=poisoned, verbose=0)
    assert "ckpt-4" in str(err.value)
    latest = tf.train.latest_checkpoint(os.path.join(cfg.run_dir, "ckpt"))
    assert latest.endswith("ckpt-4")
    reader = tf.train.load_checkpoint(latest)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), name


def read_events(run_dir):
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={"images": 0,
                                                                     "scalars": 0})
    acc.Reload()
    return acc


def test_tensorboard_has_losses_lrs_samples_and_hparams(tmp_path):
    data = helpers.tiny_images()
    result = training.train(cfg_for(tmp_path, "tb", steps=4), data=data, verbose=0)
    acc = read_events(result.run_dir)
    tags = acc.Tags()
    for tag in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake",
                "learning_rate/g", "learning_rate/d"):
        assert tag in tags["tensors"] + tags["scalars"], tag
    assert "samples/fixed_z" in tags["tensors"] + tags["images"]
    steps = [e.step for e in acc.Tensors("train/d_loss")]
    assert steps == [1, 2, 3, 4]
    lr = [tf.make_ndarray(e.tensor_proto) for e in acc.Tensors("learning_rate/g")]
    np.testing.assert_allclose(lr, 2e-4, rtol=1e-6)
    # The sample grid: 64 images of 28x28 tiled; decoded it is an RGB(A) or gray PNG.
    image_event = acc.Tensors("samples/fixed_z")[0]
    png = tf.make_ndarray(image_event.tensor_proto)[2]
    decoded = tf.io.decode_png(png).numpy()
    assert decoded.shape[0] > 8 * 28 and decoded.shape[1] > 8 * 28
    assert acc.PluginTagToContent("hparams"), "no hparams summary"
    saved = json.load(open(os.path.join(result.run_dir, "config.json")))
    assert saved["steps"] == 4 and saved["architecture"] == "dcgan"


def test_points_default_to_mlp_without_norm(tmp_path):
    result = training.train(cfg_for(tmp_path, "pts", variant="dcgan", steps=1),
                            data=helpers.tiny_points(), verbose=0)
    assert (result.config.architecture, result.config.d_norm) == ("mlp", "none")


def test_linear_lr_decay_is_logged_and_refused_where_a_variant_sets_its_rates(tmp_path):
    data = helpers.tiny_points()
    result = training.train(cfg_for(tmp_path, "decay", variant="nsgan", steps=4,
                                    lr_decay="linear", g_lr=1e-3, d_lr=4e-3),
                            data=data, verbose=0)
    acc = read_events(result.run_dir)
    for tag, rate in (("learning_rate/g", 1e-3), ("learning_rate/d", 4e-3)):
        got = [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
        # Logged after step s: the rate of the next update, r (1 - s / 4).
        assert [s for s, _ in got] == [1, 2, 3, 4]
        np.testing.assert_allclose([v for _, v in got], [rate * (1 - s / 4) for s in
                                                         (1, 2, 3, 4)], rtol=1e-6, atol=0)
    for variant in ("began",):
        with pytest.raises(config_lib.ConfigError, match=f"--lr_decay=linear does not apply "
                           f"to --variant={variant}"):
            training.train(cfg_for(tmp_path, variant, variant=variant, lr_decay="linear"),
                           data=data, verbose=0)
