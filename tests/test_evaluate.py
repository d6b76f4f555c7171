"""Evaluation: reference cache, the sampler-based core, the evaluate CLI, --eval_every."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tfgan_suite import config as config_lib
from tfgan_suite import data as data_lib
from tfgan_suite import evaluate, serving, training
from tfgan_suite.data import mixtures
from tfgan_suite.metrics import evaluation, feature_nets, reference
from tfgan_suite.metrics.fid import frechet_distance
from tfgan_suite.metrics.kid import kernel_inception_distance
from tfgan_suite.metrics.prdc import prdc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CountingNet:
    """A stand-in feature network: 3 pixel statistics as features, counts its calls."""

    def __init__(self, identity="counting-net"):
        self.identity = identity
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        x = np.asarray(images, np.float64).reshape(len(images), -1)
        if np.asarray(images).dtype == np.uint8:
            x = x / 255.0
        features = np.stack([x.mean(1), x.std(1), x[:, : x.shape[1] // 2].mean(1)], 1)
        logits = features @ np.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 1.0]])
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        return features, probs


# ------------------------------------------------------------------------------------------
# Reference statistics cache.


def test_cache_key_changes_with_each_of_its_parts():
    base = dict(dataset="fashion_mnist", split="test", feature_net="fashion_classifier-abc",
                num_samples=10_000, image_shape=(28, 28, 1))
    key = reference.cache_key(**base)
    assert key == "fashion_mnist-test-28x28x1-fashion_classifier-abc-n10000"
    for name, other in [("dataset", "mnist"), ("split", "train"),
                        ("feature_net", "inception_v3-def"), ("num_samples", 2000),
                        ("image_shape", (32, 32, 1))]:
        assert reference.cache_key(**dict(base, **{name: other})) != key, name
    # Paths in folder: names become file-name safe, and stay distinct.
    a = reference.cache_key(**dict(base, dataset="folder:/data/a b"))
    b = reference.cache_key(**dict(base, dataset="folder:/data/a_b"))
    assert "/" not in a and " " not in a and a != b


def test_second_call_reads_the_cache(tmp_path):
    images = helpers.tiny_images(n=40)
    net = CountingNet()
    kwargs = dict(image_shape=(28, 28, 1), cache_dir=str(tmp_path), data=images)
    first = reference.reference_statistics("tiny", "train", net, 30, **kwargs)
    assert net.calls == 1 and not first.from_cache
    assert os.path.basename(first.path) == first.key + ".npz"
    assert os.listdir(tmp_path) == [first.key + ".npz"]  # no temporary file left behind
    second = reference.reference_statistics("tiny", "train", net, 30, **kwargs)
    assert net.calls == 1 and second.from_cache
    np.testing.assert_array_equal(second.features, first.features)
    np.testing.assert_array_equal(second.mu, first.mu)
    np.testing.assert_array_equal(second.sigma, first.sigma)
    # Each part of the key gives its own entry (the network runs again).
    reference.reference_statistics("tiny", "test", net, 30, **kwargs)
    reference.reference_statistics("tiny2", "train", net, 30, **kwargs)
    reference.reference_statistics("tiny", "train", net, 20, **kwargs)
    reference.reference_statistics("tiny", "train", CountingNet("other-net"), 30, **kwargs)
    assert net.calls == 4
    assert len(os.listdir(tmp_path)) == 5


def test_reference_holds_a_fixed_subset_and_its_moments(tmp_path):
    images = helpers.tiny_images(n=40)
    ref = reference.reference_statistics("tiny", "train", CountingNet(), 25, use_cache=False,
                                         image_shape=(28, 28, 1), data=images)
    assert ref.path is None and ref.features.shape == (25, 3) and ref.size == 25
    chosen = reference.select_subset(40, 25)
    np.testing.assert_array_equal(chosen, reference.select_subset(40, 25))
    assert len(set(chosen)) == 25
    np.testing.assert_allclose(ref.features, CountingNet()(images.x[chosen])[0], rtol=1e-6)
    np.testing.assert_allclose(ref.mu, ref.features.mean(0))
    np.testing.assert_allclose(ref.sigma, np.cov(ref.features, rowvar=False))
    # A split smaller than num_samples is used whole.
    whole = reference.reference_statistics("tiny", "train", CountingNet(), 100, use_cache=False,
                                           image_shape=(28, 28, 1), data=images)
    assert whole.size == 40 and whole.num_samples == 100


def test_corrupt_cache_file_is_recomputed(tmp_path):
    images = helpers.tiny_images(n=20)
    net = CountingNet()
    kwargs = dict(image_shape=(28, 28, 1), cache_dir=str(tmp_path), data=images)
    ref = reference.reference_statistics("tiny", "train", net, 20, **kwargs)
    with open(ref.path, "wb") as f:
        f.write(b"not a zip file")
    again = reference.reference_statistics("tiny", "train", net, 20, **kwargs)
    assert net.calls == 2 and not again.from_cache
    np.testing.assert_array_equal(again.mu, ref.mu)


def test_default_cache_dir(monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert reference.default_cache_dir() == "/somewhere/tfgan_suite/reference"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert reference.default_cache_dir() == os.path.expanduser("~/.cache/tfgan_suite/reference")


def test_reference_rejects_images_of_another_shape():
    with pytest.raises(data_lib.DataError, match=r"shape \[28, 28, 1\].*shape \[32, 32, 3\]"):
        reference.reference_statistics("tiny", "train", CountingNet(), 10, use_cache=False,
                                       image_shape=(32, 32, 3), data=helpers.tiny_images(n=10))


# ------------------------------------------------------------------------------------------
# The evaluation core.


BATCH_SEEDS = r"""
import json, sys
from tfgan_suite.metrics import evaluation
print("RESULT " + json.dumps([evaluation.batch_seed(s, i) for s in range(4) for i in range(50)]))
"""


def test_batch_seeds_are_fixed_across_processes_and_distinct():
    seeds = [evaluation.batch_seed(s, i) for s in range(4) for i in range(50)]
    # Distinct for every (seed, batch) pair, including the swapped pairs (s, i) and (i, s)
    # and the neighbours a sum or a stride would merge.
    assert len(set(seeds)) == 200
    assert evaluation.batch_seed(1, 2) != evaluation.batch_seed(2, 1)
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in seeds)
    # Fixed: a fresh interpreter with another hash seed (Python's hash() of str/bytes changes
    # with it) and its own NumPy state derives the same seeds.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for hash_seed in ("1", "12345"):
        proc = subprocess.run([sys.executable, "-c", BATCH_SEEDS], cwd=root, capture_output=True,
                              text=True, timeout=120,
                              env=dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=root,
                                       TF_CPP_MIN_LOG_LEVEL="2"))
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, proc.stderr[-2000:]
        assert json.loads(lines[-1][len("RESULT "):]) == seeds


def test_samples_come_in_batches_with_derived_seeds():
    calls = []

    def sampler(num, seed):
        calls.append((num, seed))
        return np.full((num, 2), seed % 1000, np.float32)

    samples = evaluation.draw_samples(sampler, 2500, seed=3)
    assert [n for n, _ in calls] == [1000, 1000, 500]
    assert [s for _, s in calls] == [evaluation.batch_seed(3, i) for i in range(3)]
    assert samples.shape == (2500, 2)


def test_evaluate_images_matches_the_metric_functions_applied_by_hand(tmp_path):
    real = helpers.tiny_images(n=60)
    net = CountingNet()
    ref = reference.reference_statistics("tiny", "train", net, 60, use_cache=False,
                                         image_shape=(28, 28, 1), data=real)

    def sampler(num, seed):
        return np.random.default_rng(seed).random((num, 28, 28, 1)).astype(np.float32) ** 2

    result = evaluation.evaluate_images(sampler, 50, ref, net, seed=5, batch_size=20,
                                        kid_subsets=7, kid_subset_size=30)
    features, probs = net(evaluation.draw_samples(sampler, 50, seed=5, batch_size=20))
    mu, sigma = features.mean(0), np.cov(features, rowvar=False)
    np.testing.assert_allclose(result["fid"], frechet_distance(ref.mu, ref.sigma, mu, sigma))
    kid = kernel_inception_distance(ref.features, features, num_subsets=7, subset_size=30, seed=5)
    np.testing.assert_allclose([result["kid_mean"], result["kid_std"]], kid)
    for name, value in prdc(ref.features, features, k=3).items():
        np.testing.assert_allclose(result[name], value)
    assert set(evaluation.IMAGE_METRICS) <= set(result)
    assert result["num_samples"] == 50 and result["timings"]["total_s"] > 0


class LabelNet(CountingNet):
    """A stand-in classifier of C classes: an image filled with (k + 0.5) / C is class k."""

    def __init__(self, num_classes):
        super().__init__("label-net")
        self.num_classes = num_classes

    def __call__(self, images):
        features, _ = super().__call__(images)
        means = np.asarray(images, np.float64).reshape(len(images), -1).mean(1)
        classes = np.clip(np.floor(means * self.num_classes), 0, self.num_classes - 1)
        return features, np.eye(self.num_classes)[classes.astype(int)]


def test_label_accuracy_of_an_obedient_and_a_deaf_conditional_sampler():
    classes = 4
    net = LabelNet(classes)
    ref = reference.reference_statistics("tiny", "train", net, 40, use_cache=False,
                                         image_shape=(28, 28, 1),
                                         data=helpers.tiny_images(n=40))

    def obedient(num, seed):  # draws the labels a conditional SavedModel sampler passes
        labels = evaluation.balanced_labels(num, classes)
        return np.ones((num, 28, 28, 1), np.float32) * ((labels + 0.5) / classes)[:, None, None, None]

    def deaf(num, seed):  # always draws class 3
        return np.full((num, 28, 28, 1), 3.5 / classes, np.float32)

    # Batches of 20, 20 and 10: the labels restart at 0 in each, as the sampler's do.
    result = evaluation.evaluate_images(obedient, 50, ref, net, batch_size=20, kid_subsets=2,
                                        kid_subset_size=10, label_classes=classes)
    assert result["label_accuracy"] == 1.0
    assert result["label_accuracy_per_class"] == [1.0] * classes
    result = evaluation.evaluate_images(deaf, 50, ref, net, batch_size=20, kid_subsets=2,
                                        kid_subset_size=10, label_classes=classes)
    requested = [k % 4 for n in (20, 20, 10) for k in range(n)]  # 12 of the 50 ask for 3
    assert result["label_accuracy"] == pytest.approx(requested.count(3) / 50)
    assert result["label_accuracy_per_class"] == [0.0, 0.0, 0.0, 1.0]
    # Unconditional evaluation reports no label accuracy.
    assert "label_accuracy" not in evaluation.evaluate_images(
        deaf, 50, ref, net, batch_size=20, kid_subsets=2, kid_subset_size=10)
    evaluator = evaluation.Evaluator("image", 50, feature_net=net, reference=ref,
                                     label_classes=classes)
    assert "label_accuracy" not in evaluator(obedient)
    assert evaluator(obedient, conditional=True)["label_accuracy"] == 1.0
    assert ("label accuracy", "1.0000 (chance 0.2500; per class 1.00 1.00 1.00 1.00)") in \
        evaluation.metric_rows(evaluator(obedient, conditional=True), "image")


def test_only_a_classifier_of_the_datasets_own_labels_scores_label_accuracy():
    net = feature_nets.fashion_classifier()
    assert feature_nets.classifies(net, "fashion_mnist")
    assert not feature_nets.classifies(net, "mnist")
    assert not feature_nets.classifies(net, "ring8")


def test_nan_samples_are_an_error():
    net = CountingNet()
    ref = reference.reference_statistics("tiny", "train", net, 10, use_cache=False,
                                         image_shape=(28, 28, 1), data=helpers.tiny_images(n=10))
    with pytest.raises(ValueError, match="NaN or Inf"):
        evaluation.evaluate_images(lambda n, s: np.full((n, 28, 28, 1), np.nan), 10, ref, net)


def test_real_test_images_score_far_better_than_noise_on_the_shipped_classifier(tmp_path):
    net = feature_nets.fashion_classifier()
    ref = reference.reference_statistics("fashion_mnist", "train", net, 5000,
                                         image_shape=(28, 28, 1), cache_dir=str(tmp_path))
    train = data_lib.load("fashion_mnist", split="train")
    test = data_lib.load("fashion_mnist", split="test")
    unused = np.setdiff1d(np.arange(len(train)), reference.select_subset(len(train), 5000))
    noise = np.random.default_rng(0).random((2000, 28, 28, 1)).astype(np.float32)

    def fid(images):
        features, _ = net(images)
        return frechet_distance(ref.mu, ref.sigma, features.mean(0), np.cov(features, rowvar=False))

    real_fid, train_fid, noise_fid = fid(test.x[:2000]), fid(train.x[unused[:2000]]), fid(noise)
    # Measured with the shipped net: test 2.46, other train images 3.02, noise 747.
    print(f"FID vs the train reference (5,000 images) of 2,000 test images: {real_fid:.2f}; "
          f"of 2,000 other train images: {train_fid:.2f}; of 2,000 noise images: {noise_fid:.0f}")
    # Real test images are as close as other training images (finite-sample bias only)...
    assert 0.0 < real_fid < 1.5 * train_fid
    # ...and far closer than noise.
    assert noise_fid / real_fid > 100.0


# ------------------------------------------------------------------------------------------
# Tiny exported generators and the CLI.


class RingMeans(keras.layers.Layer):
    """z -> exactly one of the ring8 means, picked by the argmax of z's first 8 entries."""

    def call(self, z):
        means = tf.constant(data_lib.MIXTURES["ring8"][0], tf.float32)
        return tf.gather(means, tf.argmax(z[:, :8], axis=1))


