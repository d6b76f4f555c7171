"""D's features for the linear probe: the pooled-conv-block map (`nets.features`), its
`features` signature (loaded where tfgan_suite cannot be imported), `evaluate --probe` and
`--export_features` / `export --untrained` end to end."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import evaluate, nets, serving, settings, training
from tfgan_suite.metrics import probe
from tfgan_suite.nets import bigan, features

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)


def numpy_grid_max(a, grid=4):
    """[N, S, S, C] -> [N, cells * cells * C]: max over windows of k = ceil(S / grid) with
    stride k after padding S up to cells * k, half the padding before (floor) and the rest
    after (TensorFlow's "same"; 14 -> one row each side), flattened row-major."""
    n, s, _, c = a.shape
    k = -(-s // grid)
    cells = -(-s // k)
    before = (cells * k - s) // 2
    padded = np.full((n, cells * k, cells * k, c), -np.inf, a.dtype)
    padded[:, before:before + s, before:before + s] = a
    out = padded.reshape(n, cells, k, cells, k, c).max(axis=(2, 4))
    return out.reshape(n, -1)


def block_outputs(body, names, x):
    return [t.numpy() for t in keras.Model(body.inputs, [body.get_layer(n).output
                                                         for n in names])(x, training=False)]


@pytest.mark.parametrize("size, channels, blocks", [(28, 1, 2), (32, 3, 3)])
def test_features_are_every_conv_block_max_pooled_to_a_4x4_grid(size, channels, blocks):
    keras.utils.set_random_seed(0)
    d = nets.build_discriminator("dcgan", data_shape=(size, size, channels), width=4)
    x = tf.random.normal([3, size, size, channels])
    got = features.conv_block_features(d)(x, training=False).numpy()
    names = [f"down{i}_lrelu" for i in range(1, blocks + 1)]
    expected = np.concatenate([numpy_grid_max(a) for a in block_outputs(d, names, x)], 1)
    assert got.shape == (3, 16 * 4 * (2 ** blocks - 1))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_bigan_features_are_the_x_path_of_the_joint_discriminator():
    keras.utils.set_random_seed(1)
    d = bigan.build_joint_discriminator("dcgan", data_shape=(28, 28, 1), latent_dim=5,
                                        width=4)
    x = tf.random.normal([2, 28, 28, 1])
    body = d.get_layer("discriminator_x_features")
    expected = np.concatenate([numpy_grid_max(a) for a in
                               block_outputs(body, ["down1_lrelu", "down2_lrelu"], x)], 1)
    np.testing.assert_allclose(features.conv_block_features(d)(x).numpy(), expected, rtol=1e-6)


def test_networks_without_conv_blocks_have_no_features():
    assert features.conv_block_features(nets.build_discriminator(
        "mlp", data_shape=(28, 28, 1))) is None
    data = helpers.tiny_images()
    for overrides in (dict(variant="gan", architecture="mlp"), dict(variant="cgan"),
                      dict(variant="gan", pack=2)):
        cfg = training.fit_to_data(training.resolve_config(overrides), data)
        model = training.build_model(cfg, data)
        with pytest.raises(settings.ConfigError, match="no discriminator features"):
            model.check_export_features(data)


def _generator():
    keras.utils.set_random_seed(2)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(784, activation="tanh"),
                             keras.layers.Reshape((28, 28, 1))])


def _meta():
    return dict(variant="tiny", dataset="fashion_mnist", latent_dim=8, kind="image",
                data_shape=[28, 28, 1], num_classes=None, step=3, tfgan_suite_version="test")


FRESH = r'''
import json, sys
sys.modules["tfgan_suite"] = None  # the suite cannot be imported here
import numpy as np, tensorflow as tf
with_f, without_f, inputs, out = sys.argv[1:]
arrays = np.load(inputs)
a, b = tf.saved_model.load(with_f), tf.saved_model.load(without_f)
z = tf.constant(arrays["z"])
np.savez(out, features=a.signatures["features"](images=tf.constant(arrays["images"]))["features"].numpy(),
         with_samples=a.signatures["serving_default"](z=z)["samples"].numpy(),
         without_samples=b.signatures["serving_default"](z=z)["samples"].numpy())
try:
    a.signatures["features"](images=tf.zeros([1, 8, 8, 1]))
    bad = None
except Exception as e:
    bad = str(e)
print(json.dumps({"with": sorted(a.signatures), "without": sorted(b.signatures), "bad": bad}))
'''


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe_exports")
    keras.utils.set_random_seed(3)
    d = nets.build_discriminator("dcgan", data_shape=(28, 28, 1), width=4)
    feature_net = features.conv_block_features(d)
    generator = _generator()
    with_f = serving.export_generator(generator, str(root / "with"), meta=_meta(),
                                      features=feature_net)
    without_f = serving.export_generator(generator, str(root / "without"), meta=_meta())
    return dict(root=root, feature_net=feature_net, with_f=with_f, without_f=without_f)


def test_features_signature_loads_without_the_suite_and_leaves_the_others_unchanged(exported):
    work = exported["root"]
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (4, 28, 28, 1)).astype(np.float32)
    z = rng.standard_normal((3, 8)).astype(np.float32)
    np.savez(work / "inputs.npz", images=images, z=z)
    (work / "fresh.py").write_text(FRESH)
    proc = subprocess.run([sys.executable, str(work / "fresh.py"), exported["with_f"],
                           exported["without_f"], str(work / "inputs.npz"),
                           str(work / "out.npz")], capture_output=True, text=True, env=ENV,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["with"] == ["features", "sample", "serving_default"]
    assert report["without"] == ["sample", "serving_default"]
    assert report["bad"] is not None and "28" in report["bad"]
    out = np.load(work / "out.npz")
    # The signature takes [0, 1] images; the network sees them as G makes them, in [-1, 1].
    expected = exported["feature_net"](images * 2 - 1, training=False).numpy()
    np.testing.assert_allclose(out["features"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["with_samples"], out["without_samples"])
    meta = serving.read_meta(exported["with_f"])
    assert meta["feature_dim"] == expected.shape[1] == 3 * 4 * 16
    assert "feature_dim" not in serving.read_meta(exported["without_f"])


def _cli(*args):
    return subprocess.Popen([sys.executable, "-m", "tfgan_suite.evaluate", *args], cwd=ROOT,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_evaluate_probe_scores_the_features_and_refuses_a_model_without_them(exported):
    from tfgan_suite.data import load

    json_out = str(exported["root"] / "probe.json")
    procs = {
        "probe": _cli("--model", exported["with_f"], "--probe", "--probe_train", "300",
                      "--probe_test", "200", "--seed", "4", "--json_out", json_out),
        "none": _cli("--model", exported["without_f"], "--probe"),
    }
    runs = {name: (p.wait(timeout=300), p.stdout.read(), p.stderr.read())
            for name, p in procs.items()}
    code, out, err = runs["probe"]
    assert code == 0, err[-3000:]
    assert "test accuracy" in out and f"Wrote {json_out}" in out
    with open(json_out) as f:
        result = json.load(f)
    assert result["features"] == "features" and result["num_train"] == 300
    # The same probe by hand: the seeded subsets, the Keras feature network, probe_accuracy.
    splits = {}
    for split, n, seed in (("train", 300, 4), ("test", 200, 5)):
        data = load("fashion_mnist", split=split)
        index = np.sort(np.random.default_rng(seed).permutation(len(data.x))[:n])
        x = data.x[index].astype(np.float32) / 127.5 - 1.0
        splits[split] = (exported["feature_net"](x, training=False).numpy(), data.y[index])
    by_hand = probe.probe_accuracy(*splits["train"], *splits["test"], num_classes=10, seed=4)
    assert result["accuracy"] == pytest.approx(by_hand["accuracy"], abs=1 / 200)
    assert result["l2"] == by_hand["l2"]
    code, out, err = runs["none"]
    assert code == 2 and out == ""
    lines = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "`encode`" in lines[0] and "`features`" in lines[0], err[-2000:]
    assert "pixels" in lines[0]
    with pytest.raises(evaluate.EvaluateError, match="no `encode` signature.*features, pixels"):
        evaluate.probe_model(exported["with_f"], features="encode")


def test_export_features_is_refused_before_anything_is_written(tmp_path):
    run_dir = tmp_path / "run"
    cfg = training.resolve_config(dict(variant="gan", architecture="mlp", export_features=True,
                                       steps=1, run_dir=str(run_dir)))
    # train.py turns this ConfigError into one line and exit status 2 (train_cli).
    with pytest.raises(settings.ConfigError, match="--export_features.*dcgan"):
        training.train(cfg, data=helpers.tiny_images(), verbose=0)
    assert not run_dir.exists()


def test_untrained_export_holds_the_networks_as_the_run_started_them(tmp_path):
    data = helpers.tiny_images(n=64)
    cfg = training.resolve_config(dict(
        variant="dcgan", steps=2, batch_size=16, width=4, run_dir=str(tmp_path / "run"),
        export_dir=str(tmp_path / "sm"), export_features=True, checkpoint_every=2,
        sample_every=2, log_every=1))
    keras.utils.set_random_seed(cfg.seed)
    fitted = training.fit_to_data(cfg, data)
    start = [v.numpy() for v in training.build_model(fitted, data).discriminator.weights]
    trained = training.train(cfg, data=data, verbose=0)
    from tfgan_suite import export

    cfg0, spec, model, step = training.restore(cfg.run_dir, untrained=True)
    path = export.export_run(model, cfg0, spec, step, untrained=True)
    assert path == str(tmp_path / "sm" / "dcgan_untrained" / "1")
    meta = serving.read_meta(path)
    assert meta["untrained"] is True and meta["step"] == 0 and meta["variant"] == "dcgan"
    assert serving.read_meta(trained.export_path)["features_of"] == "discriminator"
    for got, at_start, now in zip(model.discriminator.weights, start,
                                  trained.model.discriminator.weights):
        np.testing.assert_array_equal(got.numpy(), at_start)
    assert any(not np.array_equal(a, b.numpy())
               for a, b in zip(start, trained.model.discriminator.weights))
