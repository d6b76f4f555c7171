"""bigan / ali: one optimizer for E and G, the reparametrised encoder, the step (graph and
XLA), checkpointing the encoder, TensorBoard logs, and `encode` -> `serving_default` from a
fresh TensorFlow-only process.

Two replicas: test_replicas.py; reconstruction on ring8: test_cgan_bigan_quality.py.
"""

import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import training, variants
from tfgan_suite.data import make_dataset
from tfgan_suite.nets import bigan as bigan_nets
from tfgan_suite.variants.bigan import LOG_SIGMA_RANGE

RNG = np.random.default_rng(0)


def _config(tmp_path, **overrides):
    settings = dict(variant="bigan", width=8, batch_size=8, steps=2, seed=1, latent_dim=4,
                    run_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"),
                    export=False)
    settings.update(overrides)
    return training.resolve_config(settings)


def _weights(variables):
    return [v.numpy().copy() for v in variables]


def test_ali_is_an_alias_of_bigan():
    assert variants.get("ali") is variants.get("bigan")
    assert training.resolve_config({"variant": "ali"}).variant == "bigan"


def test_latent_is_two_dimensional_on_2d_mixtures_unless_told_otherwise():
    assert training.resolve_config({"variant": "bigan", "dataset": "ring8"}).latent_dim == 2
    assert training.resolve_config({"variant": "bigan", "dataset": "grid25",
                                    "latent_dim": 50}).latent_dim == 50
    assert training.resolve_config({"variant": "bigan"}).latent_dim == 50  # images


def test_networks_have_the_documented_shapes():
    x = RNG.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    e = bigan_nets.build_encoder("dcgan", data_shape=(32, 32, 3), latent_dim=5, width=4)
    assert e(x).shape == (3, 5)
    mean, log_sigma = bigan_nets.build_encoder("dcgan", data_shape=(32, 32, 3), latent_dim=5,
                                               width=4, stochastic=True)(x)
    assert mean.shape == log_sigma.shape == (3, 5)
    d = bigan_nets.build_joint_discriminator("dcgan", data_shape=(32, 32, 3), latent_dim=5,
                                             width=4, spectral_norm=True)
    assert d([x, np.zeros((3, 5), np.float32)]).shape == (3, 1)
    # D depends on z as well as on x.
    z = RNG.standard_normal((2, 5)).astype(np.float32)
    logits = d([np.repeat(x[:1], 2, 0), z]).numpy()
    assert abs(logits[0, 0] - logits[1, 0]) > 1e-7


# XLA compiles slowly on CPU: one critic update per step there keeps the graph small.
@pytest.mark.parametrize("jit, stochastic, d_steps", [("false", False, 2), ("true", True, 1)])
def test_one_optimizer_trains_generator_and_encoder(tmp_path, jit, stochastic, d_steps):
    data = helpers.tiny_points()
    cfg = training.fit_to_data(_config(tmp_path, jit_compile=jit, d_steps=d_steps,
                                       stochastic_encoder=stochastic), data)
    model = training.build_model(cfg, data)
    assert model.jit_compile is (jit == "true")
    e_vars = model.encoder_network.trainable_variables
    assert len(e_vars) == (8 if stochastic else 6)  # 2 hidden + mean (+ log sigma) Dense
    # The g_optimizer was built over G's and E's variables, in that order.
    assert [v.path for v in model.g_optimizer._trainable_variables] == [
        v.path for v in model.generator.trainable_variables + e_vars]
    before = _weights(e_vars)
    ds = make_dataset(data, batch_size=cfg.batch_size, batches_per_step=cfg.d_steps,
                      seed=cfg.seed)
    history = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0).history
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, e_vars))
    assert int(model.g_optimizer.iterations.numpy()) == 2
    assert int(model.d_optimizer.iterations.numpy()) == 2 * d_steps
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "recon_error"):
        assert np.isfinite(history[key][-1]), (key, history)
    # recon_error is (x - G(E(x)))^2 on the step's last real batch, E's mean and G after the
    # step's updates, against a numpy forward pass of the documented 2-D MLPs.
    batch = data.x[:cfg.batch_size * d_steps]
    logs = model.train_step(tf.constant(batch))
    last = batch[-cfg.batch_size:]
    want = np.mean((last - numpy_generator(model.generator,
                                           numpy_encoder(model.encoder_network, last))) ** 2)
    assert want > 1e-3  # an untrained pair does not reconstruct: the check has teeth
    np.testing.assert_allclose(float(logs["recon_error"]), want, rtol=1e-4)


def _dense(model, name):
    """(kernel, bias) of the Dense layer `name`, searched through nested models."""
    for layer in model._flatten_layers():
        if layer.name == name and isinstance(layer, keras.layers.Dense):
            return layer.kernel.numpy(), layer.bias.numpy()
    raise KeyError(name)


