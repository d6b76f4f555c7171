"""Tests for the image helpers (tfgan_suite.images) and the sampling CLI (tfgan_suite.sample)."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.test_export import (NUM_CLASSES, POINTS_META, COND_META, build_conditional_generator,
                               build_image_generator, build_points_generator, make_meta)
from tfgan_suite import images, sample, serving

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TensorFlow's own C++ log lines (printed on import whatever TF_CPP_MIN_LOG_LEVEL says).
TF_LOG_LINE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                         r"|[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] )")


def decode_png(path) -> np.ndarray:
    """An independent PNG decoder (TensorFlow's)."""
    with open(path, "rb") as f:
        return tf.io.decode_png(f.read(), channels=0).numpy()


# --- images.py -------------------------------------------------------------------------

def test_tile_images_by_hand():
    # Three 2x2 single-channel images, 2 columns (ceil(sqrt(3))), padding 1 of grey 9.
    batch = np.array([[[10, 11], [12, 13]],
                      [[20, 21], [22, 23]],
                      [[30, 31], [32, 33]]], np.uint8)[..., np.newaxis]
    expected = np.array([
        [9, 9, 9, 9, 9, 9, 9],
        [9, 10, 11, 9, 20, 21, 9],
        [9, 12, 13, 9, 22, 23, 9],
        [9, 9, 9, 9, 9, 9, 9],
        [9, 30, 31, 9, 9, 9, 9],
        [9, 32, 33, 9, 9, 9, 9],
        [9, 9, 9, 9, 9, 9, 9],
    ], np.uint8)[..., np.newaxis]
    np.testing.assert_array_equal(images.tile_images(batch, padding=1, pad_value=9), expected)


def test_tile_images_grid_arithmetic_and_float_input():
    # 10 RGB images of 8x6 -> 4 columns, 3 rows; 2-pixel padding around and between.
    grid = images.tile_images(np.ones([10, 8, 6, 3]) * 0.5)
    assert grid.shape == (3 * (8 + 2) + 2, 4 * (6 + 2) + 2, 3) == (32, 34, 3)
    assert grid.dtype == np.uint8
    assert grid[2, 2, 0] == 128 and grid[0, 0, 0] == 255  # round(0.5 * 255) = 128 (half to even)
    assert images.tile_images(np.zeros([3, 2, 2]), columns=3, padding=0).shape == (2, 6, 1)


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(images.to_uint8(np.array([-0.2, 0.0, 0.1, 1.0, 1.7, np.nan])),
                                  [0, 0, 26, 255, 255, 0])
    with pytest.raises(ValueError, match="float in"):
        images.to_uint8(np.array([1, 2], np.int64))


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (3, 4, 2), (5, 7, 3), (2, 9, 4)])
def test_png_round_trip(tmp_path, shape):
    image = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    images.write_png(str(tmp_path / "x.png"), image)
    decoded = decode_png(tmp_path / "x.png")
    np.testing.assert_array_equal(decoded, image.reshape(shape[0], shape[1], -1))


def test_encode_png_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        images.encode_png(np.zeros([4, 4, 5], np.uint8))


def test_rasterize_points_places_points_and_axes():
    canvas = images.rasterize_points(np.array([[0.5, 0.5], [-1.0, -1.0]]), size=5, radius=0,
                                     bounds=(-1, 1, -1, 1))
    assert canvas.shape == (5, 5, 3) and canvas.dtype == np.uint8
    blue, grey, white = (20, 60, 160), (200, 200, 200), (255, 255, 255)
    # x in [-1, 1] -> columns 0..4, y in [-1, 1] -> rows 4..0.
    np.testing.assert_array_equal(canvas[1, 3], blue)   # (0.5, 0.5)
    np.testing.assert_array_equal(canvas[4, 0], blue)   # (-1, -1)
    np.testing.assert_array_equal(canvas[0, 2], grey)   # on the y axis (x = 0)
    np.testing.assert_array_equal(canvas[2, 4], grey)   # on the x axis (y = 0)
    np.testing.assert_array_equal(canvas[0, 0], white)
    assert (canvas == blue).all(axis=-1).sum() == 2


def test_rasterize_points_default_bounds_show_every_point():
    points = np.random.default_rng(2).normal(size=[200, 2]) * [3.0, 0.5] + [10.0, -4.0]
    points[0] = [np.nan, 1.0]  # skipped
    canvas = images.rasterize_points(points, radius=0)
    assert (canvas == (20, 60, 160)).all(axis=-1).sum() >= 150  # a few may share a pixel


# --- the sampling CLI --------------------------------------------------------------------

@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    return {
        "img": os.path.dirname(serving.export_generator(build_image_generator(), str(base / "img"),
                                                        meta=make_meta())),
        "pts": serving.export_generator(build_points_generator(), str(base / "pts"),
                                        meta=make_meta(**POINTS_META)),
        "cond": serving.export_generator(build_conditional_generator(), str(base / "cond"),
                                         meta=make_meta(**COND_META)),
    }