class ImageOfLabel(keras.layers.Layer):
    """[z, label] -> table[label] (or table[0] for every label when `deaf`)."""

    def __init__(self, table, deaf=False, **kwargs):
        super().__init__(**kwargs)
        self.table = np.asarray(table, np.float32)
        self.deaf = deaf

    def call(self, inputs):
        z, label = inputs
        index = tf.zeros_like(label) if self.deaf else label
        return tf.gather(tf.constant(self.table), index) + 0.0 * z[:, :1, None, None]


def test_evaluate_cli_scores_the_label_accuracy_of_a_conditional_saved_model(tmp_path):
    net = feature_nets.fashion_classifier()
    test = data_lib.load("fashion_mnist", split="test")
    _, probs = net(test.x[:500])
    # One real test image per class that the classifier gets right.
    picks = [int(np.flatnonzero((test.y[:500] == k) & (probs.argmax(1) == k))[0]) for k in range(10)]
    table = test.x[picks].astype(np.float32) / 127.5 - 1.0
    results = {}
    for name, deaf in (("obedient", False), ("deaf", True)):
        z = keras.Input((8,))
        label = keras.Input((), dtype="int32")
        generator = keras.Model([z, label], ImageOfLabel(table, deaf)([z, label]))
        model_dir = serving.export_generator(generator, str(tmp_path / name),
                                             meta=_meta(num_classes=10))
        results[name] = evaluate.evaluate_model(model_dir, num_samples=200,
                                                cache_dir=str(tmp_path / "cache"))
    assert results["obedient"]["label_accuracy"] == 1.0
    # The deaf model draws class 0 whatever it is asked: right for the 20 of 200 asking for 0.
    assert results["deaf"]["label_accuracy"] == pytest.approx(0.1)
    assert results["deaf"]["label_accuracy_per_class"] == [1.0] + [0.0] * 9
    assert "label accuracy  0.1000" in evaluate.format_table(results["deaf"])


