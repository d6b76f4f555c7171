"""Tests for the latent-space tools: `latent_codes` against closed forms and brute force,
`latent` commands against hand-computed combinations, and every bad input as exit 2."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tests.test_export import (COND_META, LATENT, NUM_CLASSES, POINTS_META, build_conditional_generator,
                               build_image_encoder, build_image_generator, build_points_generator,
                               make_meta)
from tfgan_suite import latent, latent_codes, serving

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- latent_codes: closed forms -----------------------------------------------------------

def test_lerp_endpoints_and_midpoint():
    a, b = np.array([1.0, 2.0, -3.0]), np.array([-1.0, 0.0, 5.0])
    path = latent_codes.lerp(a, b, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(path, [a, [0.0, 1.0, 1.0], b])


def test_slerp_follows_the_great_circle():
    u0, u1 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    t = np.linspace(0, 1, 9)
    path = latent_codes.slerp(u0, u1, t)
    # Closed form for orthogonal unit vectors: (cos(t pi/2), sin(t pi/2), 0).
    np.testing.assert_allclose(path, np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2), 0 * t], 1),
                               atol=1e-12)


def test_slerp_endpoints_unit_norm_and_constant_angle_speed():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    t = np.linspace(0, 1, 11)
    path = latent_codes.slerp(a, b, t)
    np.testing.assert_allclose(path[0], a, atol=1e-12)
    np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-12)
    omega = np.arccos(a @ b)
    np.testing.assert_allclose(np.arccos(np.clip(path @ a, -1, 1)), t * omega, atol=1e-6)
    # Norms other than 1 go linearly from |a| to |b|.
    scaled = latent_codes.slerp(2 * a, 5 * b, t)
    np.testing.assert_allclose(np.linalg.norm(scaled, axis=1), 2 + 3 * t, atol=1e-12)


def test_interpolate_concatenates_segments():
    zs = np.eye(3)
    path = latent_codes.interpolate(zs, steps=4, method="lerp")
    assert path.shape == (8, 3)
    np.testing.assert_allclose(path[[0, 3, 4, 7]], zs[[0, 1, 1, 2]], atol=1e-7)


def test_nearest_neighbours_equal_brute_force():
    rng = np.random.default_rng(1)
    queries, refs = rng.random((6, 5, 5)), rng.random((700, 5, 5))
    refs[42] = queries[3]  # an exact copy: a memorised sample at distance 0
    idx, dist = latent_codes.nearest_neighbours(queries, refs, k=3, chunk=64)
    brute = np.sqrt(((queries.reshape(6, 1, -1) - refs.reshape(1, 700, -1)) ** 2).sum(-1))
    np.testing.assert_array_equal(idx, np.argsort(brute, axis=1, kind="stable")[:, :3])
    np.testing.assert_allclose(dist, np.sort(brute, axis=1)[:, :3], atol=1e-9)
    assert idx[3, 0] == 42 and dist[3, 0] == pytest.approx(0.0, abs=1e-6)


# --- arithmetic with a fake model ---------------------------------------------------------

class FakeGenerator:
    """Records every z it decodes; images are constant grey levels."""
    latent_dim, conditional, num_classes = 5, False, None

    def __init__(self):
        self.decoded = []

    def check_label(self, label):
        return None

    def decode(self, z, label=None):
        self.decoded.append(np.array(z))
        return np.full([len(z), 2, 2, 1], 100, np.uint8)


def test_arithmetic_decodes_the_weighted_sum_of_concept_means():
    fake = FakeGenerator()
    v = types.SimpleNamespace(label=None, num=10, seed=7, concept=["1,2", "4", "7,8,9"], weights=None)
    rows = latent.arithmetic(fake, v)
    z = latent_codes.seed_z(10, 7, 5)
    expected = (z[1] + z[2]) / 2 - z[4] + (z[7] + z[8] + z[9]) / 3
    np.testing.assert_allclose(fake.decoded[-1], [expected], atol=1e-6)
    assert [len(r) for r in rows] == [3, 2, 4, 1]
    v.weights = ["0.5", "2", "-1"]
    latent.arithmetic(fake, v)
    np.testing.assert_allclose(fake.decoded[-1], [0.5 * (z[1] + z[2]) / 2 + 2 * z[4] - (z[7] + z[8] + z[9]) / 3],
                               atol=1e-6)


# --- commands on small exported models ----------------------------------------------------

@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("latent")
    return {
        "img": os.path.dirname(serving.export_generator(build_image_generator(), str(base / "img"),
                                                        meta=make_meta())),
        "cond": serving.export_generator(build_conditional_generator(), str(base / "cond"),
                                         meta=make_meta(**COND_META)),
        "pts": serving.export_generator(build_points_generator(), str(base / "pts"),
                                        meta=make_meta(**POINTS_META)),
    }


def parse(*args):
    values = flags.FlagValues()
    latent.define_flags(values)
    values(["latent", *args])
    return values


def decode_png(path):
    return tf.io.decode_png(open(path, "rb").read()).numpy()


def test_seed_z_is_the_z_of_the_sample_signature(models):
    g = latent.ExportedGenerator(models["img"])
    loaded = tf.saved_model.load(g.model_dir)
    expected = loaded.signatures["sample"](num=tf.constant(3), seed=tf.constant(9, tf.int64))["images_uint8"]
    np.testing.assert_array_equal(g.decode(latent_codes.seed_z(3, 9, LATENT)), expected.numpy())


def test_interpolate_grid_starts_and_ends_at_the_seed_samples(models, tmp_path):
    out = str(tmp_path / "walk.png")
    latent.run_command("interpolate", parse("--model", models["img"], "--out", out, "--seeds", "4,5",
                                            "--steps", "3"))
    grid = decode_png(out)
    assert grid.shape == (2 * 10 + 2, 3 * 10 + 2, 1)  # rows lerp, slerp; 8x8 tiles, padding 2
    g = latent.ExportedGenerator(models["img"])
    ends = g.decode(np.concatenate([latent_codes.seed_z(1, 4, LATENT), latent_codes.seed_z(1, 5, LATENT)]))
    for row in range(2):
        top = 2 + row * 10
        np.testing.assert_array_equal(grid[top:top + 8, 2:10], ends[0])
        np.testing.assert_array_equal(grid[top:top + 8, 22:30], ends[1])


def test_sweep_shows_every_label(models, tmp_path):
    out = str(tmp_path / "sweep.png")
    latent.run_command("sweep", parse("--model", models["cond"], "--out", out, "--seeds", "2"))
    grid = decode_png(out)
    assert grid.shape == (12, NUM_CLASSES * 10 + 2, 1)
    fn = tf.saved_model.load(models["cond"]).signatures["serving_default"]
    z = np.repeat(latent_codes.seed_z(1, 2, LATENT), NUM_CLASSES, axis=0)
    expected = fn(z=tf.constant(z), label=tf.range(NUM_CLASSES))["images_uint8"].numpy()
    for k in range(NUM_CLASSES):
        np.testing.assert_array_equal(grid[2:10, 2 + 10 * k:10 + 10 * k], expected[k])


def test_reconstruct_without_encode_and_other_bad_input_exit_2(models, tmp_path, capsys):
    out = str(tmp_path / "x.png")
    zfile = str(tmp_path / "z.npy")
    np.save(zfile, np.zeros([2, LATENT + 1], np.float32))
    cases = [
        (["reconstruct"], [], "reconstruct needs an `encode` signature"),
        (["interpolate"], ["--z_file", zfile], f"z must have shape [K, {LATENT}]"),
        (["interpolate"], ["--model", models["cond"], "--label", "3"],
         f"--label=3 is out of range: {models['cond']} has labels [0, {NUM_CLASSES})"),
        (["sweep"], [], "sweep needs a conditional model"),
        (["interpolate"], ["--model", os.path.join(models["img"], "7")], "has no version 7; it has versions 1"),
        (["walk"], [], "unknown command 'walk'; expected one of interpolate, arithmetic"),
        (["interpolate"], ["--model", models["pts"]], "makes 2-D points, not images"),
        (["arithmetic"], ["--concept", "1,99"], "indices must be in [0, 64)"),
    ]
    for command, extra, message in cases:
        model = [] if "--model" in extra else ["--model", models["img"]]
        values = parse(*model, "--out", out, *extra)
        with pytest.raises(SystemExit) as exit_info:
            latent.main(["latent", *command], values)
        assert exit_info.value.code == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], (command, err)


def test_encode_goes_through_the_encode_signature(tmp_path):
    """`ExportedGenerator.encode` is the exported `encode` signature (images in [0, 1])."""
    encoder_model = serving.export_generator(build_image_generator(), str(tmp_path / "bigan"),
                                             meta=make_meta(variant="bigan"), encoder=build_image_encoder())
    g = latent.ExportedGenerator(encoder_model)
    x = np.random.default_rng(0).random([3, 8, 8, 1]).astype(np.float32)
    loaded = tf.saved_model.load(encoder_model)
    z = loaded.signatures["encode"](images=tf.constant(x))["z"]
    np.testing.assert_allclose(g.encode(x), z.numpy())


@pytest.mark.slow  # starts TensorFlow in a new process; `main` itself is tested above
def test_cli_bad_input_is_one_line_and_status_2(models, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-m", "tfgan_suite.latent", "reconstruct", "--model",
                             models["img"], "--out", str(tmp_path / "x.png")], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: reconstruct needs an `encode` signature")


class FakeFeatureNet:
    """Features = the mean of each image's top half and bottom half (2-d), independent of pixels' L2."""
    name = "fake"

    def __call__(self, images):
        x = np.asarray(images, np.float64) / 255.0
        h = x.shape[1] // 2
        return np.stack([x[:, :h].mean((1, 2, 3)), x[:, h:].mean((1, 2, 3))], 1), None


def test_neighbours_rows_hold_the_brute_force_nearest_images(models, tmp_path, monkeypatch):
    from tfgan_suite.metrics import feature_nets

    train = np.random.default_rng(3).integers(0, 256, size=[50, 8, 8, 1], dtype=np.uint8)
    monkeypatch.setattr(latent, "_training_images", lambda g, v: train)
    monkeypatch.setattr(feature_nets, "get", lambda name, shape: FakeFeatureNet())
    g = latent.ExportedGenerator(models["img"])
    v = types.SimpleNamespace(num=3, k=2, seed=4, feature_net="auto")
    rows = latent.neighbours(g, v)
    samples = g.decode(latent_codes.seed_z(3, 4, LATENT))
    pixel = ((samples.reshape(3, 1, -1) / 255.0 - train.reshape(1, 50, -1) / 255.0) ** 2).sum(-1)
    fake = FakeFeatureNet()
    feat = ((fake(samples)[0][:, None] - fake(train)[0][None]) ** 2).sum(-1)
    for r, row in enumerate(rows):
        assert len(row) == 1 + 2 + 1 + 2
        np.testing.assert_array_equal(row[0], samples[r])
        np.testing.assert_array_equal(np.stack(row[1:3]), train[np.argsort(pixel[r])[:2]])
        assert (row[3] == 255).all()  # the blank between the two spaces
        np.testing.assert_array_equal(np.stack(row[4:6]), train[np.argsort(feat[r])[:2]])
