"""Feature networks that turn images into the features and class probabilities the metrics need.

Why: FID, KID and precision/recall/density/coverage compare sets of images in the feature
space of a fixed network, and the Inception Score needs its class probabilities. Two
networks are offered:

  * `fashion_classifier`: a small CNN trained on Fashion-MNIST by
    `python -m tfgan_suite.metrics.train_classifier` and shipped in the package
    (`metrics/weights/`), so evaluation works offline and deterministically. Its test
    accuracy and the sha256 of its weights are recorded in `fashion_classifier.json`; the
    weights are checked against that hash when loaded. Features: the 128-d pre-activation
    of its penultimate dense layer; probabilities: its softmax over the 10 classes.
  * `inception_v3`: Keras' InceptionV3 with its ImageNet weights, as in the FID/IS
    literature (2048-d pool features, 1000-class softmax), when the weights file is on
    this machine. Images are resized to 299x299 (bilinear), grey images replicated to
    3 channels, and scaled to [-1, 1] (Inception's preprocessing).

Every network takes images as float NHWC in [0, 1] (what the exported `sample` signature
returns) or uint8 NHWC in [0, 255], and returns NumPy float64 `(features, probs)`:

    net = get("auto", image_shape=(28, 28, 1))        # -> fashion_classifier
    features, probs = net(images)                     # (N, 128), (N, 10)
"""

import hashlib
import json
import os
from typing import Optional, Sequence, Tuple

import numpy as np

FASHION_CLASSIFIER = "fashion_classifier"
INCEPTION_V3 = "inception_v3"
NAMES = ("auto", FASHION_CLASSIFIER, INCEPTION_V3)

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
FASHION_WEIGHTS = os.path.join(WEIGHTS_DIR, "fashion_classifier.weights.h5")
FASHION_INFO = os.path.join(WEIGHTS_DIR, "fashion_classifier.json")
FASHION_SHAPE = (28, 28, 1)
FASHION_FEATURE_LAYER = "features"

INCEPTION_FILENAME = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
INCEPTION_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                 + INCEPTION_FILENAME)
INCEPTION_SIZE = 299


class FeatureNetError(ValueError):
    """A feature network cannot be used: unknown name, missing weights, wrong image shape."""


def build_fashion_classifier():
    """The Fashion-MNIST classifier, untrained: 28x28x1 images in [-1, 1] -> 10 logits.

    Three blocks conv3x3 -> batch norm -> ReLU -> 2x2 max-pool (32, 64, 128 channels;
    28 -> 14 -> 7 -> 3), flatten (1152), dense 128 named `features` (its pre-activation
    is the feature vector), ReLU, dropout 0.3, dense 10 named `logits`. About 242k
    parameters (under 1 MB of float32 weights).

    Returns:
        A `keras.Model` mapping [N, 28, 28, 1] float32 to [N, 10] logits.
    """
    import keras
    from keras import layers

    inputs = keras.Input(FASHION_SHAPE, name="images")
    h = inputs
    for i, filters in enumerate((32, 64, 128)):
        h = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(h)
        h = layers.BatchNormalization(name=f"bn{i}")(h)
        h = layers.ReLU(name=f"relu{i}")(h)
        h = layers.MaxPooling2D(name=f"pool{i}")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(128, name=FASHION_FEATURE_LAYER)(h)
    h = layers.ReLU(name="features_relu")(h)
    h = layers.Dropout(0.3, name="dropout")(h)
    logits = layers.Dense(10, name="logits")(h)
    return keras.Model(inputs, logits, name=FASHION_CLASSIFIER)


