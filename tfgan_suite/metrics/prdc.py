"""Precision, recall, density and coverage from k-nearest-neighbour balls in feature space.

Why: FID mixes fidelity and diversity into one number. Precision (are generated samples
inside the real manifold?) and recall (is the real manifold covered by generated samples?)
separate them; density and coverage are the outlier-robust versions of the same two
questions.

Definitions (real x_1..x_N, fake y_1..y_M, r(x) = distance from x to its k-th nearest
neighbour within its own set, the point itself excluded; balls are closed, d <= r):
    precision = (1/M) sum_j 1[exists i: ||y_j - x_i|| <= r(x_i)]
    recall    = (1/N) sum_i 1[exists j: ||x_i - y_j|| <= r(y_j)]
    density   = (1/(kM)) sum_j sum_i 1[||y_j - x_i|| <= r(x_i)]
    coverage  = (1/N) sum_i 1[exists j: ||y_j - x_i|| <= r(x_i)]

Memory: distances are computed block by block (a block of rows against the whole other
set, about 4M float64 entries at a time), so 10,000 x 10,000 sets never hold an N x M
matrix.
"""

import numpy as np

from tfgan_suite.metrics.checks import as_features

_BLOCK_ELEMENTS = 1 << 22


def _row_blocks(n_rows, n_cols):
    step = max(1, _BLOCK_ELEMENTS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)


def _squared_distances(a, b, sq_norm_a, sq_norm_b):
    """(len(a), len(b)) squared Euclidean distances via |a|^2 + |b|^2 - 2 a.b, clipped at 0."""
    d2 = sq_norm_a[:, None] + sq_norm_b[None, :]
    ab = a @ b.T
    ab *= 2.0
    d2 -= ab
    np.maximum(d2, 0.0, out=d2)
    return d2


def _kth_neighbour_sq_radii(x, k):
    """Squared distance of every row of `x` to its k-th nearest other row."""
    n = x.shape[0]
    sq_norm = np.einsum("ij,ij->i", x, x)
    radii = np.empty(n, dtype=np.float64)
    for start, stop in _row_blocks(n, n):
        d2 = _squared_distances(x[start:stop], x, sq_norm[start:stop], sq_norm)
        rows = np.arange(stop - start)
        d2[rows, rows + start] = np.inf  # exclude the point itself
        radii[start:stop] = np.partition(d2, k - 1, axis=1)[:, k - 1]
    return radii


def prdc(real, fake, k=3):
    """Improved precision/recall (Kynkäänniemi) and density/coverage (Naeem) of two sets.

    Why both pairs: precision/recall estimate each manifold as a union of k-NN balls
    around its samples, so a few outliers in the fake set can inflate recall and
    precision. Density counts how many real balls contain each fake sample (expected 1
    when the distributions match: identical sets give (k+1)/k, since each ball holds its
    centre and its k neighbours) and coverage only uses the real balls, which makes
    both robust to fake outliers.

    Args:
        real: (N, d) features of real samples, N > k.
        fake: (M, d) features of generated samples, M > k.
        k: neighbour rank defining the ball radii (k-th neighbour, the point excluded).

    Returns:
        Dict with Python floats `precision`, `recall`, `coverage` in [0, 1] and
        `density` in [0, N/k].

    Reference: Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
    Generative Models", NeurIPS 2019; Naeem et al., "Reliable Fidelity and Diversity
    Metrics for Generative Models", ICML 2020.
    """
    real = as_features(real, "real")
    fake = as_features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"`real` and `fake` must have the same feature dimension. "
            f"Received: real.shape={real.shape}, fake.shape={fake.shape}"
        )
    n, m = real.shape[0], fake.shape[0]
    if k < 1 or k >= min(n, m):
        raise ValueError(
            f"`k` must be in [1, min(N, M) - 1] = [1, {min(n, m) - 1}]. Received: k={k}"
        )
    # Distances are translation invariant; centring reduces cancellation in |a|^2 + |b|^2 - 2ab.
    centre = real.mean(axis=0)
    real = real - centre
    fake = fake - centre

    real_r2 = _kth_neighbour_sq_radii(real, k)
    fake_r2 = _kth_neighbour_sq_radii(fake, k)
    real_sq = np.einsum("ij,ij->i", real, real)
    fake_sq = np.einsum("ij,ij->i", fake, fake)

    fake_in_real_balls = np.empty(m, dtype=np.int64)  # per fake: number of real balls holding it
    real_ball_hit = np.zeros(n, dtype=bool)  # per real: its ball holds some fake (coverage)
    real_in_fake_ball = np.zeros(n, dtype=bool)  # per real: inside some fake ball (recall)
    for start, stop in _row_blocks(m, n):
        d2 = _squared_distances(fake[start:stop], real, fake_sq[start:stop], real_sq)
        inside_real = d2 <= real_r2[None, :]
        fake_in_real_balls[start:stop] = inside_real.sum(axis=1)
        real_ball_hit |= inside_real.any(axis=0)
        real_in_fake_ball |= (d2 <= fake_r2[start:stop, None]).any(axis=0)

    return {
        "precision": float(np.mean(fake_in_real_balls > 0)),
        "recall": float(np.mean(real_in_fake_ball)),
        "density": float(fake_in_real_balls.sum() / (k * m)),
        "coverage": float(np.mean(real_ball_hit)),
    }
