"""Each variant owns its settings: what config.json holds, and what a resume accepts."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import config as config_lib
from tfgan_suite import training
from tfgan_suite.variants.wgan_gp import GradientPenaltyParams

PREVIOUS_RELEASE = os.path.join(os.path.dirname(__file__), "data", "previous_release")


def small(tmp_path, name="run", **overrides):
    settings = dict(variant="nsgan", width=4, latent_dim=3, batch_size=8, steps=2,
                    checkpoint_every=100, sample_every=100, log_every=1, seed=5,
                    run_dir=str(tmp_path / name), export=False)
    settings.update(overrides)
    return training.resolve_config(settings)


def saved(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        return json.load(f)


def test_config_json_holds_shared_settings_and_the_active_variants_only(tmp_path):
    data = helpers.tiny_points()
    training.train(small(tmp_path, "gp", variant="wgan_gp", gp_weight=3.0), data=data,
                   verbose=0)
    training.train(small(tmp_path, "ns"), data=data, verbose=0)
    gp, ns = saved(tmp_path / "gp"), saved(tmp_path / "ns")
    assert gp["gp_weight"] == 3.0 and gp["penalty"] == "wgan_gp"
    assert "gp_weight" not in ns and "began_gamma" not in ns and "irgan_d_l2" not in ns
    assert ns["loss"] == "non_saturating"
    # Every key is a shared setting, the variant's own, or the data record.
    assert set(ns) == set(config_lib.SHARED) | {"loss", "data"}
    assert ns["data"] == dict(name="tiny_points", kind="points", shape=[2], num_classes=8,
                              num_users=None, num_items=None)


def test_resume_ignores_unknown_fields_and_defaults_missing_ones(tmp_path, capsys):
    data = helpers.tiny_points()
    training.train(small(tmp_path), data=data, verbose=0)
    path = tmp_path / "run" / "config.json"
    items = saved(tmp_path / "run")
    items["a_knob_from_the_future"] = 1        # a field this version does not know
    del items["d_beta2"]                        # a field added after the run was written
    path.write_text(json.dumps(items))
    tf.keras.backend.clear_session()
    resumed = training.train(small(tmp_path, steps=4), data=data, verbose=0)
    assert resumed.step == 4
    err = capsys.readouterr().err
    assert "ignoring setting(s) this version does not know: a_knob_from_the_future" in err
    assert resumed.config.d_beta2 == 0.999  # its current default
    assert saved(tmp_path / "run")["d_beta2"] == 0.999


@pytest.mark.parametrize("change, message", [
    (dict(g_lr=1e-3), "g_lr: saved 0.0002, now 0.001"),
    (dict(architecture="dcgan"), "architecture: saved 'mlp', now 'dcgan'"),
    (dict(width=8), "width: saved 4, now 8"),
    (dict(loss="hinge"), "loss: saved 'non_saturating', now 'hinge'"),
    (dict(variant="lsgan"), "variant: saved 'nsgan', now 'lsgan'"),
])
def test_resume_refuses_a_changed_setting_naming_it(tmp_path, change, message):
    data = helpers.tiny_points()
    training.train(small(tmp_path), data=data, verbose=0)
    with pytest.raises(config_lib.ConfigError, match=message):
        training.train(small(tmp_path, steps=4, **change), data=data, verbose=0)


def test_resume_with_run_dir_alone_keeps_the_saved_settings(tmp_path):
    data = helpers.tiny_points()
    first = small(tmp_path, variant="wgan_gp", gp_weight=2.5, g_lr=1e-3)
    training.train(first, data=data, verbose=0)
    tf.keras.backend.clear_session()
    resumed = training.train(training.resolve_config(dict(run_dir=first.run_dir, steps=3,
                                                          export=False)),
                             data=data, verbose=0)
    assert resumed.step == 3
    assert (resumed.config.variant, resumed.config.gp_weight, resumed.config.g_lr,
            resumed.config.width) == ("wgan_gp", 2.5, 1e-3, 4)


def test_another_variants_parameter_is_refused_naming_its_owners():
    with pytest.raises(config_lib.ConfigError,
                       match=r"--variant=dcgan does not take --gp_weight \(a setting of "
                             r"wgan_gp, dragan\)"):
        training.resolve_config({"variant": "dcgan", "gp_weight": 3.0})
    with pytest.raises(config_lib.ConfigError, match="unknown setting.*no_such_knob"):
        training.resolve_config({"variant": "dcgan", "no_such_knob": 1})


def test_a_parameter_is_checked_where_it_is_declared():
    message = "--gp_weight must be >= 0; got -1.0"
    with pytest.raises(config_lib.ConfigError, match=message):
        GradientPenaltyParams(gp_weight=-1.0)
    with pytest.raises(config_lib.ConfigError, match=message):
        training.resolve_config({"variant": "wgan_gp", "gp_weight": -1.0})


def copy_previous_release(tmp_path, variant):
    run_dir = tmp_path / variant
    shutil.copytree(os.path.join(PREVIOUS_RELEASE, variant), run_dir)
    return str(run_dir)


@pytest.mark.parametrize("variant", ["dcgan", "began"])
def test_a_run_of_the_previous_release_restores_its_checkpoint(tmp_path, variant):
    """Fixtures written by release 0.1.0 (every variant's knobs in config.json, no data
    record): the rebuilt model holds exactly the checkpoint's weights."""
    run_dir = copy_previous_release(tmp_path, variant)
    old = saved(run_dir)
    assert "irgan_d_l2" in old and "data" not in old  # really the old format
    cfg, _, model, step = training.restore(run_dir)
    assert step == 2 and cfg.variant == variant
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "ckpt", "ckpt-2"))
    stored = [np.asarray(reader.get_tensor(n)) for n in reader.get_variable_to_shape_map()
              if "OPTIMIZER_SLOT" not in n]
    for weight in model.generator.weights + model.discriminator.weights:
        value = weight.numpy()
        assert any(t.shape == value.shape and np.array_equal(t, value) for t in stored), (
            f"{weight.path} is not the checkpoint's")
    # Not the fresh initialisation: the restored G differs from a newly built one.
    fresh = training.build_model(cfg, training.data_lib.DataSpec.of(_spec(cfg)))
    assert any(not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(fresh.generator.weights, model.generator.weights))