def file_sha256(path: str) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_fashion_info(info_path: str = FASHION_INFO) -> dict:
    """The training record of the shipped classifier (accuracy, seed, sha256, ...)."""
    try:
        with open(info_path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FeatureNetError(
            f"{info_path} is missing: the fashion_classifier is not installed; create it with "
            "`python -m tfgan_suite.metrics.train_classifier`") from None
    except (OSError, ValueError) as e:
        raise FeatureNetError(f"cannot read {info_path}: {e}") from None


class FeatureNet:
    """A Keras network that maps images to (features, probabilities), batch by batch.

    Args:
        name: `fashion_classifier` or `inception_v3`.
        model: a `keras.Model` taking preprocessed float32 images and returning
            `[features, probs]`.
        input_shape: the image shape (H, W, C) it accepts, or None for any size
            (Inception resizes everything to 299x299).
        preprocess: a TensorFlow function mapping float32 images in [0, 1] to the
            model's input.
        identity: a string that changes whenever the features would (name and weights
            hash); part of the reference-statistics cache key.
        info: a JSON-serialisable dict describing the network (for reports).
        batch_size: images per forward pass.
    """

    def __init__(self, name, model, input_shape, preprocess, identity, info, batch_size=500):
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
        self.name = name
        self.model = model
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.identity = identity
        self.info = dict(info)
        self.batch_size = int(batch_size)
        feature_out, prob_out = model.outputs
        self.feature_dim = int(feature_out.shape[-1])
        self.num_classes = int(prob_out.shape[-1])
        self._preprocess = preprocess
        self._forward = {}  # image shape -> tf.function traced once for [None, H, W, C]

    def _forward_for(self, image_shape):
        """One traced function per image shape; the batch dimension stays unknown."""
        import tensorflow as tf

        if image_shape not in self._forward:
            def forward(images):
                features, probs = self.model(self._preprocess(images), training=False)
                return tf.cast(features, tf.float32), tf.cast(probs, tf.float32)

            spec = tf.TensorSpec([None, *image_shape], tf.float32)
            self._forward[image_shape] = tf.function(forward, input_signature=[spec])
        return self._forward[image_shape]

    def check_shape(self, image_shape: Sequence[int]) -> None:
        """Raises FeatureNetError when images of `image_shape` (H, W, C) cannot be embedded."""
        _check_shape(self.name, self.input_shape, image_shape)

    def __call__(self, images) -> Tuple[np.ndarray, np.ndarray]:
        """Features and class probabilities of `images`.

        Args:
            images: NHWC array, float in [0, 1] or uint8 in [0, 255].

        Returns:
            `(features, probs)`: float64 arrays [N, feature_dim] and [N, num_classes].
        """
        images = np.asarray(images)
        if images.ndim != 4:
            raise FeatureNetError(f"{self.name} embeds a batch of images [N, H, W, C]; got an "
                                  f"array of shape {list(images.shape)}")
        image_shape = tuple(int(d) for d in images.shape[1:])
        self.check_shape(image_shape)
        forward = self._forward_for(image_shape)
        scale = 1.0 / 255.0 if images.dtype == np.uint8 else 1.0
        features, probs = [], []
        for start in range(0, images.shape[0], self.batch_size):
            batch = images[start:start + self.batch_size].astype(np.float32) * np.float32(scale)
            f, p = forward(batch)
            features.append(f.numpy())
            probs.append(p.numpy())
        if not features:
            return np.zeros((0, self.feature_dim)), np.zeros((0, self.num_classes))
        return (np.concatenate(features).astype(np.float64),
                np.concatenate(probs).astype(np.float64))


def _check_shape(name, input_shape, image_shape) -> None:
    image_shape = tuple(int(d) for d in image_shape)
    if len(image_shape) != 3:
        raise FeatureNetError(f"{name} embeds images [H, W, C]; got samples of shape "
                              f"{list(image_shape)}")
    if input_shape is not None and image_shape != tuple(input_shape):
        raise FeatureNetError(
            f"--feature_net={name}: {name} takes {'x'.join(map(str, input_shape))} images, "
            f"not {'x'.join(map(str, image_shape))}; use --feature_net=inception_v3 (or auto) "
            "for other image shapes")
    if image_shape[-1] not in (1, 3):
        raise FeatureNetError(f"{name} takes images with 1 or 3 channels, not {image_shape[-1]}")


def fashion_classifier(weights_path: str = FASHION_WEIGHTS, info_path: str = FASHION_INFO,
                       batch_size: int = 500) -> FeatureNet:
    """The shipped Fashion-MNIST classifier as a FeatureNet (128-d features, 10 classes).

    The weights file must match the sha256 recorded in `info_path` by the training script,
    so that a stale or corrupt file cannot silently change every reported number.

    Raises:
        FeatureNetError: the weights or their record are missing, or do not match.
    """
    import keras

    info = read_fashion_info(info_path)
    if not os.path.isfile(weights_path):
        raise FeatureNetError(f"{weights_path} is missing: the fashion_classifier weights are not "
                              "installed; create them with "
                              "`python -m tfgan_suite.metrics.train_classifier`")
    digest = file_sha256(weights_path)
    if digest != info.get("weights_sha256"):
        raise FeatureNetError(f"{weights_path} has sha256 {digest[:12]}..., but {info_path} records "
                              f"{str(info.get('weights_sha256'))[:12]}...; reinstall the package or "
                              "retrain with `python -m tfgan_suite.metrics.train_classifier`")
    classifier = build_fashion_classifier()
    classifier.load_weights(weights_path)
    features = classifier.get_layer(FASHION_FEATURE_LAYER).output
    probs = keras.layers.Softmax(name="probs")(classifier.output)
    model = keras.Model(classifier.input, [features, probs], name="fashion_classifier_features")
    summary = {"name": FASHION_CLASSIFIER, "feature_dim": 128, "num_classes": 10,
               "test_accuracy": info.get("test_accuracy"), "weights_sha256": digest}
    return FeatureNet(FASHION_CLASSIFIER, model, FASHION_SHAPE,
                      preprocess=lambda x: x * 2.0 - 1.0,
                      identity=f"{FASHION_CLASSIFIER}-{digest[:12]}", info=summary,
                      batch_size=batch_size)


def inception_cache_dirs():
    """Where Keras keeps downloaded weights: $KERAS_HOME/models (default ~/.keras/models),
    and /tmp/.keras/models, its fallback when the home directory is not writable."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [os.path.join(home, "models"), os.path.join("/tmp", ".keras", "models")]


def find_inception_weights(path: Optional[str] = None) -> str:
    """The InceptionV3 ImageNet weights file to use.

    Args:
        path: an explicit `.h5` file (`--inception_weights`), or None to look in the
            Keras cache (see `inception_cache_dirs`).

    Returns:
        The path of the weights file.

    Raises:
        FeatureNetError: with a one-line message saying which file to put where.
    """
    offline = (f"or use --feature_net={FASHION_CLASSIFIER}, which works offline "
               "(28x28x1 images)")
    if path:
        if os.path.isfile(path):
            return path
        raise FeatureNetError(f"--inception_weights={path}: no such file; it must be "
                              f"{INCEPTION_FILENAME} (from {INCEPTION_URL}), {offline}")
    candidates = [os.path.join(d, INCEPTION_FILENAME) for d in inception_cache_dirs()]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise FeatureNetError(
        f"InceptionV3 ImageNet weights not found: download {INCEPTION_URL} and put "
        f"{INCEPTION_FILENAME} in {os.path.dirname(candidates[0])}/ (or pass "
        f"--inception_weights=PATH), {offline}")


def inception_v3(weights: Optional[str] = "imagenet", batch_size: int = 50) -> FeatureNet:
    """InceptionV3 as a FeatureNet: 2048-d pool features and its 1000-class softmax.

    Args:
        weights: `"imagenet"` (the Keras cache, see `find_inception_weights`), a path to
            the `.h5` file, or None for random weights (only to check shapes in tests;
            such features mean nothing).
        batch_size: images per forward pass (299x299x3 inputs; 50 keeps memory near 1 GB).

    Raises:
        FeatureNetError: the weights file is not on this machine.
    """
    import keras
    import tensorflow as tf

    if weights is None:
        path, identity = None, f"{INCEPTION_V3}-random"
    else:
        path = find_inception_weights(None if weights == "imagenet" else weights)
        identity = f"{INCEPTION_V3}-{file_sha256(path)[:12]}"
    base = keras.applications.InceptionV3(include_top=True, weights=None)
    if path is not None:
        try:
            base.load_weights(path)
        except Exception as e:  # A wrong or truncated file: say which one.
            raise FeatureNetError(f"cannot load InceptionV3 weights from {path} ({type(e).__name__}: "
                                  f"{str(e).splitlines()[0] if str(e) else ''}); it must be "
                                  f"{INCEPTION_FILENAME} from {INCEPTION_URL}") from None
    model = keras.Model(base.input, [base.get_layer("avg_pool").output, base.output],
                        name="inception_v3_features")

    def preprocess(images):
        images = tf.image.resize(images, [INCEPTION_SIZE, INCEPTION_SIZE], method="bilinear")
        if images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, 3])
        return images * 2.0 - 1.0  # keras.applications.inception_v3.preprocess_input on [0, 1]

    info = {"name": INCEPTION_V3, "feature_dim": 2048, "num_classes": 1000,
            "weights": path or "random (shape tests only)"}
    return FeatureNet(INCEPTION_V3, model, None, preprocess, identity, info, batch_size)


# The dataset whose labels a network's classes are: only then is the label accuracy of a
# conditional generator meaningful (Inception's ImageNet classes are no dataset's labels).
CLASSIFIES = {FASHION_CLASSIFIER: "fashion_mnist"}


def classifies(net: "FeatureNet", dataset: str) -> bool:
    """True when `net`'s classes are the labels of `dataset`."""
    return CLASSIFIES.get(net.name) == dataset


def resolve_name(name: str, image_shape: Sequence[int]) -> str:
    """`auto` -> fashion_classifier for 28x28x1 images, inception_v3 for any other."""
    if name not in NAMES:
        raise FeatureNetError(f"--feature_net={name} is not accepted; use one of: {', '.join(NAMES)}")
    if name == "auto":
        return FASHION_CLASSIFIER if tuple(image_shape) == FASHION_SHAPE else INCEPTION_V3
    return name


def get(name: str, image_shape: Sequence[int], inception_weights: Optional[str] = None) -> FeatureNet:
    """The feature network for `--feature_net=name` and images of `image_shape` (H, W, C).

    Raises:
        FeatureNetError: unknown name, images the network cannot take, missing weights.
    """
    resolved = resolve_name(name, image_shape)
    if resolved == FASHION_CLASSIFIER:
        _check_shape(resolved, FASHION_SHAPE, image_shape)  # before loading anything
        net = fashion_classifier()
    else:
        net = inception_v3(inception_weights or "imagenet")
    net.check_shape(image_shape)
    return net