def _meta(**changes):
    meta = dict(variant="tiny", dataset="fashion_mnist", latent_dim=8, kind="image",
                data_shape=[28, 28, 1], num_classes=None, step=3, tfgan_suite_version="test")
    meta.update(changes)
    return meta


def _image_generator(size=28, channels=1):
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(size * size * channels, activation="tanh"),
        keras.layers.Reshape((size, size, channels)),
    ])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Exports three tiny generators and runs every CLI case at once (in parallel)."""
    root = tmp_path_factory.mktemp("evaluate")
    image_base = str(root / "saved_models" / "tiny")
    generator = _image_generator()
    image_dir = serving.export_generator(generator, image_base, meta=_meta())
    ring_base = str(root / "saved_models" / "ring")
    ring_dir = serving.export_generator(
        keras.Sequential([keras.Input((8,)), RingMeans()]), ring_base,
        meta=_meta(dataset="ring8", kind="points", data_shape=[2]))
    color_base = str(root / "saved_models" / "color")
    serving.export_generator(_image_generator(8, 3), color_base,
                             meta=_meta(data_shape=[8, 8, 3]))
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2",
               KERAS_HOME=str(root / "keras_home"), XDG_CACHE_HOME=str(root / "cache"))
    cases = {
        "image": ["--model", image_base, "--dataset", "fashion_mnist", "--num_samples", "200",
                  "--seed", "1"],
        "ring": ["--model", ring_base, "--dataset", "ring8"],
        "unknown_net": ["--model", image_base, "--feature_net", "vgg"],
        "missing": ["--model", str(root / "nothing_here")],
    }
    procs = {name: subprocess.Popen([sys.executable, "-m", "tfgan_suite.evaluate", *args],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in cases.items()}
    runs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        runs[name] = (proc.returncode, out, err)
    return dict(root=root, generator=generator, image_base=image_base, image_dir=image_dir,
                ring_base=ring_base, ring_dir=ring_dir, color_base=color_base, runs=runs)


def test_cli_prints_the_table_and_writes_json(exported):
    code, out, err = exported["runs"]["image"]
    assert code == 0, err
    for text in ("FID", "KID", "IS", "precision", "recall", "density", "coverage",
                 "fashion_classifier (128-d features", "generated samples: 200",
                 "200 real images of fashion_mnist (test split)", "±"):
        assert text in out, text
    path = os.path.join(os.path.dirname(exported["image_dir"]), "eval_1.json")
    assert f"Wrote {path}" in out
    with open(path) as f:
        result = json.load(f)
    for key in evaluation.IMAGE_METRICS + ("num_samples", "seed", "split", "reference_samples",
                                           "feature_net", "dataset", "model_dir", "timings",
                                           "kid_subsets", "prdc_k", "step", "variant"):
        assert key in result, key
    assert result["num_samples"] == 200 and result["reference_samples"] == 200
    assert result["split"] == "test" and result["seed"] == 1
    assert result["feature_net"]["name"] == "fashion_classifier"
    assert all(np.isfinite(result[k]) for k in evaluation.IMAGE_METRICS)
    assert 0 <= result["precision"] <= 1 and 1 <= result["is_mean"] <= 10
    # A random tanh layer is far from Fashion-MNIST.
    assert result["fid"] > 50


def test_cli_two_d_model_on_the_ring_means_covers_all_modes(exported):
    code, out, err = exported["runs"]["ring"]
    assert code == 0, err
    assert "modes covered" in out and "8 / 8" in out and "100.0 %" in out
    with open(os.path.join(exported["ring_base"], "eval_1.json")) as f:
        result = json.load(f)
    assert result["modes_covered"] == 8 and result["num_modes"] == 8
    assert result["num_samples"] == 2500 and result["high_quality_fraction"] == 1.0
    # Reverse KL by hand from the same 2,500 samples.
    sample_fn = tf.saved_model.load(exported["ring_dir"]).signatures["sample"]
    points = evaluation.draw_samples(evaluation.saved_model_sampler(sample_fn, "points"), 2500, 0)
    means = data_lib.MIXTURES["ring8"][0]
    counts = np.array([np.sum(np.all(np.isclose(points, m, atol=1e-6), axis=1)) for m in means])
    assert counts.sum() == 2500
    q = counts / 2500
    np.testing.assert_allclose(result["reverse_kl"], np.sum(q * np.log(q * 8)), rtol=1e-6)


def _error_line(run):
    """The one `error:` line of a failed run (TensorFlow may log other lines to stderr)."""
    code, out, err = run
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and out == "" and len(lines) == 1, err[-2000:]
    return lines[0]


def test_a_dataset_the_model_was_not_trained_on_is_refused(exported):
    with pytest.raises(evaluate.EvaluateError) as error:
        evaluate.evaluate_model(exported["image_dir"], dataset="mnist")
    message = str(error.value)
    assert message.startswith("--dataset=mnist does not match the model") and "\n" not in message
    assert "was trained on fashion_mnist" in message and "Use --dataset=fashion_mnist" in message


def test_missing_inception_weights_name_the_file_to_put_where(exported, monkeypatch):
    keras_home = exported["root"] / "keras_home"
    monkeypatch.setattr(feature_nets, "inception_cache_dirs", lambda: [str(keras_home / "models")])
    with pytest.raises(evaluate.EvaluateError) as error:
        evaluate.evaluate_model(exported["color_base"], num_samples=20)  # 8x8x3: auto = inception
    message = str(error.value)
    assert "\n" not in message
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert str(keras_home / "models") in message and "--feature_net=fashion_classifier" in message


def test_cli_usage_errors_are_one_line(exported):
    # In a subprocess: the command line's exit status 2 and single `error:` line.
    for name, expected in [("unknown_net", "--feature_net=vgg is not accepted"),
                           ("missing", "does not exist")]:
        assert expected in _error_line(exported["runs"][name]), name


def test_python_and_saved_model_samplers_draw_the_same_samples(exported):
    generator = exported["generator"]
    python = evaluation.keras_sampler(lambda z, labels: generator(z, training=False), 8, "image")
    sample_fn = tf.saved_model.load(exported["image_dir"]).signatures["sample"]
    saved = evaluation.saved_model_sampler(sample_fn, "image")
    np.testing.assert_allclose(python(16, 12345), saved(16, 12345), atol=1e-6)


def test_json_has_null_for_nan(tmp_path):
    path = str(tmp_path / "out" / "eval.json")
    evaluate.write_json({"reverse_kl": float("nan"), "timings": {"total_s": 1.5}}, path)
    with open(path) as f:
        assert json.load(f) == {"reverse_kl": None, "timings": {"total_s": 1.5}}


def test_default_json_path_is_next_to_the_versions():
    assert evaluate.default_json_path("/m/dcgan/3") == "/m/dcgan/eval_3.json"
    assert evaluate.default_json_path("/m/dcgan/3/") == "/m/dcgan/eval_3.json"


# ------------------------------------------------------------------------------------------
# --eval_every during training.


def _scalars(run_dir):
    """{tag: [(step, value), ...]} of the run's TensorBoard scalars (stored as tensors)."""
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
            for tag in acc.Tags()["tensors"] if tag.startswith("eval/")}


