"""Feature networks: the shipped Fashion-MNIST classifier and InceptionV3."""

import json
import os
import shutil

import numpy as np
import pytest

from tfgan_suite import data
from tfgan_suite.metrics import feature_nets


@pytest.fixture(scope="module")
def classifier():
    return feature_nets.fashion_classifier()


@pytest.fixture(scope="module")
def fashion_test():
    return data.load("fashion_mnist", split="test")


def test_shipped_classifier_reaches_its_recorded_test_accuracy(classifier, fashion_test):
    record = feature_nets.read_fashion_info()
    _, probs = classifier(fashion_test.x)
    accuracy = float(np.mean(np.argmax(probs, axis=1) == fashion_test.y))
    assert len(fashion_test) == record["test_examples"] == 10_000
    np.testing.assert_allclose(accuracy, record["test_accuracy"], atol=0.002)
    assert record["test_accuracy"] >= 0.92


def test_record_describes_the_shipped_weights():
    record = feature_nets.read_fashion_info()
    for key in ("test_accuracy", "epochs", "seed", "tensorflow_version", "keras_version", "date",
                "feature_dim", "weights_sha256"):
        assert key in record, key
    assert record["feature_dim"] == 128
    assert record["weights_sha256"] == feature_nets.file_sha256(feature_nets.FASHION_WEIGHTS)
    assert os.path.getsize(feature_nets.FASHION_WEIGHTS) < 2 * 1024 * 1024


def test_outputs_are_float64_features_and_probabilities(classifier, fashion_test):
    images = fashion_test.x[:37]
    features, probs = classifier(images)
    assert features.dtype == probs.dtype == np.float64
    assert features.shape == (37, 128) and probs.shape == (37, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.feature_dim == 128 and classifier.num_classes == 10


def test_batching_and_input_scale_do_not_change_features(classifier, fashion_test):
    images = fashion_test.x[:23]
    want_f, want_p = classifier(images)  # uint8, one batch
    small = feature_nets.FeatureNet(classifier.name, classifier.model, classifier.input_shape,
                                    lambda x: x * 2.0 - 1.0, classifier.identity, classifier.info,
                                    batch_size=5)
    got_f, got_p = small(images.astype(np.float32) / 255.0)  # float in [0, 1], five batches
    np.testing.assert_allclose(got_f, want_f, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_p, want_p, rtol=1e-5, atol=1e-6)


def test_modified_weights_are_refused(tmp_path):
    weights = tmp_path / "fashion_classifier.weights.h5"
    shutil.copy(feature_nets.FASHION_WEIGHTS, weights)
    with open(weights, "ab") as f:
        f.write(b"\0")
    with pytest.raises(feature_nets.FeatureNetError, match="sha256"):
        feature_nets.fashion_classifier(weights_path=str(weights))


def test_auto_picks_the_classifier_for_fashion_sized_images_only():
    assert feature_nets.resolve_name("auto", (28, 28, 1)) == "fashion_classifier"
    assert feature_nets.resolve_name("auto", (32, 32, 3)) == "inception_v3"
    assert feature_nets.resolve_name("auto", (28, 28, 3)) == "inception_v3"
    with pytest.raises(feature_nets.FeatureNetError, match="use one of: auto, fashion_classifier"):
        feature_nets.resolve_name("vgg16", (28, 28, 1))


def test_classifier_refuses_other_image_shapes():
    with pytest.raises(feature_nets.FeatureNetError,
                       match=r"fashion_classifier takes 28x28x1 images, not 32x32x3"):
        feature_nets.get("fashion_classifier", (32, 32, 3))


def test_missing_inception_weights_say_where_to_put_which_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(feature_nets, "inception_cache_dirs",
                        lambda: [str(tmp_path / "keras" / "models")])
    with pytest.raises(feature_nets.FeatureNetError) as error:
        feature_nets.get("auto", (32, 32, 3))
    message = str(error.value)
    assert "\n" not in message
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert f"{tmp_path / 'keras' / 'models'}/" in message
    assert "--inception_weights=PATH" in message
    assert "--feature_net=fashion_classifier" in message and "offline" in message
    with pytest.raises(feature_nets.FeatureNetError, match="--inception_weights=/no/such.h5: no such file"):
        feature_nets.get("inception_v3", (32, 32, 3), inception_weights="/no/such.h5")


def test_default_inception_cache_is_the_keras_one(monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    dirs = feature_nets.inception_cache_dirs()
    assert dirs[0] == os.path.join(os.path.expanduser("~"), ".keras", "models")


def test_inception_path_has_the_right_shapes_with_random_weights():
    net = feature_nets.inception_v3(weights=None, batch_size=2)
    images = np.random.default_rng(0).random((3, 16, 16, 1)).astype(np.float32)  # grey, small
    features, probs = net(images)  # two batches: 2 + 1
    assert features.shape == (3, 2048) and probs.shape == (3, 1000)
    assert features.dtype == np.float64 and net.feature_dim == 2048
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert net.identity == "inception_v3-random"


def test_record_is_valid_json():
    with open(feature_nets.FASHION_INFO) as f:
        record = json.load(f)
    assert record["name"] == "fashion_classifier"
