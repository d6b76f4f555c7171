"""`python -m tfgan_suite.metrics.train_classifier`: train the shipped Fashion-MNIST classifier.

Why: the image metrics need a feature network that works offline and gives the same
numbers on every machine. This script trains `feature_nets.build_fashion_classifier`
deterministically on the 60,000 training images, measures its accuracy on the 10,000
test images and writes, into `tfgan_suite/metrics/weights/` (or `--out_dir`):

    fashion_classifier.weights.h5   the weights (< 1 MB)
    fashion_classifier.json         test accuracy, epochs, seed, versions, date, feature
                                    dimension and the sha256 of the weights file

It runs once, offline (Debian package `dataset-fashion-mnist`); its output is shipped and
`tests/test_feature_nets.py` re-measures the recorded accuracy. Training: Adam (1e-3,
cosine decay to 0 over all steps), batch 128, no augmentation; op determinism on, so
the same seed gives the same weights on the same machine and TensorFlow build.
"""

import datetime
import json
import os
import platform
import time

from absl import app, flags

from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error

flags.DEFINE_integer("epochs", 6, "passes over the 60,000 training images")
flags.DEFINE_integer("batch_size", 128, "training batch size")
flags.DEFINE_float("learning_rate", 1e-3, "initial Adam learning rate (cosine decay to 0)")
flags.DEFINE_integer("seed", 0, "seed of weights, shuffling and dropout")
flags.DEFINE_string("data_dir", None, "directory with the Fashion-MNIST IDX files (default: "
                    "the Debian package's)")
flags.DEFINE_string("out_dir", None, "where to write the weights and the JSON record "
                    "(default: the package's metrics/weights/)")
FLAGS = flags.FLAGS


def to_model_input(x_uint8):
    """uint8 [N, 28, 28, 1] -> float32 in [-1, 1], the suite's image scale."""
    import numpy as np

    return x_uint8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def save_weights(model, path):
    """Writes the classifier's weights, without optimizer state, atomically.

    A compiled model's `save_weights` also stores Adam's moments (three times the size);
    an uncompiled twin holds the network's weights only.
    """
    from tfgan_suite.metrics import feature_nets

    twin = feature_nets.build_fashion_classifier()
    twin.set_weights(model.get_weights())
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}.weights.h5")
    twin.save_weights(tmp)
    os.replace(tmp, path)


def train(epochs, batch_size, learning_rate, seed, data_dir=None, out_dir=None, verbose=2):
    """Trains, evaluates and writes the classifier; returns the JSON record (a dict)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfgan_suite import __version__, data
    from tfgan_suite.metrics import feature_nets

    out_dir = out_dir or feature_nets.WEIGHTS_DIR
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    train_data = data.load("fashion_mnist", split="train", data_dir=data_dir)
    test_data = data.load("fashion_mnist", split="test", data_dir=data_dir)
    x_train, y_train = to_model_input(train_data.x), train_data.y
    x_test, y_test = to_model_input(test_data.x), test_data.y

    model = feature_nets.build_fashion_classifier()
    steps = epochs * -(-len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.time()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
              verbose=verbose)
    train_seconds = time.time() - start

    logits = model.predict(x_test, batch_size=1000, verbose=0)
    test_accuracy = float(np.mean(np.argmax(logits, axis=1) == y_test))
    train_logits = model.predict(x_train, batch_size=1000, verbose=0)
    train_accuracy = float(np.mean(np.argmax(train_logits, axis=1) == y_train))

    os.makedirs(out_dir, exist_ok=True)
    weights_path = os.path.join(out_dir, os.path.basename(feature_nets.FASHION_WEIGHTS))
    save_weights(model, weights_path)
    record = {
        "name": feature_nets.FASHION_CLASSIFIER,
        "test_accuracy": round(test_accuracy, 6),
        "train_accuracy": round(train_accuracy, 6),
        "test_examples": int(len(y_test)),
        "train_examples": int(len(y_train)),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "optimizer": "adam, cosine decay to 0",
        "seed": seed,
        "deterministic": True,
        "input": "28x28x1 float32 in [-1, 1]",
        "feature_layer": feature_nets.FASHION_FEATURE_LAYER,
        "feature_dim": 128,
        "num_classes": 10,
        "parameters": int(model.count_params()),
        "train_seconds": round(train_seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "tfgan_suite_version": __version__,
        "date": datetime.date.today().isoformat(),
        "weights_file": os.path.basename(weights_path),
        "weights_sha256": feature_nets.file_sha256(weights_path),
    }
    info_path = os.path.join(out_dir, os.path.basename(feature_nets.FASHION_INFO))
    tmp_info = f"{info_path}.tmp-{os.getpid()}"
    with open(tmp_info, "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp_info, info_path)
    return record


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {' '.join(argv[1:])} (see --help)")
    for name in ("epochs", "batch_size"):
        if FLAGS[name].value < 1:
            usage_error(f"--{name} must be >= 1; got {FLAGS[name].value}")
    from tfgan_suite.data import DataError

    try:
        record = train(FLAGS.epochs, FLAGS.batch_size, FLAGS.learning_rate, FLAGS.seed,
                       FLAGS.data_dir, FLAGS.out_dir)
    except DataError as e:
        usage_error(str(e))
    print(f"test accuracy {record['test_accuracy']:.4f} after {record['epochs']} epochs "
          f"({record['train_seconds']:.0f} s); wrote {record['weights_file']} "
          f"(sha256 {record['weights_sha256'][:12]}...) and fashion_classifier.json")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main, flags_parser=parse_flags_or_exit)
