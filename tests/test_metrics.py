"""Metrics against independent references: scipy, closed forms, brute force and hand counts."""

import importlib

import numpy as np
import pytest
import scipy.linalg
import scipy.special

from tfgan_suite import metrics
from tfgan_suite.metrics.label_accuracy import label_accuracy

# The package re-exports the function `prdc`, which shadows the submodule of the same name.
prdc_module = importlib.import_module("tfgan_suite.metrics.prdc")

# ---------------------------------------------------------------------------------------------
# FID


def _fid_reference(f1, f2, eps=None):
    """TTUR-style FID with scipy's general matrix square root (optionally eps-regularised)."""
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    if eps is None:
        covmean = scipy.linalg.sqrtm(s1 @ s2)
    else:
        offset = eps * np.eye(s1.shape[0])
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)


def _gaussian(rng, n, mean, cov):
    return rng.multivariate_normal(mean, cov, size=n)


def test_feature_statistics_match_numpy():
    f = np.random.default_rng(0).normal(size=(300, 7)) * 3.0 + 1.0
    mu, sigma = metrics.feature_statistics(f)
    np.testing.assert_allclose(mu, f.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(f, rowvar=False), rtol=1e-10, atol=1e-12)


def test_fid_matches_scipy_sqrtm_with_different_covariances():
    rng = np.random.default_rng(1)
    d = 16
    a1, a2 = rng.normal(size=(d, d)), rng.normal(size=(d, d)) * 0.5
    f1 = _gaussian(rng, 2000, rng.normal(size=d), a1 @ a1.T + 0.1 * np.eye(d))
    f2 = _gaussian(rng, 1500, rng.normal(size=d), a2 @ a2.T + np.diag(np.linspace(0.1, 2.0, d)))
    np.testing.assert_allclose(metrics.fid_from_features(f1, f2), _fid_reference(f1, f2), rtol=1e-4)


def test_frechet_distance_closed_form_for_diagonal_covariances():
    # Diagonal (commuting) covariances: tr((S1 S2)^1/2) = sum sqrt(a_i b_i), so
    # FID = ||dmu||^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    a = np.array([1.0, 4.0, 0.25, 9.0])
    b = np.array([4.0, 1.0, 1.0, 9.0])
    mu1, mu2 = np.zeros(4), np.array([1.0, -2.0, 0.0, 0.5])
    expected = 1.0 + 4.0 + 0.25 + (1.0 + 1.0 + 0.25 + 0.0)
    got = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_fid_of_a_set_with_itself_is_zero():
    f = np.random.default_rng(2).normal(size=(500, 32)) @ np.diag(np.linspace(0.5, 3.0, 32))
    scale = np.trace(np.cov(f, rowvar=False))  # ~ the size of each trace term that cancels
    np.testing.assert_allclose(metrics.fid_from_features(f, f), 0.0, atol=1e-10 * scale)


def test_fid_mean_shift_of_the_same_sample_is_squared_shift():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8))
    delta = rng.normal(size=8)
    # Same covariance exactly, so the covariance terms cancel: FID = ||delta||^2.
    np.testing.assert_allclose(metrics.fid_from_features(f, f + delta), delta @ delta, rtol=1e-8)


def test_fid_of_two_gaussians_differing_by_a_mean_shift():
    rng = np.random.default_rng(4)
    d, n = 4, 20000
    a = rng.normal(size=(d, d))
    cov = a @ a.T + np.eye(d)
    delta = np.array([1.0, -1.0, 0.5, 1.5])
    f1 = _gaussian(rng, n, np.zeros(d), cov)
    f2 = _gaussian(rng, n, delta, cov)
    # Dominant sampling error: the cross term 2 delta.(m2 - m1), std = 2 sqrt(2 delta' S delta / n);
    # the covariance terms add a bias O(d^2 / n) << that. Allow 4 standard errors.
    tol = 4 * 2.0 * np.sqrt(2.0 * delta @ cov @ delta / n)
    np.testing.assert_allclose(metrics.fid_from_features(f1, f2), delta @ delta, atol=tol)


