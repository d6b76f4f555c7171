"""tfgan_suite.metrics.probe: the linear probe against toy cases with known answers and
against an independent solver (SciPy's L-BFGS-B on an objective written here)."""

import re

import numpy as np
import pytest

from tfgan_suite.metrics import probe


def blobs(n_per_class, centres, std, seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + std * rng.standard_normal((n_per_class, len(c))) for c in centres])
    y = np.repeat(np.arange(len(centres)), n_per_class)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order]


def reference_objective(params, x, y, k, l2):
    """J(W, b) in float64, written independently of probe.objective."""
    from scipy.special import logsumexp

    d = x.shape[1]
    w, b = params[:d * k].reshape(d, k), params[d * k:]
    logits = x.astype(np.float64) @ w + b
    return (np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])
            + 0.5 * l2 * np.sum(w ** 2))


def standardised(train, test):
    """Train-statistics standardisation, by hand."""
    mean, std = train.mean(0), train.std(0)
    return (train - mean) / std, (test - mean) / std


def correlated_problem(seed=0, n=600, d=12, k=4):
    """Features with a linear signal plus noise: neither separable nor pure noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    y = np.argmax(x @ rng.standard_normal((d, k)) + 2.0 * rng.standard_normal((n, k)), 1)
    return x.astype(np.float32), y


def test_far_apart_gaussian_blobs_are_classified_perfectly():
    centres = 20.0 * np.eye(5)[:3]
    train_x, train_y = blobs(100, centres, 1.0, seed=0)
    test_x, test_y = blobs(200, centres, 1.0, seed=1)
    result = probe.probe_accuracy(train_x, train_y, test_x, test_y)
    assert result["accuracy"] == 1.0 and result["train_accuracy"] == 1.0
    assert result["per_class_accuracy"] == [1.0, 1.0, 1.0]
    assert result["num_train"] == 300 and result["num_test"] == 600
    assert result["feature_dim"] == 5 and result["num_classes"] == 3


def test_pure_noise_features_with_random_labels_score_chance():
    rng = np.random.default_rng(0)
    train_x, test_x = rng.standard_normal((1000, 20)), rng.standard_normal((4000, 20))
    train_y, test_y = rng.integers(0, 10, 1000), rng.integers(0, 10, 4000)
    result = probe.probe_accuracy(train_x, train_y, test_x, test_y, num_classes=10)
    # Chance is 0.1; the standard error of 4,000 test draws is 0.0047: 5 of them either way.
    assert abs(result["accuracy"] - 0.1) < 0.024
    assert result["train_accuracy"] > result["accuracy"]  # it does fit the training noise


def test_fit_matches_scipy_lbfgsb_on_an_independently_written_objective():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x, y = correlated_problem()
    xs, _ = standardised(x.astype(np.float64), x.astype(np.float64))
    k, l2 = 4, 1e-2
    ours = probe.fit(probe.standardize(x)[0], y, k, l2, gtol_relative=0.0)
    assert ours["converged"]
    reference = scipy_optimize.minimize(reference_objective, np.zeros(xs.shape[1] * k + k),
                                        args=(xs, y, k, l2), method="L-BFGS-B",
                                        options=dict(maxiter=5000, ftol=1e-14, gtol=1e-9))
    np.testing.assert_allclose(ours["params"], reference.x, atol=2e-4)
    assert reference_objective(ours["params"], xs, y, k, l2) == pytest.approx(reference.fun,
                                                                              abs=1e-8)


def test_gradient_at_the_fit_is_zero_by_finite_differences():
    x, y = correlated_problem(seed=3)
    xs = probe.standardize(x)[0].astype(np.float64)
    k, l2 = 4, 1e-3
    params = probe.fit(xs.astype(np.float32), y, k, l2, gtol_relative=0.0)["params"]
    rng = np.random.default_rng(0)
    eps = 1e-5

    def j(p):  # J in float64, by hand (no SciPy needed)
        d = xs.shape[1]
        w, b = p[:d * k].reshape(d, k), p[d * k:]
        logits = xs @ w + b
        top = logits.max(1, keepdims=True)
        log_z = np.log(np.exp(logits - top).sum(1)) + top[:, 0]
        return np.mean(log_z - logits[np.arange(len(y)), y]) + 0.5 * l2 * np.sum(w ** 2)

    for i in rng.choice(len(params), 12, replace=False):
        e = np.zeros_like(params)
        e[i] = eps
        assert abs((j(params + e) - j(params - e)) / (2 * eps)) < 5e-5
    # ... and far from the optimum the same check sees a gradient.
    e = np.zeros_like(params)
    e[0] = eps
    moved = params.copy()
    moved[0] += 1.0
    assert abs((j(moved + e) - j(moved - e)) / (2 * eps)) > 1e-3


def test_features_are_standardised_with_the_training_statistics():
    x, y = correlated_problem(seed=1, n=900)
    train_x, train_y, test_x, test_y = x[:600], y[:600], x[600:], y[600:]
    base = probe.probe_accuracy(train_x, train_y, test_x, test_y, l2=1e-2)
    rng = np.random.default_rng(2)
    scale, shift = rng.uniform(0.1, 10, x.shape[1]), rng.normal(0, 50, x.shape[1])
    affine = probe.probe_accuracy(train_x * scale + shift, train_y, test_x * scale + shift,
                                  test_y, l2=1e-2)
    assert affine["accuracy"] == pytest.approx(base["accuracy"], abs=1 / 300)
    # Shifting the test rows alone is not undone (they are not standardised by their own
    # statistics): the classifier sees them far from where it was fitted.
    moved = probe.probe_accuracy(train_x, train_y, test_x + 5 * train_x.std(0), test_y, l2=1e-2)
    assert moved["accuracy"] < base["accuracy"] - 0.1


def test_the_penalty_is_picked_without_the_test_labels():
    x, y = correlated_problem(seed=2, n=900)
    first = probe.probe_accuracy(x[:600], y[:600], x[600:], y[600:])
    shuffled = probe.probe_accuracy(x[:600], y[:600], x[600:],
                                    np.random.default_rng(0).permutation(y[600:]))
    assert first["l2"] == shuffled["l2"] and first["l2"] in probe.L2_GRID
    assert first["validation_accuracy"] == shuffled["validation_accuracy"]
    assert first["train_accuracy"] == shuffled["train_accuracy"]
    assert first["accuracy"] != shuffled["accuracy"]
    # The same inputs give the same result (a deterministic fit).
    assert probe.probe_accuracy(x[:600], y[:600], x[600:], y[600:]) == first


@pytest.mark.parametrize("args, message", [
    ((np.zeros((5, 3)), np.zeros(4, int), np.zeros((2, 3)), np.zeros(2, int)), "labels [N]"),
    ((np.zeros((5, 3)), np.arange(5) % 2, np.zeros((2, 4)), np.zeros(2, int)), "differ in size"),
    ((np.full((5, 3), np.nan), np.arange(5) % 2, np.zeros((2, 3)), np.zeros(2, int)), "NaN"),
    ((np.zeros((5, 3)), np.zeros(5, int), np.zeros((2, 3)), np.zeros(2, int)), "2 classes"),
    ((np.zeros((5, 3)), np.arange(5) % 2, np.zeros((2, 3)), np.array([0, 7])), "in [0, 2)"),
    ((np.zeros((5, 3)), np.arange(5) * 0.5, np.zeros((2, 3)), np.zeros(2, int)), "integers"),
])
def test_bad_inputs_name_what_is_wrong(args, message):
    num_classes = 2 if message == "in [0, 2)" else None
    with pytest.raises(ValueError, match=re.escape(message)):
        probe.probe_accuracy(*args, num_classes=num_classes)
