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


RING_MODES = np.array([[np.cos(a), np.sin(a)] for a in 2 * np.pi * np.arange(8) / 8])
GRID_MODES = np.array([[x, y] for x in range(-4, 5, 2) for y in range(-4, 5, 2)], float)
RED, BLUE, TICK = images.MODE_COLOR, images.POINT_COLOR, images.TICK_COLOR


def _is(canvas, color):
    return (canvas == color).all(axis=-1)


def test_mixture_frame_of_the_ring_and_the_grid():
    np.testing.assert_allclose(images.mixture_frame(RING_MODES), (-1.5, 1.5, -1.5, 1.5), atol=1e-12)
    np.testing.assert_allclose(images.mixture_frame(GRID_MODES), (-6, 6, -6, 6), atol=1e-12)
    assert images.mixture_frame([[2.0, 3.0]]) == (1.0, 3.0, 2.0, 4.0)  # one mode: half-width 1
    with pytest.raises(ValueError, match="K >= 1"):
        images.mixture_frame(np.zeros((0, 2)))


def test_point_lights_the_expected_pixel_in_the_ring_frame():
    # size 301 over [-1.5, 1.5]: 100 pixels per unit; (0.5, -1.0) -> column 200, row 250.
    canvas = images.rasterize_points([[0.5, -1.0]], size=301, radius=0, modes=RING_MODES)
    assert _is(canvas, BLUE).sum() == 1 and _is(canvas, BLUE)[250, 200]
    canvas = images.rasterize_points([[0.5, -1.0]], size=301, radius=1, modes=RING_MODES)
    assert _is(canvas, BLUE)[249:252, 199:202].all() and _is(canvas, BLUE).sum() == 9


def test_mode_crosses_sit_on_the_mode_centres():
    canvas = images.rasterize_points(np.zeros((0, 2)), size=301, modes=RING_MODES)
    arm = 301 // 48  # 6 pixels
    red = _is(canvas, RED)
    assert red.sum() == 8 * (4 * arm + 1)  # eight crosses, none clipped
    for x, y in RING_MODES:
        row, col = int(round((1.5 - y) * 100)), int(round((x + 1.5) * 100))
        assert red[row, col - arm:col + arm + 1].all() and red[row - arm:row + arm + 1, col].all()
        assert not red[row, col + arm + 1] and not red[row + arm + 1, col]
    # Mode (1, 0): centre pixel (150, 250).
    assert red[150, 250] and red[150, 250 + arm] and red[150 - arm, 250]


def test_points_are_drawn_over_the_crosses():
    canvas = images.rasterize_points([[1.0, 0.0]], size=301, radius=1, modes=RING_MODES)
    assert _is(canvas, BLUE)[150, 250] and _is(canvas, RED)[150, 250 + 6]


def test_axes_do_not_move_with_the_data():
    collapsed = np.tile([[1.0, 0.0]], (100, 1))
    spread = np.concatenate([RING_MODES * 0.5, [[10.0, 10.0], [-0.2, 1.4]]])  # (10, 10) is out of view
    a = images.rasterize_points(collapsed, size=301, modes=RING_MODES)
    b = images.rasterize_points(spread, size=301, modes=RING_MODES)
    background = ~_is(a, BLUE) & ~_is(b, BLUE)
    np.testing.assert_array_equal(a[background], b[background])
    assert _is(a, RED).sum() > 0 and (_is(a, RED) | _is(a, BLUE)).sum() >= _is(b, RED).sum()
    # Ticks every 0.5 along the edges (3 pixels long at this size): x = 0.5 -> column 200.
    for value in (-1.5, -1.0, -0.5, 0.5, 1.0, 1.5):
        col = int(round((value + 1.5) * 100))
        assert _is(a, TICK)[0:3, col].all() and _is(a, TICK)[298:301, col].all()
        assert _is(a, TICK)[col, 0:3].all()  # same pixels for y (square frame)
    # Explicit bounds win over the modes' frame.
    c = images.rasterize_points([[0.0, 0.0]], size=5, radius=0, bounds=(-1, 1, -1, 1), modes=[[1.0, 1.0]])
    assert _is(c, BLUE)[2, 2] and _is(c, RED)[0, 4]


def test_grid_frame_ticks_every_two_units():
    canvas = images.rasterize_points(np.zeros((0, 2)), size=241, modes=GRID_MODES)  # 20 px/unit
    tick = _is(canvas, TICK)
    # Row 1 (row 0 also holds the left and right edges' tick for y = 6): x = -6, -4, ..., 6.
    assert [c for c in range(241) if tick[1, c]] == [0, 40, 80, 120, 160, 200, 240]
    assert _is(canvas, RED)[120 - 4 * 20, 120 + 4 * 20]  # mode (4, 4)


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
    png = decode_png(out_dir / "ring.png")
    assert png.shape == (512, 512, 3)
    # The model was trained on ring8 (its metadata says so): the fixed ring frame, with a
    # red cross at each mode, e.g. the centre of mode (0, 1) at row 85, column 255.
    np.testing.assert_array_equal(png, images.rasterize_points(points, modes=RING_MODES))
    assert (png[85, 245:266] == images.MODE_COLOR).all(axis=-1).sum() >= 10


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