@pytest.mark.parametrize("eps", [1e-6, 1e-2])
def test_fid_with_fewer_samples_than_dimensions_matches_regularised_reference(eps):
    rng = np.random.default_rng(5)
    d, n = 50, 20  # covariances of rank 19: their product is singular
    f1 = rng.normal(size=(n, d))
    f2 = rng.normal(size=(n, d)) * 1.5 + 0.3
    with pytest.warns(RuntimeWarning, match="singular"):
        got = metrics.fid_from_features(f1, f2, eps=eps)
    # rtol 1e-7 is tight enough to tell the regularised value from the unregularised one,
    # which differs by 3e-6 (relative) at eps=1e-6 and by 2.5% at eps=1e-2.
    np.testing.assert_allclose(got, _fid_reference(f1, f2, eps=eps), rtol=1e-7)


def test_fid_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="feature dimension"):
        metrics.fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))


# ---------------------------------------------------------------------------------------------
# KID


def _mmd2_unbiased_reference(x, y):
    d = x.shape[1]
    kernel = lambda a, b: np.power(np.einsum("ik,jk->ij", a, b) / d + 1.0, 3)  # noqa: E731
    off = ~np.eye(x.shape[0], dtype=bool)
    return kernel(x, x)[off].mean() + kernel(y, y)[off].mean() - 2.0 * kernel(x, y).mean()


def test_kid_full_set_matches_unbiased_estimator():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(200, 10))
    y = rng.normal(size=(200, 10)) * 1.3 + 0.4
    expected = _mmd2_unbiased_reference(x, y)
    for subset_size in (200, 10_000):  # one subset = everything (10_000 is capped at 200)
        mean, std = metrics.kernel_inception_distance(x, y, num_subsets=1, subset_size=subset_size)
        np.testing.assert_allclose(mean, expected, rtol=1e-10)
        np.testing.assert_allclose(std, 0.0, atol=0.0)


def test_kid_of_two_samples_of_one_distribution_is_near_zero():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    mean, _ = metrics.kernel_inception_distance(x, y, num_subsets=20, subset_size=500)
    kernel_scale = np.mean((x @ y.T / 16 + 1.0) ** 3)  # typical k(x, y), about 1.2 here
    np.testing.assert_allclose(mean, 0.0, atol=1e-2 * kernel_scale)


