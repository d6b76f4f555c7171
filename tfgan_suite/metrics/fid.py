"""Fréchet distance between Gaussian fits of two feature sets (FID).

Why: FID compares the first two moments of real and generated features; it is the most
widely reported GAN image metric, so the number has to agree with the reference (TTUR)
implementation to be comparable with published values.

Numerics: everything is float64. The only hard term is tr((S1 S2)^{1/2}). S1 S2 is not
symmetric, so instead of a general matrix square root (scipy.linalg.sqrtm, which can return
complex or non-finite values) we use the symmetric matrix M = S1^{1/2} S2 S1^{1/2}. M is
positive semi-definite and has the same eigenvalues as S1 S2 (AB and BA share their
spectrum, with A = S1^{1/2}, B = S1^{1/2} S2), so tr((S1 S2)^{1/2}) = sum_i sqrt(lambda_i(M)).
Two `np.linalg.eigh` calls of a d x d symmetric matrix, eigenvalues clipped at 0 against
rounding, are enough; this is fast (seconds at d = 2048) and cannot produce complex numbers.
"""

import warnings

import numpy as np


def _as_float64(x, name, ndim):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise ValueError(
            f"`{name}` must have {ndim} dimension(s). Received: {name}.shape={x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` contains NaN or Inf values.")
    return x


def _sym_sqrt(sigma, shift=0.0):
    """Symmetric PSD square root of `sigma + shift * I`, eigenvalues clipped at 0."""
    w, v = np.linalg.eigh(sigma)
    w = np.sqrt(np.maximum(w + shift, 0.0))
    return (v * w) @ v.T


def _sqrt_product_eigenvalues(sigma1, sigma2, shift=0.0):
    """Eigenvalues of (S1 + shift I)^{1/2} (S2 + shift I) (S1 + shift I)^{1/2}."""
    root1 = _sym_sqrt(sigma1, shift)
    s2 = sigma2 + shift * np.eye(sigma2.shape[0]) if shift else sigma2
    m = root1 @ s2 @ root1
    return np.linalg.eigvalsh((m + m.T) / 2.0)


def trace_sqrt_product(sigma1, sigma2, eps=1e-6):
    """tr((sigma1 sigma2)^{1/2}) for two covariance matrices, with TTUR's eps fallback.

    Why the fallback: TTUR computes sqrtm(S1 S2) and, if the result is not finite (which
    happens when the product is singular, e.g. with fewer samples than feature
    dimensions), adds eps * I to both covariances and retries. The eigh route never
    produces non-finite values, so the equivalent trigger here is a singular product,
    detected like `np.linalg.matrix_rank`: some eigenvalue of M = S1^{1/2} S2 S1^{1/2}
    is <= d * machine-eps * its largest eigenvalue. In that case the value returned is
    tr(((S1 + eps I)(S2 + eps I))^{1/2}), exactly what TTUR computes after its retry.

    Args:
        sigma1: (d, d) symmetric positive semi-definite matrix.
        sigma2: (d, d) symmetric positive semi-definite matrix.
        eps: diagonal offset added to both matrices when their product is singular.

    Returns:
        Python float.

    Reference: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017 (TTUR), appendix / reference code.
    """
    sigma1 = (sigma1 + sigma1.T) / 2.0
    sigma2 = (sigma2 + sigma2.T) / 2.0
    lam = _sqrt_product_eigenvalues(sigma1, sigma2)
    d = sigma1.shape[0]
    tol = d * np.finfo(np.float64).eps * max(float(np.max(np.abs(lam))), np.finfo(np.float64).tiny)
    if np.min(lam) <= tol:
        warnings.warn(
            f"FID: product of covariances is singular; adding {eps} to their diagonals "
            "(fewer samples than feature dimensions?).",
            RuntimeWarning,
            stacklevel=3,
        )
        lam = _sqrt_product_eigenvalues(sigma1, sigma2, shift=eps)
    return float(np.sum(np.sqrt(np.maximum(lam, 0.0))))


def feature_statistics(f):
    """Mean and unbiased covariance of a feature matrix, in float64.

    Why: FID only needs these two moments; computing them once lets a fixed real-data
    reference be cached and compared with many generated sets.

    Args:
        f: (n, d) array of features, n >= 2.

    Returns:
        `(mu, sigma)`: (d,) mean and (d, d) covariance (divided by n - 1, like `np.cov`).

    Reference: Heusel et al. 2017 (TTUR), eq. 6.
    """
    f = _as_float64(f, "f", 2)
    n = f.shape[0]
    if n < 2:
        raise ValueError(f"`f` needs at least 2 samples. Received: f.shape={f.shape}")
    mu = f.mean(axis=0)
    centred = f - mu
    sigma = centred.T @ centred / (n - 1)
    return mu, sigma


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^{1/2}).

    Why: closed form of the Wasserstein-2 distance between two Gaussians; applied to
    Gaussian fits of network features it is the FID. As in TTUR, the traces use the
    covariances as given and only the square-root term is regularised (see
    `trace_sqrt_product`). The result is not clipped at 0: identical inputs give 0 up
    to float64 rounding, which may be a tiny negative number.

    Args:
        mu1: (d,) mean of the first Gaussian.
        sigma1: (d, d) covariance of the first Gaussian.
        mu2: (d,) mean of the second Gaussian.
        sigma2: (d, d) covariance of the second Gaussian.
        eps: diagonal offset used when sigma1 @ sigma2 is singular.

    Returns:
        Python float, the squared Fréchet distance (the number reported as FID).

    Reference: Dowson & Landau, "The Fréchet distance between multivariate normal
    distributions", J. Multivariate Anal. 1982; Heusel et al. 2017 (TTUR), eq. 6.
    """
    mu1 = _as_float64(mu1, "mu1", 1)
    mu2 = _as_float64(mu2, "mu2", 1)
    sigma1 = _as_float64(sigma1, "sigma1", 2)
    sigma2 = _as_float64(sigma2, "sigma2", 2)
    d = mu1.shape[0]
    expected = {"mu2": (mu2, (d,)), "sigma1": (sigma1, (d, d)), "sigma2": (sigma2, (d, d))}
    for name, (value, shape) in expected.items():
        if value.shape != shape:
            raise ValueError(
                f"`{name}` must have shape {shape} to match mu1. "
                f"Received: {name}.shape={value.shape}"
            )
    if eps < 0:
        raise ValueError(f"`eps` must be >= 0. Received: eps={eps}")
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product(sigma1, sigma2, eps)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def fid_from_features(f1, f2, eps=1e-6):
    """FID between two feature sets: Fréchet distance of their Gaussian fits.

    Why: the usual entry point once a feature network has embedded real and generated
    images; it is symmetric in its arguments.

    Args:
        f1: (n1, d) features of one set (e.g. real images), n1 >= 2.
        f2: (n2, d) features of the other set (e.g. generated images), n2 >= 2.
        eps: diagonal offset used when the covariance product is singular (see
            `trace_sqrt_product`).

    Returns:
        Python float.

    Reference: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017.
    """
    mu1, sigma1 = feature_statistics(f1)
    mu2, sigma2 = feature_statistics(f2)
    if mu1.shape != mu2.shape:
        raise ValueError(
            "`f1` and `f2` must have the same feature dimension. "
            f"Received: d1={mu1.shape[0]}, d2={mu2.shape[0]}"
        )
    return frechet_distance(mu1, sigma1, mu2, sigma2, eps)
