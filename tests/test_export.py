"""Tests for tfgan_suite.serving: the exported SavedModel, as a client sees it.

The networks are tiny Keras models built here (nothing from the rest of the suite).
The exported artifacts are loaded in a fresh Python process that imports only
TensorFlow and NumPy, and every output is compared with an independent reference
computed in this process from the original Keras model.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import serving

LATENT = 4
POINTS_LATENT = 3
IMAGE_SHAPE = [8, 8, 1]
NUM_CLASSES = 3
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def _init(seed):
    return keras.initializers.RandomNormal(stddev=0.5, seed=seed)


def build_image_generator() -> keras.Model:
    """z [N, 4] -> tanh images [N, 8, 8, 1], with a batch norm whose moving stats matter."""
    bn = keras.layers.BatchNormalization()
    model = keras.Sequential([
        keras.Input((LATENT,)),
        keras.layers.Dense(64, kernel_initializer=_init(1), bias_initializer=_init(2)),
        bn,
        keras.layers.Reshape(IMAGE_SHAPE),
        keras.layers.Activation("tanh"),
    ])
    bn.moving_mean.assign(np.full([64], 0.3, np.float32))
    bn.moving_variance.assign(np.full([64], 2.0, np.float32))
    return model


def build_points_generator() -> keras.Model:
    """z [N, 3] -> points [N, 2] (no output activation)."""
    return keras.Sequential([keras.Input((POINTS_LATENT,)),
                             keras.layers.Dense(2, kernel_initializer=_init(3), bias_initializer=_init(4))])


def build_conditional_generator() -> keras.Model:
    """[z [N, 4], label int32 [N]] -> tanh images [N, 8, 8, 1]."""
    z = keras.Input((LATENT,))
    label = keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(NUM_CLASSES, 4, embeddings_initializer=_init(5))(label))
    x = keras.layers.Concatenate()([z, embedded])
    x = keras.layers.Dense(64, activation="tanh", kernel_initializer=_init(6))(x)
    return keras.Model([z, label], keras.layers.Reshape(IMAGE_SHAPE)(x))


def build_image_encoder() -> keras.Model:
    """images in [-1, 1] [N, 8, 8, 1] -> z [N, 4]."""
    return keras.Sequential([keras.Input(IMAGE_SHAPE), keras.layers.Flatten(),
                             keras.layers.Dense(LATENT, kernel_initializer=_init(7))])


def build_points_encoder() -> keras.Model:
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(POINTS_LATENT, kernel_initializer=_init(8))])


def make_meta(**overrides) -> dict:
    meta = {"variant": "dcgan", "dataset": "tiny", "latent_dim": LATENT, "kind": "image",
            "data_shape": list(IMAGE_SHAPE), "num_classes": None, "step": 123,
            "tfgan_suite_version": "0.1.0"}
    meta.update(overrides)
    return meta


POINTS_META = dict(kind="points", data_shape=[2], latent_dim=POINTS_LATENT, dataset="ring8")
COND_META = dict(num_classes=NUM_CLASSES, variant="cgan")


def sampled_z(num, latent_dim, seed):
    """The documented `sample` contract, written out independently of the exporter."""
    return tf.random.stateless_normal([num, latent_dim], seed=[seed, 0], alg="philox").numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    nets = {"img": build_image_generator(), "img_enc": build_image_encoder(),
            "pts": build_points_generator(), "pts_enc": build_points_encoder(),
            "cond": build_conditional_generator()}
    paths = {
        "img": serving.export_generator(nets["img"], str(base / "img"), meta=make_meta(),
                                        encoder=nets["img_enc"]),
        "pts": serving.export_generator(nets["pts"], str(base / "pts"), meta=make_meta(**POINTS_META),
                                        encoder=nets["pts_enc"]),
        "cond": serving.export_generator(nets["cond"], str(base / "cond"), meta=make_meta(**COND_META)),
    }
    return nets, paths


# Runs in a fresh interpreter: only TensorFlow and NumPy, and tfgan_suite cannot be imported.
FRESH_PROCESS_SCRIPT = r'''
import json, sys
sys.modules["tfgan_suite"] = None  # any import of the suite would now fail
import numpy as np
import tensorflow as tf

plan_path, inputs_path, results_prefix = sys.argv[1:]
with open(plan_path) as f:
    plan = json.load(f)
inputs = np.load(inputs_path)
arrays, report = {}, {"errors": {}, "signatures": {}}

loaded = {name: tf.saved_model.load(path) for name, path in plan["models"].items()}
for name, model in loaded.items():
    report["signatures"][name] = {
        key: {"inputs": sorted(fn.structured_input_signature[1]),
              "outputs": {out: spec.dtype.name for out, spec in fn.structured_outputs.items()}}
        for key, fn in model.signatures.items()}

for call in plan["eager_calls"]:
    fn = loaded[call["model"]].signatures[call["signature"]]
    try:
        outputs = fn(**{arg: tf.constant(inputs[ref]) for arg, ref in call["inputs"].items()})
    except Exception as e:
        report["errors"][call["key"]] = f"{type(e).__name__}: {e}"
        continue
    report["errors"][call["key"]] = None
    for out, value in outputs.items():
        arrays[call["key"] + "/" + out] = value.numpy()

# Graph mode, the way TF Serving and saved_model_cli run a SavedModel.
for call in plan["session_calls"]:
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta_graph = tf.compat.v1.saved_model.load(sess, ["serve"], plan["models"][call["model"]])
        signature = meta_graph.signature_def[call["signature"]]
        feed = {signature.inputs[arg].name: inputs[ref] for arg, ref in call["inputs"].items()}
        names = sorted(signature.outputs)
        try:
            values = sess.run([signature.outputs[n].name for n in names], feed)
        except Exception as e:
            report["errors"][call["key"]] = f"{type(e).__name__}: {e}"
            continue
        report["errors"][call["key"]] = None
        for out, value in zip(names, values):
            arrays[call["key"] + "/" + out] = value

report["suite_modules"] = sorted(m for m, mod in sys.modules.items()
                                 if m.split(".")[0] == "tfgan_suite" and mod is not None)
np.savez(results_prefix + ".npz", **arrays)
with open(results_prefix + ".json", "w") as f:
    json.dump(report, f)
'''


def _inputs():
    rng = np.random.default_rng(0)
    i32, i64 = np.int32, np.int64
    return {
        "z_img": rng.normal(size=[5, LATENT]).astype(np.float32),
        "z_img_bad_size": np.zeros([5, LATENT - 1], np.float32),
        "z_img_bad_rank": np.zeros([LATENT], np.float32),
        "images": rng.uniform(size=[3] + IMAGE_SHAPE).astype(np.float32),
        "images_bad": np.zeros([3, 8, 8], np.float32),
        "z_pts": rng.normal(size=[7, POINTS_LATENT]).astype(np.float32),
        "z_pts_bad": np.zeros([7, 2], np.float32),
        "points": rng.normal(size=[6, 2]).astype(np.float32),
        "z_cond": rng.normal(size=[4, LATENT]).astype(np.float32),
        "label": np.array([0, 2, 1, 2], i32),
        "label_too_big": np.array([0, 3, 1, 2], i32),
        "label_negative": np.array([0, -1, 1, 2], i32),
        "label_short": np.array([0, 1, 2], i32),
        "num0": np.array(0, i32), "num4": np.array(4, i32), "num6": np.array(6, i32),
        "seed3": np.array(3, i64), "seed7": np.array(7, i64), "seed8": np.array(8, i64),
    }


EAGER_CALLS = [
    # key, model, signature, {input: inputs key}
    ("img_default", "img", "serving_default", {"z": "z_img"}),
    ("img_sample_7", "img", "sample", {"num": "num6", "seed": "seed7"}),
    ("img_sample_7_again", "img", "sample", {"num": "num6", "seed": "seed7"}),
    ("img_sample_8", "img", "sample", {"num": "num6", "seed": "seed8"}),
    ("img_encode", "img", "encode", {"images": "images"}),
    ("img_bad_size", "img", "serving_default", {"z": "z_img_bad_size"}),
    ("img_bad_rank", "img", "serving_default", {"z": "z_img_bad_rank"}),
    ("img_sample_num0", "img", "sample", {"num": "num0", "seed": "seed7"}),
    ("img_encode_bad", "img", "encode", {"images": "images_bad"}),
    ("pts_default", "pts", "serving_default", {"z": "z_pts"}),
    ("pts_sample", "pts", "sample", {"num": "num6", "seed": "seed3"}),
    ("pts_encode", "pts", "encode", {"points": "points"}),
    ("pts_bad", "pts", "serving_default", {"z": "z_pts_bad"}),
    ("cond_default", "cond", "serving_default", {"z": "z_cond", "label": "label"}),
    ("cond_sample", "cond", "sample", {"num": "num4", "seed": "seed3", "label": "label"}),
    ("cond_too_big", "cond", "serving_default", {"z": "z_cond", "label": "label_too_big"}),
    ("cond_negative", "cond", "serving_default", {"z": "z_cond", "label": "label_negative"}),
    ("cond_short", "cond", "serving_default", {"z": "z_cond", "label": "label_short"}),
    ("cond_no_label", "cond", "serving_default", {"z": "z_cond"}),
    ("cond_sample_short", "cond", "sample", {"num": "num4", "seed": "seed3", "label": "label_short"}),
    ("cond_sample_too_big", "cond", "sample", {"num": "num4", "seed": "seed3", "label": "label_too_big"}),
]
SESSION_CALLS = [
    ("session_img_default", "img", "serving_default", {"z": "z_img"}),
    ("session_img_bad_size", "img", "serving_default", {"z": "z_img_bad_size"}),
    ("session_img_bad_rank", "img", "serving_default", {"z": "z_img_bad_rank"}),
    ("session_cond_too_big", "cond", "serving_default", {"z": "z_cond", "label": "label_too_big"}),
]


@pytest.fixture(scope="module")
def processes(exported, tmp_path_factory):
    """Starts, side by side, the fresh-process checks and `saved_model_cli show` / `run`.

    Each process starts TensorFlow (seconds of CPU), so they run in parallel; the
    tests below read their results.
    """
    _, paths = exported
    work = tmp_path_factory.mktemp("processes")
    inputs = _inputs()
    np.savez(work / "inputs.npz", **inputs)
    as_dicts = lambda calls: [dict(key=k, model=m, signature=s, inputs=i) for k, m, s, i in calls]
    plan = {"models": paths, "eager_calls": as_dicts(EAGER_CALLS), "session_calls": as_dicts(SESSION_CALLS)}
    (work / "plan.json").write_text(json.dumps(plan))
    (work / "script.py").write_text(FRESH_PROCESS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    commands = {
        "fresh": [sys.executable, str(work / "script.py"), str(work / "plan.json"),
                  str(work / "inputs.npz"), str(work / "results")],
        "cli_show": [SAVED_MODEL_CLI, "show", "--dir", paths["img"], "--all"],
        "cli_run": [SAVED_MODEL_CLI, "run", "--dir", paths["img"], "--tag_set", "serve",
                    "--signature_def", "serving_default",
                    # TF 2.21 evaluates --input_exprs as Python literals only (no np.zeros).
                    "--input_exprs", "z=" + repr([[0.0] * LATENT] * 2), "--outdir", str(work / "cli_out")],
    }
    procs = {name: subprocess.Popen(cmd, cwd=str(work), env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, cmd in commands.items()}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return work, inputs, results


@pytest.fixture(scope="module")
def fresh(processes):
    """Outputs and errors of every call above, made in a fresh TensorFlow-only process."""
    work, inputs, results = processes
    assert results["fresh"].returncode == 0, results["fresh"].stderr[-3000:]
    with open(work / "results.json") as f:
        report = json.load(f)
    arrays = dict(np.load(work / "results.npz"))
    return inputs, arrays, report


def _ok(report, key):
    assert report["errors"][key] is None, report["errors"][key]


def _image_reference(generator, network_input):
    return (np.asarray(generator(network_input, training=False)) + 1.0) / 2.0


def test_fresh_process_does_not_import_the_suite(fresh):
    _, _, report = fresh
    assert report["suite_modules"] == []


def test_signature_names_inputs_and_outputs(fresh):
    _, _, report = fresh
    sigs = report["signatures"]
    image_outputs = {"samples": "float32", "images_uint8": "uint8"}
    assert sigs["img"] == {
        "serving_default": {"inputs": ["z"], "outputs": image_outputs},
        "sample": {"inputs": ["num", "seed"], "outputs": image_outputs},
        "encode": {"inputs": ["images"], "outputs": {"z": "float32"}},
    }
    assert sigs["pts"] == {
        "serving_default": {"inputs": ["z"], "outputs": {"samples": "float32"}},
        "sample": {"inputs": ["num", "seed"], "outputs": {"samples": "float32"}},
        "encode": {"inputs": ["points"], "outputs": {"z": "float32"}},
    }
    assert sigs["cond"] == {
        "serving_default": {"inputs": ["label", "z"], "outputs": image_outputs},
        "sample": {"inputs": ["label", "num", "seed"], "outputs": image_outputs},
    }


def test_serving_default_matches_keras_model_in_inference_mode(exported, fresh):
    nets, _ = exported
    inputs, arrays, report = fresh
    _ok(report, "img_default")
    samples, uint8 = arrays["img_default/samples"], arrays["img_default/images_uint8"]
    assert samples.dtype == np.float32 and samples.shape == (5, 8, 8, 1)
    assert uint8.dtype == np.uint8 and uint8.shape == (5, 8, 8, 1)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    expected = _image_reference(nets["img"], inputs["z_img"])
    np.testing.assert_allclose(samples, expected, atol=1e-5)
    np.testing.assert_array_equal(uint8, np.clip(np.round(expected * 255.0), 0, 255).astype(np.uint8))
    # The comparison can tell training mode (batch statistics) from inference mode.
    weights = nets["img"].get_weights()
    training_mode = (np.asarray(nets["img"](inputs["z_img"], training=True)) + 1.0) / 2.0
    nets["img"].set_weights(weights)  # training=True moved the batch norm statistics
    assert np.abs(training_mode - samples).max() > 1e-2


def test_sample_is_reproducible_and_follows_the_seed_contract(exported, fresh):
    nets, _ = exported
    _, arrays, report = fresh
    for key in ["img_sample_7", "img_sample_7_again", "img_sample_8"]:
        _ok(report, key)
    first, again, other = (arrays[f"{k}/samples"] for k in ["img_sample_7", "img_sample_7_again", "img_sample_8"])
    assert first.shape == (6, 8, 8, 1) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-2
    expected = _image_reference(nets["img"], sampled_z(6, LATENT, seed=7))
    np.testing.assert_allclose(first, expected, atol=1e-5)
    np.testing.assert_array_equal(arrays["img_sample_7/images_uint8"],
                                  np.clip(np.round(first * 255.0), 0, 255).astype(np.uint8))


def test_encode_rescales_images_to_the_encoders_range(exported, fresh):
    nets, _ = exported
    inputs, arrays, report = fresh
    _ok(report, "img_encode")
    expected = np.asarray(nets["img_enc"](inputs["images"] * 2.0 - 1.0))
    np.testing.assert_allclose(arrays["img_encode/z"], expected, atol=1e-5)
    _ok(report, "pts_encode")
    np.testing.assert_allclose(arrays["pts_encode/z"], np.asarray(nets["pts_enc"](inputs["points"])), atol=1e-5)


def test_points_are_returned_in_data_coordinates(exported, fresh):
    nets, _ = exported
    inputs, arrays, report = fresh
    _ok(report, "pts_default")
    assert "pts_default/images_uint8" not in arrays
    np.testing.assert_allclose(arrays["pts_default/samples"], np.asarray(nets["pts"](inputs["z_pts"])), atol=1e-5)
    _ok(report, "pts_sample")
    np.testing.assert_allclose(arrays["pts_sample/samples"],
                               np.asarray(nets["pts"](sampled_z(6, POINTS_LATENT, seed=3))), atol=1e-5)


# A wrong shape is refused either by the client's static check against the declared
# TensorSpec or by the in-graph assertion (clients that skip static checks, e.g. TF
# Serving's C++ session); both messages name the expected shape.
_SHAPE_4 = ("serving_default: z must have shape [N, 4]", "which has shape (None, 4)",
            "shape=(None, 4)")


@pytest.mark.parametrize("key, expected", [
    ("img_bad_size", _SHAPE_4),
    ("img_bad_rank", _SHAPE_4),
    ("pts_bad", ("serving_default: z must have shape [N, 3]", "(None, 3)")),
    ("img_encode_bad", ("encode: images must have shape [N, 8, 8, 1]", "(None, 8, 8, 1)")),
    ("img_sample_num0", ("sample: num must be >= 1, got 0",)),
    ("cond_too_big", ("serving_default: label must be in [0, 3), got [3]",)),
    ("cond_negative", ("serving_default: label must be in [0, 3), got [-1]",)),
    ("cond_short", ("serving_default: label must have shape [N] = [4]",)),
    ("cond_sample_short", ("sample: label must have shape [num] = [4], got [3]",)),
    ("cond_sample_too_big", ("sample: label must be in [0, 3), got [3]",)),
    # Graph mode (TF Serving, saved_model_cli) gets a message naming the shape too.
    ("session_img_bad_size", _SHAPE_4),
    ("session_img_bad_rank", _SHAPE_4),
    ("session_cond_too_big", ("serving_default: label must be in [0, 3), got [3]",)),
])
def test_bad_inputs_give_errors_naming_what_is_expected(fresh, key, expected):
    _, _, report = fresh
    error = report["errors"][key]
    assert error is not None and any(e in error for e in expected), error


def test_conditional_model_requires_a_label(fresh):
    _, _, report = fresh
    error = report["errors"]["cond_no_label"]
    assert error is not None and "label" in error, error


def test_conditional_samples_match_keras_model_per_label(exported, fresh):
    nets, _ = exported
    inputs, arrays, report = fresh
    _ok(report, "cond_default")
    expected = _image_reference(nets["cond"], [inputs["z_cond"], inputs["label"]])
    np.testing.assert_allclose(arrays["cond_default/samples"], expected, atol=1e-5)
    # The label matters: another label gives other images.
    other = _image_reference(nets["cond"], [inputs["z_cond"], (inputs["label"] + 1) % NUM_CLASSES])
    assert np.abs(other - expected).max() > 1e-2
    _ok(report, "cond_sample")
    expected = _image_reference(nets["cond"], [sampled_z(4, LATENT, seed=3), inputs["label"]])
    np.testing.assert_allclose(arrays["cond_sample/samples"], expected, atol=1e-5)


def test_graph_mode_session_restores_the_variables(exported, fresh):
    nets, _ = exported
    inputs, arrays, report = fresh
    _ok(report, "session_img_default")
    np.testing.assert_allclose(arrays["session_img_default/samples"],
                               _image_reference(nets["img"], inputs["z_img"]), atol=1e-5)


def test_saved_model_cli_shows_and_runs_the_export(exported, processes):
    nets, _ = exported
    work, _, results = processes
    for name in ["cli_show", "cli_run"]:
        assert results[name].returncode == 0, f"{name}: {results[name].stderr[-2000:]}"

    sections = {}
    for part in results["cli_show"].stdout.split("signature_def[")[1:]:
        sections[part.split("'")[1]] = part
    assert {"serving_default", "sample", "encode"} <= set(sections)
    assert "inputs['z']" in sections["serving_default"]
    assert "inputs['num']" in sections["sample"] and "inputs['seed']" in sections["sample"]
    assert "outputs['images_uint8']" in sections["sample"]
    assert "inputs['images']" in sections["encode"]

    expected = _image_reference(nets["img"], np.zeros([2, LATENT], np.float32))
    np.testing.assert_allclose(np.load(work / "cli_out" / "samples.npy"), expected, atol=1e-5)
    np.testing.assert_array_equal(np.load(work / "cli_out" / "images_uint8.npy"),
                                  np.clip(np.round(expected * 255.0), 0, 255).astype(np.uint8))


def test_layout_is_what_tensorflow_serving_expects(exported):
    _, paths = exported
    version_dir = paths["img"]
    assert os.path.basename(version_dir) == "1"
    assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
    assert os.path.isfile(os.path.join(version_dir, "variables", "variables.index"))
    with open(os.path.join(version_dir, "assets.extra", "tfgan_suite.json")) as f:
        assert json.load(f) == make_meta()
    assert not [n for n in os.listdir(os.path.dirname(version_dir)) if n.startswith(".tmp")]


def test_versions_increase_and_resolve_picks_the_highest(tmp_path):
    base = str(tmp_path / "dcgan")
    generator = build_image_generator()
    first = serving.export_generator(generator, base, meta=make_meta(step=1))
    second = serving.export_generator(generator, base, meta=make_meta(step=2))
    assert (first, second) == (os.path.join(base, "1"), os.path.join(base, "2"))
    # Leftovers of an interrupted export and unrelated entries are not versions.
    os.makedirs(os.path.join(base, ".tmp-3-4242", "variables"))
    open(os.path.join(base, ".tmp-3-4242", "saved_model.pb"), "w").close()
    os.makedirs(os.path.join(base, "notes"))
    open(os.path.join(base, "10.txt"), "w").close()
    assert serving.resolve_model_dir(base) == second
    assert serving.resolve_model_dir(first) == first
    assert serving.read_meta(base) == make_meta(step=2)
    assert serving.read_meta(first) == make_meta(step=1)
    # Versions are numbers, not strings: 10 comes after 9.
    os.rename(second, os.path.join(base, "9"))
    assert serving.export_generator(generator, base, meta=make_meta()) == os.path.join(base, "10")
    assert serving.resolve_model_dir(base) == os.path.join(base, "10")


def test_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    base = tmp_path / "dcgan"

    def failing_save(obj, export_dir, **kwargs):
        os.makedirs(os.path.join(export_dir, "variables"))  # half-written
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    with pytest.raises(RuntimeError, match="disk full"):
        serving.export_generator(build_image_generator(), str(base), meta=make_meta())
    assert os.listdir(base) == []


@pytest.mark.parametrize("make_path, message", [
    (lambda d: str(d / "missing"), "does not exist"),
    (lambda d: str(d / "empty"), "no saved_model.pb and no version subdirectories"),
    (lambda d: str(d / "file.txt"), "is not a directory"),
    (lambda d: str(d / "broken"), "the highest version"),
])
def test_resolve_model_dir_errors_are_one_line(tmp_path, make_path, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "broken" / "3").mkdir(parents=True)
    with pytest.raises(serving.ExportError, match=message) as info:
        serving.resolve_model_dir(make_path(tmp_path))
    assert "\n" not in str(info.value)


def test_read_meta_of_a_foreign_saved_model(tmp_path):
    tf.saved_model.save(tf.Module(), str(tmp_path))
    with pytest.raises(serving.ExportError, match="not exported by tfgan_suite"):
        serving.read_meta(str(tmp_path))


@pytest.mark.parametrize("meta, message", [
    ({k: v for k, v in make_meta().items() if k != "latent_dim"}, r"lacks \['latent_dim'\]"),
    (make_meta(kind="audio"), "`kind` must be one of"),
    (make_meta(data_shape=[8, 8]), "`data_shape` must be"),
    (make_meta(latent_dim=True), "wrong type"),
    (make_meta(data_shape=[16, 16, 1]), r"data_shape=\[16, 16, 1\]"),
    (make_meta(latent_dim=5), "cannot be called on z"),
])
def test_meta_that_does_not_fit_is_rejected_before_writing(tmp_path, meta, message):
    base = tmp_path / "dcgan"
    with pytest.raises(serving.ExportError, match=message):
        serving.export_generator(build_image_generator(), str(base), meta=meta)
    assert not base.exists()


def test_encoder_that_does_not_fit_is_rejected(tmp_path):
    encoder = keras.Sequential([keras.Input(IMAGE_SHAPE), keras.layers.Flatten(), keras.layers.Dense(LATENT + 1)])
    with pytest.raises(serving.ExportError, match=r"expected \[2, 4\]"):
        serving.export_generator(build_image_generator(), str(tmp_path / "b"), meta=make_meta(), encoder=encoder)


def test_signature_error_reason_extracts_the_check_message():
    error = tf.errors.InvalidArgumentError(
        None, None, "Graph execution error:\n\nDetected at node x\nassertion failed: "
        "[sample: label must be in [0, 3), got [7]]\n\t [[{{node Assert}}]]")
    assert serving.signature_error_reason(error) == "sample: label must be in [0, 3), got [7]"
