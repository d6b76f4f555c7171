"""Mode-collapse metrics for 2-D Gaussian-mixture benchmarks (ring8, grid25).

Why: on mixtures with known means the failure a GAN is prone to, dropping modes, can be
counted directly instead of inferred from a feature-space distance.
"""

import numpy as np


def mode_metrics(samples, means, std, min_count=1, num_std=3.0):
    """Modes covered, fraction of high-quality samples and reverse KL of the mode histogram.

    Protocol (VEEGAN, reused by PacGAN): each sample is registered to its nearest mixture
    mean; it is *high quality* if that distance is < `num_std` * `std` (3 std). Only
    high-quality samples are counted per mode.

    Conventions chosen here:
      * A mode is covered if it holds >= `min_count` high-quality samples. VEEGAN counts a
        mode as captured with a single high-quality sample (`min_count=1`, the default);
        PacGAN's grid benchmark declares a mode lost when it holds fewer than 20 of 2,500
        samples, i.e. 1/5 of the 100 expected per mode (`min_count=20` for grid25).
      * reverse_kl = KL(q || p) = sum_k q_k log(q_k / p_k), with q the histogram of
        high-quality samples over modes (normalised to sum to 1) and p uniform (1/K).
        Empty modes (q_k = 0) contribute 0 (0 log 0 = 0), so the value lies in
        [0, log K]: 0 when q is uniform, log K when all mass is on one mode. p is never
        0, so the value is always finite. When no sample is high quality q is undefined
        and reverse_kl is NaN.

    Args:
        samples: (n, D) generated points (D = 2 for the benchmarks).
        means: (K, D) mixture means.
        std: standard deviation of each mixture component (scalar, > 0).
        min_count: high-quality samples a mode needs to count as covered, >= 1.
        num_std: high-quality radius in units of `std`.

    Returns:
        Dict with `modes_covered` (Python int in [0, K]), `high_quality_fraction` and
        `reverse_kl` (Python floats).

    Reference: Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit
    Variational Learning", NeurIPS 2017, section 5.1; Lin et al., "PacGAN: The power of
    two samples in generative adversarial networks", NeurIPS 2018, section 5.
    """
    samples = np.asarray(samples, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if samples.ndim != 2 or means.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(
            f"`samples` and `means` must be (n, D) and (K, D) arrays. "
            f"Received: samples.shape={samples.shape}, means.shape={means.shape}"
        )
    if samples.shape[0] == 0 or means.shape[0] == 0:
        raise ValueError(
            "Need at least one sample and one mean. "
            f"Received: samples.shape={samples.shape}, means.shape={means.shape}"
        )
    if not std > 0:
        raise ValueError(f"`std` must be > 0. Received: std={std}")
    if min_count < 1:
        raise ValueError(f"`min_count` must be >= 1. Received: min_count={min_count}")
    num_modes = means.shape[0]

    dist = np.linalg.norm(samples[:, None, :] - means[None, :, :], axis=-1)  # (n, K)
    nearest = np.argmin(dist, axis=1)
    high_quality = dist[np.arange(samples.shape[0]), nearest] < num_std * std
    counts = np.bincount(nearest[high_quality], minlength=num_modes)

    total = counts.sum()
    if total == 0:
        reverse_kl = float("nan")
    else:
        q = counts / total
        nz = q > 0
        reverse_kl = float(np.sum(q[nz] * np.log(q[nz] * num_modes)))
    return {
        "modes_covered": int(np.sum(counts >= min_count)),
        "high_quality_fraction": float(np.mean(high_quality)),
        "reverse_kl": reverse_kl,
    }
