"""cgan: the conditional nets against hand-computed references, the step (graph and XLA),
the unlabelled-data error, and the exported `label` contract in a fresh process.

Two replicas: test_replicas.py; quality on ring8: test_cgan_bigan_quality.py.
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
from tfgan_suite import images, training
from tfgan_suite.data import DataError, make_dataset
from tfgan_suite.nets import conditional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
RNG = np.random.default_rng(0)


def _sub_output(model, layer_name, inputs):
    """The output of `layer_name` inside a functional model, for the given inputs."""
    return keras.Model(model.inputs, model.get_layer(layer_name).output)(inputs).numpy()


def test_generator_feeds_z_next_to_the_label_embedding():
    g = conditional.build_generator("dcgan", data_shape=(32, 32, 3), latent_dim=6,
                                    num_classes=4, embedding_dim=3, width=4)
    z = RNG.standard_normal((5, 6)).astype(np.float32)
    y = np.array([0, 3, 1, 3, 2], np.int32)
    table = g.get_layer("label_embedding").embeddings.numpy()
    np.testing.assert_allclose(_sub_output(g, "z_and_label", [z, y]),
                               np.concatenate([z, table[y]], axis=1), rtol=1e-6)
    assert g([z, y]).shape == (5, 32, 32, 3)


def test_concat_discriminator_sees_the_label_as_constant_feature_maps():
    d = conditional.build_discriminator("dcgan", data_shape=(28, 28, 1), num_classes=10,
                                        embedding_dim=3, width=4)
    x = RNG.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    y = np.array([0, 9, 4, 4], np.int32)
    table = d.get_layer("label_embedding").embeddings.numpy()
    joined = _sub_output(d, "x_and_label", [x, y])
    expected = np.concatenate([x, np.broadcast_to(table[y][:, None, None, :], (4, 28, 28, 3))],
                              axis=-1)
    np.testing.assert_allclose(joined, expected, rtol=1e-6)
    # The label changes the verdict on the same image.
    logits = d([np.repeat(x[:1], 2, 0), np.array([0, 9], np.int32)]).numpy()
    assert d([x, y]).shape == (4, 1) and abs(logits[0, 0] - logits[1, 0]) > 1e-6


def test_concat_discriminator_on_points_joins_the_embedding_to_the_input():
    d = conditional.build_discriminator("mlp", data_shape=(2,), num_classes=8,
                                        embedding_dim=5, width=4, norm="none")
    x = RNG.standard_normal((3, 2)).astype(np.float32)
    y = np.array([7, 0, 2], np.int32)
    table = d.get_layer("label_embedding").embeddings.numpy()
    np.testing.assert_allclose(_sub_output(d, "x_and_label", [x, y]),
                               np.concatenate([x, table[y]], axis=1), rtol=1e-6)


@pytest.mark.parametrize("architecture, shape", [("mlp", (2,)), ("dcgan", (64, 64, 1))])
def test_projection_discriminator_is_psi_of_phi_plus_inner_product(architecture, shape):
    d = conditional.build_discriminator(architecture, data_shape=shape, num_classes=3,
                                        conditioning="projection", width=4, norm="none")
    x = RNG.standard_normal((5,) + shape).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0], np.int32)
    phi = d.get_layer("discriminator_features")([x]).numpy()
    w, b = [v.numpy() for v in d.get_layer("logits").weights]
    v = d.get_layer("label_projection").embeddings.numpy()
    expected = phi @ w + b + np.sum(v[y] * phi, axis=1, keepdims=True)
    np.testing.assert_allclose(d([x, y]).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_bad_conditioning_is_refused():
    with pytest.raises(ValueError, match="conditioning must be one of concat, projection"):
        conditional.build_discriminator("mlp", data_shape=(2,), num_classes=3,
                                        conditioning="film")
    with pytest.raises(ValueError, match="use one of: concat, projection"):
        training.resolve_config({"variant": "cgan", "conditioning": "film"})


def _config(tmp_path, **overrides):
    settings = dict(variant="cgan", width=8, batch_size=8, steps=3, seed=1, d_steps=2,
                    run_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"))
    settings.update(overrides)
    return training.resolve_config(settings)


# XLA compiles slowly on CPU: one critic update per step there keeps the graph small.
@pytest.mark.parametrize("jit, conditioning, loss, d_steps", [
    ("false", "concat", "non_saturating", 2), ("true", "projection", "hinge", 1)])
def test_steps_with_and_without_xla(tmp_path, jit, conditioning, loss, d_steps):
    data = helpers.tiny_points()
    cfg = training.fit_to_data(_config(tmp_path, jit_compile=jit, conditioning=conditioning,
                                       loss=loss, d_steps=d_steps), data)
    model = training.build_model(cfg, data)
    assert model.jit_compile is (jit == "true")
    ds = make_dataset(data, batch_size=cfg.batch_size, batches_per_step=cfg.d_steps,
                      seed=cfg.seed, with_labels=True)
    history = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0).history
    assert int(model.step.numpy()) == 2
    assert int(model.d_optimizer.iterations.numpy()) == 2 * d_steps
    assert all(np.isfinite(history[k][-1]) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert all(np.all(np.isfinite(v.numpy())) for v in model.generator.weights)


def test_unlabelled_data_fails_before_anything_is_written(tmp_path):
    cfg = _config(tmp_path)
    with pytest.raises(DataError, match="--variant=cgan needs a labelled dataset"):
        training.train(cfg, data=helpers.tiny_images(labels=False), verbose=0)
    assert not (tmp_path / "run").exists()
    # Through the CLI: one line, exit status 2 (folder: datasets have no labels).
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(2):
        images.write_png(str(folder / f"{i}.png"), np.full((28, 28, 3), 40 * i, np.uint8))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--variant=cgan",
                           f"--dataset=folder:{folder}", "--image_size=28"], cwd=tmp_path,
                          env=ENV, capture_output=True, text=True, timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-2000:]
    assert "needs a labelled dataset" in errors[0] and "ring8" in errors[0]
    assert not (tmp_path / "runs").exists()


FRESH = r'''
import json, sys
sys.modules["tfgan_suite"] = None  # the suite must not be needed
import numpy as np, tensorflow as tf
path, z_path = sys.argv[1:]
m = tf.saved_model.load(path)
z = np.load(z_path)
out = {"inputs": {k: sorted(f.structured_input_signature[1]) for k, f in m.signatures.items()}}
labels = tf.constant([0, 7, 3, 3], tf.int32)
serve, sample = m.signatures["serving_default"], m.signatures["sample"]
num, seed = tf.constant(4), tf.constant(1, tf.int64)
out["served"] = serve(z=tf.constant(z), label=labels)["samples"].numpy().tolist()
out["sampled_shape"] = list(sample(num=num, seed=seed, label=labels)["samples"].shape)
bad = tf.constant([0, 8, 1, -1], tf.int32)
for name, call in [("serving_default", lambda: serve(z=tf.constant(z), label=bad)),
                   ("sample", lambda: sample(num=num, seed=seed, label=bad))]:
    try:
        call()
        out[name + "_error"] = None
    except Exception as e:
        out[name + "_error"] = str(e)
print("RESULT " + json.dumps(out))
'''


def test_export_takes_label_and_refuses_out_of_range_labels_in_a_fresh_process(tmp_path):
    data = helpers.tiny_points()
    cfg = training.fit_to_data(_config(tmp_path), data)
    model = training.build_model(cfg, data)
    export_path = model.export(cfg, data, step=0)
    z = RNG.standard_normal((4, cfg.latent_dim)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    expected = model.generate(tf.constant(z), tf.constant([0, 7, 3, 3])).numpy()
    meta = json.loads((tmp_path / "exports" / "cgan" / "1" / "assets.extra" /
                       "tfgan_suite.json").read_text())
    assert meta["num_classes"] == 8 and meta["variant"] == "cgan"

    proc = subprocess.run([sys.executable, "-c", FRESH, export_path,
                           str(tmp_path / "z.npy")], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["inputs"]["serving_default"] == ["label", "z"]
    assert out["inputs"]["sample"] == ["label", "num", "seed"]
    np.testing.assert_allclose(np.array(out["served"]), expected, rtol=1e-5, atol=1e-6)
    assert out["sampled_shape"] == [4, 2]
    for name in ("serving_default", "sample"):
        assert f"{name}: label must be in [0, 8), got [8, -1]" in out[name + "_error"], out
