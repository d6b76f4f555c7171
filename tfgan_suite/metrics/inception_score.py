"""Inception Score from class probabilities of a classifier.

Why: IS rewards samples that the classifier labels confidently (low entropy of p(y|x))
while the labels over the whole set are diverse (high entropy of p(y)); it needs no real
data, which makes it a cheap complement to FID/KID.
"""

import numpy as np

_LOG_EPS = 1e-12  # floor inside the logs, so that p = 0 terms contribute 0 instead of NaN


def inception_score(probs, num_splits=10):
    """IS = exp(E_x KL(p(y|x) || p(y))), mean and std over `num_splits` splits.

    Why splits: the original protocol computes the score on disjoint splits (10 by
    default), with p(y) the mean prediction of each split, and reports mean and std over
    splits. Splits are consecutive blocks of rows with boundaries at i * n // num_splits
    (sizes differ by at most one). Probabilities are floored at 1e-12 inside the logs
    only, so 0 * log 0 counts as 0. The score lies in [1, C] for C classes.

    Args:
        probs: (n, C) array of class probabilities (rows sum to 1, e.g. softmax output;
            rows summing to something else, such as logits, are rejected).
        num_splits: number of splits, 1 <= num_splits <= n.

    Returns:
        `(mean, std)` as Python floats; std is the population std (ddof=0) over splits.

    Reference: Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016,
    section 4.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"`probs` must be a 2-D (n, C) array. Received: probs.shape={p.shape}")
    n = p.shape[0]
    if not 1 <= num_splits <= n:
        raise ValueError(f"`num_splits` must be in [1, n={n}]. Received: num_splits={num_splits}")
    valid = np.all(np.isfinite(p)) and np.all(p >= 0)
    if not valid or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "`probs` must hold non-negative, finite rows that sum to 1 (probabilities, not logits)."
        )
    log_p = np.log(np.maximum(p, _LOG_EPS))
    scores = np.empty(num_splits, dtype=np.float64)
    bounds = [i * n // num_splits for i in range(num_splits + 1)]
    for s in range(num_splits):
        part, log_part = p[bounds[s] : bounds[s + 1]], log_p[bounds[s] : bounds[s + 1]]
        log_marginal = np.log(np.maximum(part.mean(axis=0), _LOG_EPS))
        kl = np.sum(part * (log_part - log_marginal), axis=1)
        scores[s] = np.exp(kl.mean())
    return float(scores.mean()), float(scores.std())