def _cfg(tmp_path, **overrides):
    settings = dict(variant="nsgan", width=8, latent_dim=8, batch_size=16, steps=4,
                    checkpoint_every=100, sample_every=100, log_every=100, seed=3,
                    run_dir=str(tmp_path / "run"), export=False)
    settings.update(overrides)
    return training.resolve_config(settings)


def test_eval_every_logs_mode_metrics_for_2d_data(tmp_path):
    x, y = mixtures.sample_mixture("ring8", 256, seed=0)
    data = data_lib.ArrayData("ring8", "points", x, y, 8)
    result = training.train(_cfg(tmp_path, eval_every=2, eval_samples=300), data=data, verbose=0)
    scalars = _scalars(result.run_dir)
    for tag in ("eval/modes_covered@300", "eval/high_quality@300", "eval/reverse_kl@300"):
        assert [step for step, _ in scalars[tag]] == [2, 4], tag
    assert all(0 <= value <= 8 for _, value in scalars["eval/modes_covered@300"])


@pytest.mark.filterwarnings("ignore:FID. product of covariances is singular")  # 30 samples < 128-d
def test_eval_every_logs_image_metrics_with_the_sample_size_in_the_tag(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = helpers.tiny_images(n=40)
    result = training.train(_cfg(tmp_path, variant="dcgan", steps=2, eval_every=2,
                                 eval_samples=30), data=data, verbose=0)
    scalars = _scalars(result.run_dir)
    for name in ("fid", "kid", "is", "precision", "recall", "density", "coverage"):
        [(step, value)] = scalars[f"eval/{name}@30"]
        assert step == 2 and np.isfinite(value), name
    assert os.listdir(tmp_path / "cache" / "tfgan_suite" / "reference")


def test_eval_every_logs_label_accuracy_for_a_conditional_model_on_fashion_mnist(tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tiny = helpers.tiny_images(n=40)
    data = data_lib.ArrayData("fashion_mnist", "image", tiny.x, tiny.y, 10)
    for variant, expected in (("cgan", True), ("dcgan", False)):
        result = training.train(_cfg(tmp_path, variant=variant, steps=2, eval_every=2,
                                     eval_samples=30, run_dir=str(tmp_path / variant)),
                                data=data, verbose=0)
        scalars = _scalars(result.run_dir)
        assert ("eval/label_accuracy@30" in scalars) == expected, variant
        if expected:
            [(step, value)] = scalars["eval/label_accuracy@30"]
            assert step == 2 and 0.0 <= value <= 1.0


def test_eval_every_without_a_feature_net_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(feature_nets, "inception_cache_dirs", lambda: [str(tmp_path / "none")])
    data = helpers.tiny_images(n=8, size=32, channels=3)
    with pytest.raises(config_lib.ConfigError, match="--eval_every=5: InceptionV3 ImageNet weights"):
        training.train(_cfg(tmp_path, variant="dcgan", eval_every=5), data=data, verbose=0)
    assert not os.path.exists(tmp_path / "run")


def test_eval_settings_are_checked():
    with pytest.raises(config_lib.ConfigError, match="--eval_every must be >= 0"):
        training.resolve_config(dict(eval_every=-1))
    with pytest.raises(config_lib.ConfigError, match="--eval_samples must be >= 10"):
        training.resolve_config(dict(eval_samples=3))