def _leaky(h, slope=0.2):
    return np.where(h > 0, h, slope * h)


def numpy_encoder(encoder, x):
    """E(x) for 2-D points, as `tfgan_suite.nets.bigan` documents it (no norm for points):
    Dense(2w) -> LReLU(0.2) -> Dense(2w) -> LReLU(0.2) -> Dense(latent_dim), the mean head."""
    h = x
    for name in ("hidden1", "hidden2"):
        kernel, bias = _dense(encoder, name)
        h = _leaky(h @ kernel + bias)
    kernel, bias = _dense(encoder, "z_mean")
    return h @ kernel + bias


def numpy_generator(generator, z):
    """G(z) for points, as `tfgan_suite.nets.mlp` documents it:
    Dense(2w) -> ReLU -> Dense(2w) -> ReLU -> Dense(2)."""
    h = z
    for name in ("hidden1", "hidden2"):
        kernel, bias = _dense(generator, name)
        h = np.maximum(h @ kernel + bias, 0.0)
    kernel, bias = _dense(generator, "to_points")
    return h @ kernel + bias


def test_stochastic_encoder_is_mean_plus_sigma_times_the_replica_stream(tmp_path):
    data = helpers.tiny_points()
    cfg = training.fit_to_data(_config(tmp_path, stochastic_encoder=True), data)
    model = training.build_model(cfg, data)
    x = tf.constant(data.x[:6])
    # Make log sigma large enough to test the clipping too.
    head = model.encoder_network.get_layer("z_log_sigma")
    head.bias.assign(np.array([-20.0, 0.5, 1.0, 8.0], np.float32))
    mean, log_sigma = [t.numpy() for t in model.encoder_network(x, training=False)]
    model._draws = 0
    eps = model.latent(6).numpy()  # the first draw of the step
    model._draws = 0
    z = model.encode(x, training=False).numpy()
    sigma = np.exp(np.clip(log_sigma, *LOG_SIGMA_RANGE))
    np.testing.assert_allclose(z, mean + sigma * eps, rtol=1e-5, atol=1e-6)
    # The exported encoder is the mean.
    np.testing.assert_allclose(model.encoder(x, training=False).numpy(), mean, rtol=1e-6)


def test_the_checkpoint_holds_the_encoder(tmp_path):
    data = helpers.tiny_points()
    cfg = training.fit_to_data(_config(tmp_path), data)
    model = training.build_model(cfg, data)
    manager = training.checkpoint_manager(model, str(tmp_path / "run"), keep=1)
    saved = _weights(model.encoder_network.weights)
    manager.save(checkpoint_number=0)
    for v in model.encoder_network.weights:
        v.assign(tf.zeros_like(v))
    manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    for before, v in zip(saved, model.encoder_network.weights):
        np.testing.assert_array_equal(v.numpy(), before)


FRESH = r'''
import json, sys
sys.modules["tfgan_suite"] = None  # the suite must not be needed
import numpy as np, tensorflow as tf
path, x_path = sys.argv[1:]
m = tf.saved_model.load(path)
x = np.load(x_path)
z = m.signatures["encode"](images=tf.constant(x))["z"]
out = m.signatures["serving_default"](z=z)
print("RESULT " + json.dumps({
    "encode_inputs": sorted(m.signatures["encode"].structured_input_signature[1]),
    "z": z.numpy().tolist(), "samples": out["samples"].numpy().tolist(),
    "uint8_shape": list(out["images_uint8"].shape)}))
'''


def _scalars_and_images(run_dir):
    tags = set()
    for path in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_training_logs_reconstructions_and_the_export_round_trips_in_a_fresh_process(tmp_path):
    data = helpers.tiny_images()
    cfg = _config(tmp_path, export=True, sample_every=1, log_every=1)
    result = training.train(cfg, data=data, verbose=0)
    tags = _scalars_and_images(result.run_dir)
    assert {"train/recon_error", "samples/reconstructions", "samples/fixed_z"} <= tags, tags

    x = RNG.uniform(0, 1, (5, 28, 28, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", FRESH, result.export_path,
                           str(tmp_path / "x.npy")], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    z, samples = np.array(out["z"]), np.array(out["samples"])
    assert out["encode_inputs"] == ["images"]
    assert z.shape == (5, 4) and samples.shape == (5, 28, 28, 1)
    assert out["uint8_shape"] == [5, 28, 28, 1]
    # Same numbers as the Keras networks here: E on [-1, 1] images, G's tanh to [0, 1].
    model = result.model
    expected_z = model.encoder(tf.constant(x * 2 - 1), training=False).numpy()
    np.testing.assert_allclose(z, expected_z, rtol=1e-4, atol=1e-5)
    expected = (model.generator(tf.constant(expected_z), training=False).numpy() + 1) / 2
    np.testing.assert_allclose(samples, expected, rtol=1e-4, atol=1e-5)
