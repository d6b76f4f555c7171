"""Tests for tfgan_suite.data: loaders, mixtures and the resumable pipeline."""

import gzip
import itertools
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgan_suite import data
from tfgan_suite.data import fashion_mnist
from tfgan_suite.data import folder

FMNIST_DIR = fashion_mnist.DEFAULT_DIR


def _batches(ds, count):
    return [b.numpy() for b in itertools.islice(iter(ds), count)]


def _tiny_images(n=10, seed=0):
    """n random 4x4x1 images that include 0 and 255; y = row index."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 4, 4, 1), dtype=np.uint8)
    x[0, 0, 0, 0], x[0, 0, 1, 0] = 0, 255
    return data.ArrayData("tiny", "image", x, np.arange(n, dtype=np.int32), n)


def _offline_download(*args, **kwargs):
    # What an offline machine gets from the HTTP stack when TFDS downloads.
    raise ConnectionError(
        "Failed to establish a new connection: [Errno -3] Temporary failure in name resolution"
    )


# --------------------------------------------------------------------------- Fashion-MNIST


@pytest.fixture(scope="module")
def fmnist_train():
    return data.load("fashion_mnist")


def test_fashion_mnist_train_matches_published_facts(fmnist_train):
    d = fmnist_train
    assert (d.name, d.kind, d.num_classes) == ("fashion_mnist", "image", 10)
    assert d.x.shape == (60000, 28, 28, 1) and d.x.dtype == np.uint8
    assert d.y.shape == (60000,) and d.y.dtype == np.int32
    assert d.shape == (28, 28, 1)
    # Fashion-MNIST is balanced: 6,000 training images per class.
    np.testing.assert_array_equal(np.bincount(d.y, minlength=10), np.full(10, 6000))
    # Pixels equal the raw bytes after the 16-byte header (independent read).
    with gzip.open(os.path.join(FMNIST_DIR, "train-images-idx3-ubyte.gz")) as f:
        f.read(16)
        first_two = np.frombuffer(f.read(2 * 784), np.uint8).reshape(2, 28, 28, 1)
    np.testing.assert_array_equal(d.x[:2], first_two)


def test_fashion_mnist_test_split_and_resize():
    d = data.load("fashion_mnist", split="test", image_size=14)
    assert d.x.shape == (10000, 14, 14, 1) and d.x.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(d.y, minlength=10), np.full(10, 1000))
    raw = data.load("fashion_mnist", split="test").x[:3, :, :, 0].astype(np.float64)
    # Area downscaling by 2 is the mean of each 2x2 block.
    blocks = raw.reshape(3, 14, 2, 14, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(d.x[:3, :, :, 0], blocks, atol=0.5 + 1e-6)


def test_fashion_mnist_bad_split():
    with pytest.raises(data.DataError, match="train, test"):
        data.load("fashion_mnist", split="validation")


def _write_idx(path, array, type_code=0x08, compress=True):
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    raw = header + array.astype(">u1").tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(raw)
    return raw


def test_idx_plain_and_gzip_parse_to_the_same_array(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([0, 9, 4], np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte", images, compress=False)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    d = data.load("fashion_mnist", data_dir=str(tmp_path))
    np.testing.assert_array_equal(d.x[..., 0], images)
    np.testing.assert_array_equal(d.y, [0, 9, 4])


@pytest.mark.parametrize(
    "corrupt",
    ["truncated_payload", "bad_magic", "truncated_gzip", "labels_missing", "label_out_of_range"],
)
def test_malformed_idx_raises_data_error(tmp_path, corrupt):
    images = np.zeros((4, 28, 28), np.uint8)
    labels = np.array([1, 2, 3, 4], np.uint8)
    raw = _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    if corrupt == "truncated_payload":
        with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
            f.write(raw[:-100])
    elif corrupt == "bad_magic":
        with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\x12\x34" + raw[2:])
    elif corrupt == "truncated_gzip":
        packed = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    elif corrupt == "labels_missing":
        os.remove(tmp_path / "train-labels-idx1-ubyte.gz")
    elif corrupt == "label_out_of_range":
        _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([1, 2, 3, 10], np.uint8))
    with pytest.raises(data.DataError) as info:
        data.load("fashion_mnist", data_dir=str(tmp_path))
    assert "\n" not in str(info.value)


def test_fashion_mnist_falls_back_to_tfds(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path))
    with tfds.testing.mock_data(num_examples=5):
        d = data.load("fashion_mnist", split="test")
    assert d.x.shape == (5, 28, 28, 1) and d.num_classes == 10


def test_fashion_mnist_nowhere_names_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", _offline_download
    )
    with pytest.raises(data.DataError) as info:
        data.load("fashion_mnist", data_dir=str(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    for part in ("apt-get install dataset-fashion-mnist", "--data_dir", "network", "ConnectionError"):
        assert part in message


# --------------------------------------------------------------------------- TFDS


@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_tfds_mock(tmp_path, name, shape):
    with tfds.testing.mock_data(num_examples=6):
        d = data.load(name, split="test", data_dir=str(tmp_path))
    assert (d.name, d.kind, d.num_classes) == (name, "image", 10)
    assert d.x.shape == (6, *shape) and d.x.dtype == np.uint8
    assert d.y.dtype == np.int32 and 0 <= d.y.min() and d.y.max() < 10


def test_tfds_mock_resize(tmp_path):
    with tfds.testing.mock_data(num_examples=4):
        d = data.load("cifar10", data_dir=str(tmp_path), image_size=8)
    assert d.x.shape == (4, 8, 8, 3) and d.x.dtype == np.uint8


def test_tfds_offline_failure_names_data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", _offline_download
    )
    with pytest.raises(data.DataError) as info:
        data.load("mnist", data_dir=str(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    assert "--data_dir" in message and "'mnist'" in message and "ConnectionError" in message


@pytest.mark.parametrize("name", ["no_such_dataset_xyz", "svhn_croped"])
def test_unknown_name_lists_accepted(name):
    with pytest.raises(data.DataError) as info:
        data.load(name)
    message = str(info.value)
    assert "\n" not in message
    for accepted in ("fashion_mnist", "ring8", "grid25", "folder:PATH", "TFDS"):
        assert accepted in message


def test_tfds_non_image_dataset_is_rejected():
    with pytest.raises(data.DataError, match="no `image` feature"):
        data.load("imdb_reviews")


# --------------------------------------------------------------------------- folder


def _solid(height, width, channels, value):
    return tf.fill([height, width, channels], tf.constant(value, tf.uint8))


def test_folder_loads_sorted_rgb_and_counts_corrupt(tmp_path, caplog):
    (tmp_path / "sub").mkdir()
    files = {  # path -> (encoded bytes, expected grey level)
        "a.png": (tf.io.encode_png(_solid(20, 30, 3, 10)), 10),
        "b.PNG": (tf.io.encode_png(_solid(8, 8, 1, 200)), 200),  # grey -> RGB
        "sub/c.jpg": (tf.io.encode_jpeg(_solid(16, 16, 3, 100)), 100),
        "sub/d.jpeg": (tf.io.encode_jpeg(_solid(40, 24, 3, 50)), 50),
    }
    for path, (encoded, _) in files.items():
        (tmp_path / path).write_bytes(encoded.numpy())
    rng = np.random.default_rng(0)
    (tmp_path / "broken.png").write_bytes(rng.integers(0, 256, 300, np.uint8).tobytes())
    (tmp_path / "notes.txt").write_text("not an image")

    images, skipped = folder.read_folder(str(tmp_path), 16)
    assert skipped == 1
    with caplog.at_level(logging.WARNING):
        d = data.load(f"folder:{tmp_path}", image_size=16)
    assert "skipped 1 unreadable image file(s) of 5" in caplog.text
    assert (d.kind, d.y, d.num_classes) == ("image", None, None)
    assert d.x.shape == (4, 16, 16, 3) and d.x.dtype == np.uint8
    np.testing.assert_array_equal(d.x, images)
    # Rows follow the sorted paths; solid colours survive crop+resize (JPEG +-2).
    expected = [files[p][1] for p in ("a.png", "b.PNG", "sub/c.jpg", "sub/d.jpeg")]
    np.testing.assert_allclose(d.x.mean(axis=(1, 2, 3)), expected, atol=2)


def test_folder_default_size_is_64(tmp_path):
    (tmp_path / "x.png").write_bytes(tf.io.encode_png(_solid(10, 10, 3, 7)).numpy())
    assert data.load(f"folder:{tmp_path}").x.shape == (1, 64, 64, 3)


def test_folder_empty_or_missing_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"garbage")
    for sub in ("empty", "missing", "bad"):
        with pytest.raises(data.DataError):
            data.load(f"folder:{tmp_path / sub}")


# --------------------------------------------------------------------------- mixtures


def test_ring8_means_are_eight_distinct_unit_points():
    means, std = data.MIXTURES["ring8"]
    assert std == 0.01 and means.shape == (8, 2) and means.dtype == np.float64
    angles = np.pi / 4 * np.arange(8)
    np.testing.assert_allclose(means, np.stack([np.cos(angles), np.sin(angles)], 1), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 1.0)
    dist = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(8) * 9
    np.testing.assert_allclose(dist.min(), 2 * np.sin(np.pi / 8))  # neighbours 45 deg apart


def test_grid25_means_are_the_grid():
    means, std = data.MIXTURES["grid25"]
    assert std == 0.05 and means.shape == (25, 2)
    grid = {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(m) for m in means.tolist()} == grid


# The design's mixtures, written here from the spec rather than read from the library.
SPEC = {
    "ring8": (np.array([[np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)]
                        for k in range(8)]), 0.01),
    "grid25": (np.array([[a, b] for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)],
                        np.float64), 0.05),
}


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_samples_match_the_spec(name):
    d = data.load(name, seed=3)
    means, std = SPEC[name]
    assert data.is_2d(name) and d.kind == "points" and d.shape == (2,)
    assert d.x.shape == (100_000, 2) and d.x.dtype == np.float32
    assert d.y.dtype == np.int32 and d.num_classes == len(means)
    # Each point's nearest spec mode (modes are >= 0.76 apart, points within ~5 std): the
    # labels must name the mode the point was drawn from, in the spec's order up to a
    # relabelling that the library keeps fixed (checked by mapping labels to modes).
    nearest = np.argmin(np.linalg.norm(d.x[:, None] - means[None], axis=-1), axis=1)
    mapping = {int(k): int(np.bincount(nearest[d.y == k]).argmax()) for k in range(len(means))}
    assert sorted(mapping.values()) == list(range(len(means)))   # a bijection
    np.testing.assert_array_equal(nearest, [mapping[int(k)] for k in d.y])
    counts = np.bincount(d.y, minlength=len(means))
    expected = 100_000 / len(means)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))  # uniform modes
    for k in range(len(means)):
        points = d.x[d.y == k].astype(np.float64)
        n = len(points)
        # Sample mean: std / sqrt(n) standard error; sample std: std / sqrt(2n). 5 sigma.
        np.testing.assert_allclose(points.mean(0), means[mapping[k]], rtol=0,
                                   atol=5 * std / np.sqrt(n))
        np.testing.assert_allclose(points.std(0), std, rtol=5 / np.sqrt(2 * n))
        # Isotropic and uncorrelated coordinates.
        assert abs(np.corrcoef(points.T)[0, 1]) < 5 / np.sqrt(n)
    # The library's exported means are the spec's (the metrics score against them).
    lib_means, lib_std = data.MIXTURES[name]
    np.testing.assert_allclose(lib_means, means[[mapping[k] for k in range(len(means))]],
                               atol=1e-12)
    assert lib_std == std
    np.testing.assert_array_equal(data.load(name, seed=3).x, d.x)  # reproducible
    assert not np.array_equal(data.load(name, seed=4).x, d.x)
    assert not np.array_equal(data.load(name, split="test", seed=3).x, d.x)


def test_is_2d():
    assert data.is_2d("ring8") and data.is_2d("grid25")
    assert not data.is_2d("fashion_mnist") and not data.is_2d("folder:/x")


# --------------------------------------------------------------------------- pipeline


@pytest.mark.parametrize("batch_size", [4, 3])
def test_stream_matches_batch_indices(batch_size):
    tiny = _tiny_images()
    ds = data.make_dataset(tiny, batch_size=batch_size, seed=7, with_labels=True)
    for k, (x, y) in enumerate(itertools.islice(iter(ds), 8)):
        np.testing.assert_array_equal(y.numpy(), data.batch_indices(10, batch_size, 7, k))


@pytest.mark.parametrize("start", [1, 2, 3, 5, 7])
def test_start_batch_equals_skipping(start):
    # N=10, B=4: batch 2 spans epochs 0 and 1, batch 7 spans epochs 2 and 3.
    tiny = _tiny_images()
    full = _batches(data.make_dataset(tiny, batch_size=4, seed=1), start + 3)
    resumed = _batches(data.make_dataset(tiny, batch_size=4, seed=1, start_batch=start), 3)
    for a, b in zip(full[start:], resumed):
        np.testing.assert_array_equal(a, b)


def test_each_element_once_per_epoch_and_seeds_differ():
    tiny = _tiny_images()
    streams = {}
    for seed in (0, 1):
        ds = data.make_dataset(tiny, batch_size=4, seed=seed, with_labels=True)
        streams[seed] = np.concatenate([y.numpy() for _, y in itertools.islice(iter(ds), 10)])
        for epoch in range(4):  # 40 elements = 4 epochs of 10
            np.testing.assert_array_equal(
                np.sort(streams[seed][epoch * 10 : (epoch + 1) * 10]), np.arange(10)
            )
        assert not np.array_equal(streams[seed][:10], streams[seed][10:20])
    assert not np.array_equal(streams[0], streams[1])


def test_images_scaled_to_unit_interval():
    tiny = _tiny_images()
    ds = data.make_dataset(tiny, batch_size=10, seed=0, with_labels=True)
    assert ds.element_spec[0].shape == (10, 4, 4, 1)
    assert ds.element_spec[0].dtype == tf.float32 and ds.element_spec[1].dtype == tf.int32
    x, y = next(iter(ds))
    raw = tiny.x[y.numpy()].astype(np.float64)
    np.testing.assert_allclose(x.numpy(), raw * (2.0 / 255.0) - 1.0, atol=1e-6)
    assert x.numpy().min() == -1.0 and x.numpy().max() == 1.0


def test_points_are_not_scaled():
    points = data.ArrayData(
        "pts", "points", np.array([[5.0, -3.0], [0.5, 2.0]], np.float32), None, None
    )
    x = next(iter(data.make_dataset(points, batch_size=2, seed=0))).numpy()
    np.testing.assert_array_equal(np.sort(x, axis=0), np.sort(points.x, axis=0))


def test_real_data_resume_far_into_training(fmnist_train):
    step = 60000 // 64 * 3 + 1  # inside epoch 3
    ds = data.make_dataset(fmnist_train, batch_size=64, seed=5, start_batch=step, with_labels=True)
    x, y = next(iter(ds))
    idx = data.batch_indices(60000, 64, 5, step)
    np.testing.assert_array_equal(y.numpy(), fmnist_train.y[idx])
    np.testing.assert_allclose(x.numpy(), fmnist_train.x[idx] / 127.5 - 1.0, atol=1e-6)


def test_with_labels_needs_labels():
    unlabelled = data.ArrayData("folder:/x", "image", np.zeros((2, 4, 4, 3), np.uint8), None, None)
    with pytest.raises(data.DataError, match="has no labels; conditional variants need one of"):
        data.make_dataset(unlabelled, batch_size=2, seed=0, with_labels=True)


def test_bad_arguments():
    tiny = _tiny_images()
    with pytest.raises(data.DataError, match="batch_size"):
        data.make_dataset(tiny, batch_size=0, seed=0)
    with pytest.raises(data.DataError, match="start_batch"):
        data.make_dataset(tiny, batch_size=2, seed=0, start_batch=-1)
    with pytest.raises(data.DataError, match="uint8"):
        data.ArrayData("x", "image", np.zeros((2, 4, 4, 1), np.float32), None, None)
    with pytest.raises(data.DataError, match="kind"):
        data.ArrayData("x", "video", np.zeros((2, 4, 4, 1), np.uint8), None, None)
    with pytest.raises(data.DataError, match="image_size"):
        data.load("ring8", image_size=0)


# --------------------------------------------------------------------------- batches per step


class _Bursts:
    """m(k) = 3 for k < 2 or k % 4 == 0, else 1; offset(k) in closed form."""

    def __call__(self, k):
        return 3 if k < 2 or k % 4 == 0 else 1

    def offset(self, k):
        early = min(k, 2)
        periodic = -(-k // 4) - (-(-early // 4))  # multiples of 4 in [2, k)
        return 3 * (early + periodic) + (k - early - periodic)


def test_step_offset_sums_the_schedule_or_asks_its_closed_form():
    for k in range(40):
        # Summed here, step by step, when the schedule has no closed form.
        assert data.pipeline.step_offset(lambda j: 3 if j < 2 or j % 4 == 0 else 1, k) == sum(
            3 if j < 2 or j % 4 == 0 else 1 for j in range(k))
        assert data.pipeline.step_offset(3, k) == 3 * k

    class Told:
        """A schedule whose `offset` is not its sum: step_offset must return `offset`."""

        def __call__(self, k):
            return 1

        def offset(self, k):
            return 1000 + k

    assert data.pipeline.step_offset(Told(), 7) == 1007
    # (The helper schedule of the tests below is itself right: its closed form is its sum.)
    assert all(_Bursts().offset(k) == sum(_Bursts()(j) for j in range(k)) for k in range(40))


def test_wgan_critic_schedule_closed_form_offset_is_the_running_sum():
    """The one closed form in the library (wgan's m(k)), against a plain running sum, over
    the burst phase, the periodic bursts and their boundaries."""
    from tfgan_suite.variants.wgan import CriticSchedule

    for schedule in (CriticSchedule(n_critic=5), CriticSchedule(3, burst=7, first=4, every=6),
                     CriticSchedule(2, burst=9, first=0, every=1), CriticSchedule(1, first=0)):
        total = 0
        for k in range(1200 if schedule.every == 500 else 40):
            assert schedule.offset(k) == total, (schedule, k)
            assert data.pipeline.step_offset(schedule, k) == total
            total += schedule(k)


def test_int_batches_per_step_is_one_batch_of_m_times_b():
    tiny = _tiny_images()
    a = _batches(data.make_dataset(tiny, batch_size=4, batches_per_step=3, seed=2,
                                   start_batch=1), 4)
    b = _batches(data.make_dataset(tiny, batch_size=12, seed=2, start_batch=1), 4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("schedule", [_Bursts(), lambda k: 3 if k < 2 or k % 4 == 0 else 1])
def test_scheduled_elements_are_consecutive_batches(schedule):
    # N=10, B=4: elements of 12 or 4 rows, spanning epochs.
    tiny = _tiny_images()
    ds = data.make_dataset(tiny, batch_size=4, seed=3, with_labels=True,
                           batches_per_step=schedule)
    assert ds.element_spec[0].shape.as_list() == [None, 4, 4, 1]
    stream = []
    for k, (x, y) in enumerate(itertools.islice(iter(ds), 10)):
        assert x.shape[0] == 4 * schedule(k) and y.shape[0] == 4 * schedule(k)
        np.testing.assert_array_equal(
            y.numpy(), data.pipeline.step_indices(10, 4, 3, k, schedule))
        np.testing.assert_allclose(x.numpy(), tiny.x[y.numpy()] / 127.5 - 1.0, atol=1e-6)
        stream.append(y.numpy())
    # Together they are the plain batch stream, in order: no batch skipped or repeated.
    total = sum(schedule(k) for k in range(10))
    plain = np.concatenate([data.batch_indices(10, 4, 3, j) for j in range(total)])
    np.testing.assert_array_equal(np.concatenate(stream), plain)


@pytest.mark.parametrize("start", [1, 2, 3, 4, 5, 9])
def test_scheduled_resume_equals_the_uninterrupted_stream(start):
    tiny = _tiny_images()
    full = _batches(data.make_dataset(tiny, batch_size=4, seed=1, batches_per_step=_Bursts()),
                    start + 3)
    resumed = _batches(data.make_dataset(tiny, batch_size=4, seed=1, start_batch=start,
                                         batches_per_step=_Bursts()), 3)
    for a, b in zip(full[start:], resumed):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [0, -1, True, "3", lambda k: 0])
def test_bad_batches_per_step(bad):
    with pytest.raises(data.DataError, match="batches_per_step"):
        data.make_dataset(_tiny_images(), batch_size=2, seed=0, batches_per_step=bad)


@pytest.mark.parametrize("start", [0, 3, 6])
def test_steps_per_element_stacks_consecutive_steps(start):
    # N=10, B=2, m=2: each step 4 rows; 3 steps per element, 12 rows spanning epochs.
    tiny = _tiny_images()
    ds = data.make_dataset(tiny, batch_size=2, batches_per_step=2, seed=4, with_labels=True,
                           start_batch=start, steps_per_element=3)
    assert ds.element_spec[0].shape.as_list() == [3, 4, 4, 4, 1]
    for e, (x, y) in enumerate(itertools.islice(iter(ds), 4)):
        for i in range(3):
            step = start + 3 * e + i
            np.testing.assert_array_equal(
                y[i].numpy(), data.pipeline.step_indices(10, 2, 4, step, 2))
            np.testing.assert_allclose(x[i].numpy(), tiny.x[y[i].numpy()] / 127.5 - 1.0,
                                       atol=1e-6)


def test_steps_per_element_needs_one_size_and_a_whole_start():
    tiny = _tiny_images()
    with pytest.raises(data.DataError, match="multiple of steps_per_element=4"):
        data.make_dataset(tiny, batch_size=2, seed=0, start_batch=6, steps_per_element=4)
    with pytest.raises(data.DataError, match="needs an int `batches_per_step`"):
        data.make_dataset(tiny, batch_size=2, seed=0, batches_per_step=_Bursts(),
                          steps_per_element=2)
    for bad in (0, True, 2.0):
        with pytest.raises(data.DataError, match="steps_per_element"):
            data.make_dataset(tiny, batch_size=2, seed=0, steps_per_element=bad)