def test_kid_is_reproducible_for_a_seed():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(250, 5)) + 0.2
    first = metrics.kernel_inception_distance(x, y, num_subsets=5, subset_size=100, seed=3)
    second = metrics.kernel_inception_distance(x, y, num_subsets=5, subset_size=100, seed=3)
    np.testing.assert_allclose(first, second, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# Inception Score


def test_inception_score_matches_reference_on_random_softmaxes():
    rng = np.random.default_rng(9)
    num_classes, n, splits = 10, 1000, 10
    probs = rng.dirichlet(0.3 * np.ones(num_classes), size=n)
    parts = probs.reshape(splits, n // splits, num_classes)
    marginals = parts.mean(axis=1, keepdims=True)
    scores = np.exp(scipy.special.rel_entr(parts, marginals).sum(axis=2).mean(axis=1))
    mean, std = metrics.inception_score(probs, num_splits=splits)
    np.testing.assert_allclose([mean, std], [scores.mean(), scores.std()], rtol=1e-10)
    assert 1.0 <= mean <= num_classes


def test_inception_score_of_uniform_one_hot_predictions_is_num_classes():
    num_classes = 5
    labels = np.tile(np.arange(num_classes), 40)  # every split of 20 holds each class 4 times
    probs = np.eye(num_classes)[labels]
    got = metrics.inception_score(probs, num_splits=10)
    np.testing.assert_allclose(got, (num_classes, 0.0), atol=1e-6)


def test_inception_score_of_identical_predictions_is_one():
    probs = np.tile([0.7, 0.2, 0.1], (100, 1))
    np.testing.assert_allclose(metrics.inception_score(probs, num_splits=4), (1.0, 0.0), atol=1e-12)


def test_inception_score_rejects_logits():
    with pytest.raises(ValueError, match="logits"):
        metrics.inception_score(np.random.default_rng(0).normal(size=(20, 3)), num_splits=2)


# ---------------------------------------------------------------------------------------------
# Precision / recall / density / coverage


def _prdc_brute_force(real, fake, k):
    def radii(x):
        out = []
        for i in range(len(x)):
            others = [np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if j != i]
            out.append(np.sort(others)[k - 1])
        return np.array(out)

    r_real, r_fake = radii(real), radii(fake)
    precision = recall = density = coverage = 0.0
    for y in fake:
        hits = sum(np.linalg.norm(y - x) <= r for x, r in zip(real, r_real))
        precision += hits > 0
        density += hits
    for x, r in zip(real, r_real):
        coverage += any(np.linalg.norm(y - x) <= r for y in fake)
    for x in real:
        recall += any(np.linalg.norm(x - y) <= r for y, r in zip(fake, r_fake))
    return {
        "precision": precision / len(fake),
        "recall": recall / len(real),
        "density": density / (k * len(fake)),
        "coverage": coverage / len(real),
    }


def _assert_dicts_close(got, expected, **tol):
    assert set(got) == set(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], err_msg=key, **tol)


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("block_elements", [1 << 22, 50])  # one block / blocks of one row
def test_prdc_matches_brute_force(monkeypatch, k, block_elements):
    monkeypatch.setattr(prdc_module, "_BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(10)
    real = rng.normal(size=(50, 5))
    fake = rng.normal(size=(40, 5)) * 1.5 + 0.7  # partly overlapping: values strictly in (0, 1)
    _assert_dicts_close(metrics.prdc(real, fake, k=k), _prdc_brute_force(real, fake, k), rtol=1e-12)


def test_prdc_of_identical_sets():
    # Integer-valued features keep every distance exact, so points on a ball's boundary
    # (each centre's k-th neighbour) are inside it, as in exact arithmetic.
    rng = np.random.default_rng(11)
    real = rng.integers(-1000, 1000, size=(60, 6)).astype(np.float64)
    k = 3
    expected = {"precision": 1.0, "recall": 1.0, "coverage": 1.0, "density": (k + 1) / k}
    got = metrics.prdc(real, real.copy(), k=k)
    _assert_dicts_close(got, expected, rtol=1e-12)
    _assert_dicts_close(got, _prdc_brute_force(real, real, k), rtol=1e-12)


def test_prdc_of_far_apart_sets_is_zero():
    rng = np.random.default_rng(12)
    real = rng.normal(size=(50, 8))
    fake = rng.normal(size=(40, 8)) + 1000.0
    expected = {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    _assert_dicts_close(metrics.prdc(real, fake, k=3), expected, atol=0)


def test_prdc_rejects_k_too_large():
    with pytest.raises(ValueError, match="k"):
        metrics.prdc(np.zeros((4, 2)), np.zeros((10, 2)), k=4)


# ---------------------------------------------------------------------------------------------
# Mode metrics (2-D mixtures)

RING_STD = 0.01
_ANGLES = 2 * np.pi * np.arange(8) / 8
RING_MEANS = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], axis=1)


def _around(mode_ids, noise=0.1 * RING_STD, seed=0):
    rng = np.random.default_rng(seed)
    mode_ids = np.asarray(mode_ids)
    return RING_MEANS[mode_ids] + noise * rng.normal(size=(len(mode_ids), 2))


def test_modes_all_samples_on_one_mode():
    got = metrics.mode_metrics(_around(np.zeros(2500, int)), RING_MEANS, RING_STD)
    expected = {"modes_covered": 1, "high_quality_fraction": 1.0, "reverse_kl": np.log(8)}
    _assert_dicts_close(got, expected, rtol=1e-12)


def test_modes_uniform_over_the_ring():
    got = metrics.mode_metrics(_around(np.repeat(np.arange(8), 300)), RING_MEANS, RING_STD)
    expected = {"modes_covered": 8, "high_quality_fraction": 1.0, "reverse_kl": 0.0}
    _assert_dicts_close(got, expected, atol=1e-12)


def test_modes_half_on_two_modes_gives_log_four():
    # q = (1/2, 1/2, 0, ..., 0), p = 1/8: KL = 2 * 1/2 * log((1/2) / (1/8)) = log 4.
    got = metrics.mode_metrics(_around(np.repeat([0, 1], 1250)), RING_MEANS, RING_STD)
    expected = {"modes_covered": 2, "high_quality_fraction": 1.0, "reverse_kl": np.log(4)}
    _assert_dicts_close(got, expected, rtol=1e-12)


def test_modes_samples_far_from_every_mode():
    samples = 10.0 * _around(np.arange(2500) % 8)  # radius 10: ~9 units (900 std) from any mean
    got = metrics.mode_metrics(samples, RING_MEANS, RING_STD)
    assert got["modes_covered"] == 0
    np.testing.assert_allclose(got["high_quality_fraction"], 0.0, atol=0)
    assert np.isnan(got["reverse_kl"])  # no high-quality sample: histogram undefined


def test_modes_three_std_boundary_and_nearest_assignment():
    # Radial offsets of 2.9 and 3.1 std from mode 0 and 2.9 std from mode 1 (pointing away
    # from mode 0): high quality = 2 of 3, both registered to their own mode.
    samples = np.stack([
        RING_MEANS[0] * (1 + 2.9 * RING_STD),
        RING_MEANS[0] * (1 + 3.1 * RING_STD),
        RING_MEANS[1] * (1 + 2.9 * RING_STD),
    ])
    got = metrics.mode_metrics(samples, RING_MEANS, RING_STD)
    expected = {"modes_covered": 2, "high_quality_fraction": 2 / 3, "reverse_kl": np.log(4)}
    _assert_dicts_close(got, expected, rtol=1e-12)


def test_modes_min_count_threshold_on_grid():
    axis = np.arange(-4, 5, 2.0)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(25, 2)
    std = 0.05
    per_mode = np.arange(25)  # mode i gets i samples: 300 in all, mode 0 empty
    samples = grid[np.repeat(np.arange(25), per_mode)] + 0.1 * std
    q = per_mode / 300.0
    nz = q > 0
    expected_kl = np.sum(q[nz] * np.log(q[nz] * 25))
    vee = metrics.mode_metrics(samples, grid, std)  # the papers: one high-quality sample suffices
    pac = metrics.mode_metrics(samples, grid, std, min_count=20)  # a stricter own rule: 20..24
    expected = {"high_quality_fraction": 1.0, "reverse_kl": expected_kl}
    _assert_dicts_close(vee, {"modes_covered": 24, **expected}, rtol=1e-12)
    _assert_dicts_close(pac, {"modes_covered": 5, **expected}, rtol=1e-12)


GRID_AXIS = np.arange(-4, 5, 2.0)
GRID_MEANS = np.stack(np.meshgrid(GRID_AXIS, GRID_AXIS), axis=-1).reshape(25, 2)
GRID_STD = 0.05


def test_capture_rules_per_mixture():
    from tfgan_suite.data import MIXTURES
    from tfgan_suite.metrics import evaluation, modes

    assert modes.CAPTURE_MIN_COUNT == {"ring8": 1, "grid25": 20}
    assert set(modes.CAPTURE_MIN_COUNT) == set(MIXTURES)
    assert evaluation.MODE_MIN_COUNT == modes.CAPTURE_MIN_COUNT
    assert modes.NUM_SAMPLES == evaluation.DEFAULT_POINT_SAMPLES == 2500
    assert modes.HIGH_QUALITY_STDS == 3.0


def test_modes_a_single_high_quality_sample_captures_a_grid_mode():
    # 2,499 samples on mode 0 and one on mode 24, 2.9 std off: both captured (the papers'
    # rule); with an own threshold of 2 samples only mode 0 is.
    samples = np.concatenate([np.repeat(GRID_MEANS[:1], 2499, axis=0),
                              GRID_MEANS[24:] + [2.9 * GRID_STD, 0.0]])
    got = metrics.mode_metrics(samples, GRID_MEANS, GRID_STD)
    q = np.array([2499, 1]) / 2500
    expected_kl = float(np.sum(q * np.log(q * 25)))
    _assert_dicts_close(got, {"modes_covered": 2, "high_quality_fraction": 1.0,
                              "reverse_kl": expected_kl}, rtol=1e-12)
    assert metrics.mode_metrics(samples, GRID_MEANS, GRID_STD, min_count=2)["modes_covered"] == 1


def test_modes_exact_threshold_count_is_covered():
    # Modes 0..4 hold 5, 4, 3, 2, 1 samples: with min_count=3 exactly modes 0, 1, 2 count.
    per_mode = np.array([5, 4, 3, 2, 1])
    samples = GRID_MEANS[np.repeat(np.arange(5), per_mode)]
    assert metrics.mode_metrics(samples, GRID_MEANS, GRID_STD, min_count=3)["modes_covered"] == 3
    assert metrics.mode_metrics(samples, GRID_MEANS, GRID_STD, min_count=5)["modes_covered"] == 1
    assert metrics.mode_metrics(samples, GRID_MEANS, GRID_STD, min_count=6)["modes_covered"] == 0


def test_modes_exactly_three_std_is_not_high_quality():
    # std 0.25 and offsets 0.75 = 3 std are exact in binary: the strict rule excludes them.
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[0.75, 0.0], [0.0, -0.75], [9.25, 0.0],   # exactly 3 std
                        [0.7499, 0.0], [10.0, 0.7499]])           # just inside
    counts, high_quality = metrics.mode_histogram(samples, means, 0.25)
    np.testing.assert_array_equal(high_quality, [False, False, False, True, True])
    np.testing.assert_array_equal(counts, [1, 1])