def _spec(cfg):
    return training.data_lib.DataSpec(cfg.dataset, "image", shape=(28, 28, 1),
                                      num_classes=10)


@pytest.mark.parametrize("variant", ["dcgan", "began"])
def test_a_run_of_the_previous_release_resumes(tmp_path, variant):
    run_dir = copy_previous_release(tmp_path, variant)
    result = training.train(training.resolve_config(dict(run_dir=run_dir, steps=3,
                                                         export=False)),
                            data=helpers.tiny_images(n=16), verbose=0)
    assert result.step == 3  # went on from the saved step 2, not from 0
    assert saved(run_dir)["data"]["shape"] == [28, 28, 1]


def test_export_needs_no_dataset(tmp_path, monkeypatch):
    data = helpers.tiny_images(n=16)
    cfg = small(tmp_path, variant="cgan", dataset="fashion_mnist")
    training.train(cfg, data=data, verbose=0)
    tf.keras.backend.clear_session()

    def no_loading(*args, **kwargs):
        raise AssertionError("restore loaded the dataset")

    monkeypatch.setattr(training.data_lib, "load", no_loading)
    cfg2, spec, model, step = training.restore(cfg.run_dir)
    assert (spec.kind, spec.shape, spec.num_classes) == ("image", (28, 28, 1), 10)
    path = model.export(cfg2.replace(export_dir=str(tmp_path / "exports")), spec, step)
    assert os.path.exists(os.path.join(path, "saved_model.pb"))


def test_a_shared_setting_an_older_file_lacks_keeps_the_behaviour_of_its_time(tmp_path):
    # A 2-D run written before --lr_decay existed trained at a constant rate; the 2-D
    # default is now a linear decay, which would change the resumed run.
    cfg = config_lib.resolve(dict(variant="nsgan", dataset="ring8"), points=True)
    assert cfg.lr_decay == "linear"
    items = json.loads(cfg.to_json())
    del items["lr_decay"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(items))
    loaded = config_lib.load(str(path))
    assert loaded.lr_decay == "none"
    assert (loaded.width, loaded.latent_dim, loaded.g_lr) == (cfg.width, cfg.latent_dim,
                                                              cfg.g_lr)