def run_cli(*args):
    """Runs `python -m tfgan_suite.sample ARGS` from the repository."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "tfgan_suite.sample", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def own_stderr_lines(stderr):
    """stderr lines other than TensorFlow's C++ start-up log lines."""
    return [line for line in stderr.splitlines() if line.strip() and not TF_LOG_LINE.match(line)]


def draw(model_dir, num, seed, label=None):
    fn = tf.saved_model.load(serving.resolve_model_dir(model_dir)).signatures["sample"]
    kwargs = {"num": tf.constant(num, tf.int32), "seed": tf.constant(seed, tf.int64)}
    if label is not None:
        kwargs["label"] = tf.fill([num], label)
    return {k: v.numpy() for k, v in fn(**kwargs).items()}


@pytest.fixture(scope="module")
def cli_runs(models, tmp_path_factory):
    """Runs the CLI on the image and on the points model, side by side (each starts TensorFlow)."""
    out = tmp_path_factory.mktemp("cli")
    commands = {
        "img": ["--model", models["img"], "--num", "10", "--seed", "5", "--out", str(out / "grid.png")],
        "pts": ["--model", models["pts"], "--num", "50", "--out", str(out / "ring.png")],
    }
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    procs = {name: subprocess.Popen([sys.executable, "-m", "tfgan_suite.sample", *args], cwd=REPO, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, args in commands.items()}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out, results


def test_cli_writes_an_image_grid(models, cli_runs):
    out_dir, results = cli_runs
    proc, out = results["img"], out_dir / "grid.png"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.strip().splitlines()) == 1 and str(out) in proc.stdout
    assert own_stderr_lines(proc.stderr) == []
    grid = decode_png(out)
    # 10 images of 8x8: 4 columns, 3 rows, 2-pixel padding around and between tiles.
    assert grid.shape == (3 * 10 + 2, 4 * 10 + 2, 1) == (32, 42, 1)
    expected = draw(models["img"], 10, 5)["images_uint8"]
    for i in range(10):
        row, col = divmod(i, 4)
        np.testing.assert_array_equal(grid[2 + 10 * row:10 + 10 * row, 2 + 10 * col:10 + 10 * col], expected[i])
    assert (grid[:2] == 255).all() and (grid[:, 40:] == 255).all()
    assert (grid[22:30, 22:] == 255).all()  # the two empty cells of the last row


def test_cli_writes_points_and_a_scatter_plot(models, cli_runs):
    out_dir, results = cli_runs
    proc = results["pts"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.strip().splitlines()) == 1 and "ring.npy" in proc.stdout
    points = np.load(out_dir / "ring.npy")
    assert points.shape == (50, 2) and points.dtype == np.float32
    np.testing.assert_array_equal(points, draw(models["pts"], 50, 0)["samples"])
    assert decode_png(out_dir / "ring.png").shape == (512, 512, 3)


def test_label_for_an_unconditional_model_is_a_sample_error(models, tmp_path):
    # The CLI prints SampleError messages with usage_error, as the subprocess tests below show.
    with pytest.raises(sample.SampleError, match="is unconditional: it takes no --label"):
        sample.sample_to_files(models["img"], 4, str(tmp_path / "x.png"), label=1)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--num", "0"], "--num must be >= 1, got 0"),
    (["--num=abc"], "flag --num=abc"),
    (["--model", "/nonexistent/dir"], "/nonexistent/dir does not exist"),
    (["--out", "grid.jpg"], "--out must name a .png file"),
    (["--bogus_flag=1"], "bogus_flag"),
])
def test_cli_usage_errors_are_one_line_and_exit_2(models, tmp_path, args, message):
    base = ["--model", models["img"], "--out", str(tmp_path / "x.png")]
    proc = run_cli(*(base + args))
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr  # answered before TensorFlow starts
    assert proc.stderr.startswith("error: ") and message in proc.stderr


def test_cli_missing_required_flag_exits_2():
    proc = run_cli("--num", "4")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "--model" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_not_a_saved_model_is_a_sample_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(sample.SampleError, match="no saved_model.pb and no version subdirectories"):
        sample.sample_to_files(str(tmp_path / "empty"), 4, str(tmp_path / "x.png"))


def test_conditional_model_needs_a_label_in_range(models, tmp_path):
    out = str(tmp_path / "c.png")
    with pytest.raises(sample.SampleError, match=rf"conditional model: pass --label=K with K in \[0, {NUM_CLASSES}\)"):
        sample.sample_to_files(models["cond"], 4, out)
    with pytest.raises(sample.SampleError, match=rf"label must be in \[0, {NUM_CLASSES}\), got \[{NUM_CLASSES}\]"):
        sample.sample_to_files(models["cond"], 4, out, label=NUM_CLASSES)
    message = sample.sample_to_files(models["cond"], 4, out, seed=3, label=1)
    assert "\n" not in message and out in message
    grid = decode_png(out)
    assert grid.shape == (22, 22, 1)  # 4 images: 2 x 2 tiles of 8 + 2
    np.testing.assert_array_equal(grid[2:10, 12:20], draw(models["cond"], 4, 3, label=1)["images_uint8"][1])