def test_modes_beyond_three_std_still_count_in_the_fraction_denominator():
    # 100 samples on mode 3 of the grid, 100 at 3.5 std from it, 50 halfway between modes:
    # HQ = 100 / 250, one mode covered, all the HQ mass on one mode -> KL = log 25.
    offsets = np.array([3.5 * GRID_STD, 0.0])
    samples = np.concatenate([np.repeat(GRID_MEANS[3:4], 100, axis=0),
                              np.repeat(GRID_MEANS[3:4] + offsets, 100, axis=0),
                              np.repeat([[1.0, 1.0]], 50, axis=0)])
    got = metrics.mode_metrics(samples, GRID_MEANS, GRID_STD)
    _assert_dicts_close(got, {"modes_covered": 1, "high_quality_fraction": 0.4,
                              "reverse_kl": np.log(25)}, rtol=1e-12)
    counts, _ = metrics.mode_histogram(samples, GRID_MEANS, GRID_STD)
    assert counts[3] == 100 and counts.sum() == 100


def test_modes_sample_is_registered_to_its_nearest_mean_only():
    # Two means 0.1 apart with std 0.05: a point at 0.04 from mean 0 is 0.06 from mean 1,
    # within 3 std of both; it belongs to mean 0 only.
    counts, high_quality = metrics.mode_histogram([[0.04, 0.0]], [[0.0, 0.0], [0.1, 0.0]], 0.05)
    np.testing.assert_array_equal(counts, [1, 0])
    assert high_quality.tolist() == [True]


