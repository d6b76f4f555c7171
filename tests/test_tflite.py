"""Tests for tfgan_suite.tflite: each TFLite form against the SavedModel it came from.

The reference is the SavedModel's `serving_default` signature (TensorFlow's graph runtime)
on the same z; the TFLite file runs in `tf.lite.Interpreter`. Tolerances (on `samples`:
images in [0, 1], points in data coordinates): float32 1e-5, float16 weights 1e-2,
int8 dynamic-range weights 5e-2.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.test_export import (COND_META, LATENT, NUM_CLASSES, POINTS_LATENT, POINTS_META,
                               build_conditional_generator, build_image_generator,
                               build_points_generator, make_meta)
from tfgan_suite import serving, tflite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = {"none": 1e-5, "float16": 1e-2, "dynamic": 5e-2}
LATENTS = {"img": LATENT, "pts": POINTS_LATENT, "cond": LATENT}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """{name: (version dir, {form: .tflite path})} for an image, a 2-D and a conditional model
    (every form for the image model; two per other model, to keep the conversions few)."""
    base = tmp_path_factory.mktemp("tflite")
    builds = {"img": (build_image_generator, make_meta(), tflite.QUANTIZATIONS),
              "pts": (build_points_generator, make_meta(**POINTS_META), ["none", "float16"]),
              "cond": (build_conditional_generator, make_meta(**COND_META), ["none", "dynamic"])}
    out = {}
    for name, (build, meta, forms) in builds.items():
        version_dir = serving.export_generator(build(), str(base / name), meta=meta)
        out[name] = (version_dir, tflite.convert_saved_model(version_dir, forms))
    return out


def reference(version_dir, z, label=None):
    fn = tf.saved_model.load(version_dir).signatures["serving_default"]
    kwargs = {"z": tf.constant(z)}
    if label is not None:
        kwargs["label"] = tf.constant(label, tf.int32)
    return {k: v.numpy() for k, v in fn(**kwargs).items()}


@pytest.mark.parametrize("name", ["img", "pts", "cond"])
def test_every_form_matches_the_saved_model(converted, name):
    version_dir, written = converted[name]
    z = np.random.default_rng(0).normal(size=[7, LATENTS[name]]).astype(np.float32)
    label = np.array([0, 1, 2, 0, 1, 2, 1], np.int32) if name == "cond" else None
    expected = reference(version_dir, z, label)
    for form, path in written.items():
        # The files sit beside saved_model.pb, in the version directory that TF Serving loads.
        assert os.path.dirname(path) == version_dir and os.path.basename(path) == tflite.filename(form)
        got = tflite.TFLiteGenerator(path)(z, label)
        assert sorted(got) == sorted(expected)
        np.testing.assert_allclose(got["samples"], expected["samples"], atol=TOLERANCE[form],
                                   err_msg=f"{name} {form}")
        if "images_uint8" in expected:
            diff = np.abs(got["images_uint8"].astype(int) - expected["images_uint8"].astype(int))
            assert diff.max() <= np.ceil(TOLERANCE[form] * 255) + 1, (name, form)


def test_sample_reproduces_the_saved_model_sample_signature(converted):
    version_dir, written = converted["cond"]
    fn = tf.saved_model.load(version_dir).signatures["sample"]
    expected = fn(num=tf.constant(5), seed=tf.constant(11, tf.int64), label=tf.fill([5], 2))
    got = tflite.TFLiteGenerator(written["none"]).sample(5, 11, [2] * 5)
    np.testing.assert_allclose(got["samples"], expected["samples"].numpy(), atol=1e-5)


def test_the_runner_rejects_bad_input(converted):
    generator = tflite.TFLiteGenerator(converted["cond"][1]["none"])
    assert generator.conditional and generator.latent_dim == LATENT and generator.num_classes == NUM_CLASSES
    with pytest.raises(tflite.TFLiteError, match=r"z must have shape \[N, 4\], got \[2, 3\]"):
        generator(np.zeros([2, 3], np.float32), [0, 1])
    with pytest.raises(tflite.TFLiteError, match=r"label must be in \[0, 3\), got \[0, 3\]"):
        generator(np.zeros([2, 4], np.float32), [0, 3])
    with pytest.raises(tflite.TFLiteError, match="needs a label"):
        generator(np.zeros([2, 4], np.float32))


def test_unknown_quantization_is_rejected(tmp_path):
    with pytest.raises(tflite.TFLiteError, match="subset of none,float16,dynamic; unknown: int4$"):
        tflite.convert_saved_model(str(tmp_path), ["none", "int4"])
    with pytest.raises(tflite.TFLiteError, match="holds no saved_model.pb"):
        tflite.convert_saved_model(str(tmp_path), ["none"])


def run_module(module, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)


def test_sample_reads_a_tflite_file(converted, tmp_path):
    """`sample --model X.tflite` draws the same picture as `sample --model <SavedModel>`
    (in process: the CLI wrapper is the same `main` as for SavedModels, tested in test_sample)."""
    version_dir, written = converted["img"]
    from tfgan_suite import sample

    sample.sample_to_files(version_dir, 6, str(tmp_path / "saved.png"), seed=3)
    sample.sample_to_files(written["none"], 6, str(tmp_path / "lite.png"), seed=3)
    decode = lambda p: tf.io.decode_png(open(p, "rb").read()).numpy().astype(int)
    a, b = decode(tmp_path / "saved.png"), decode(tmp_path / "lite.png")
    assert a.shape == b.shape and np.abs(a - b).max() <= 1


def test_export_cli_rejects_a_bad_quantization_with_status_2():
    result = run_module("tfgan_suite.export", "--run_dir=/nonexistent", "--tflite", "--tflite_quantize=int4")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --tflite_quantize takes")


@pytest.mark.slow  # two TensorFlow start-ups
@pytest.mark.parametrize("args, message", [
    (["--tflite", "--noexport"], "error: --tflite converts the exported SavedModel; it cannot be combined with --noexport"),
    (["--tflite_quantize=int4"], "error: --tflite_quantize takes a comma-separated subset of none,float16,dynamic; unknown: int4"),
])
def test_train_cli_rejects_bad_tflite_flags_with_status_2(args, message):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "train.py", *args], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == message