def test_modes_rejects_a_fractional_min_count():
    with pytest.raises(ValueError, match="min_count=1.5"):
        metrics.mode_metrics(GRID_MEANS, GRID_MEANS, GRID_STD, min_count=1.5)


# ------------------------------------------------------------------------------------------
# Label accuracy of conditional generators.


def test_label_accuracy_matches_a_loop_over_samples():
    rng = np.random.default_rng(3)
    probs = rng.random((200, 5))
    labels = rng.integers(0, 5, size=200)
    accuracy, per_class = label_accuracy(probs, labels, 5)
    hits = [0] * 5
    counts = [0] * 5
    for p, y in zip(probs, labels):
        counts[y] += 1
        hits[y] += int(max(range(5), key=lambda c: p[c]) == y)
    assert accuracy == pytest.approx(sum(hits) / 200)
    np.testing.assert_allclose(per_class, [h / c for h, c in zip(hits, counts)])


def test_label_accuracy_is_one_when_obeyed_zero_when_not_and_nan_for_unused_classes():
    labels = np.array([0, 1, 1, 2])
    accuracy, per_class = label_accuracy(np.eye(4)[labels], labels, 4)
    assert accuracy == 1.0 and per_class[:3] == [1.0, 1.0, 1.0] and np.isnan(per_class[3])
    accuracy, per_class = label_accuracy(np.eye(4)[(labels + 1) % 4], labels, 4)
    assert accuracy == 0.0 and per_class[:3] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("probs, labels, match", [
    (np.ones((3, 4)), np.array([0, 1, 4]), r"in \[0, 4\)"),
    (np.ones((3, 4)), np.array([0, 1]), r"\[3\]"),
    (np.ones((3, 5)), np.array([0, 1, 2]), r"\[n, 4\]"),
    (np.ones((0, 4)), np.zeros(0, int), "at least one"),
])
def test_label_accuracy_rejects_mismatched_input(probs, labels, match):
    with pytest.raises(ValueError, match=match):
        label_accuracy(probs, labels, 4)
