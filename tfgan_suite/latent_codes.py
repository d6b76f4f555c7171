"""Latent-space arithmetic in NumPy: the z the `sample` signature draws, paths, combinations,
nearest neighbours.

Why: `tfgan_suite.latent` only decodes z through a model's `serving_default` signature;
everything it does to z first lives here, as small functions with closed forms, so the tests
can check them without a model.

    z = seed_z(64, seed=3, latent_dim=100)          # = the z of `sample --num 64 --seed 3`
    path = interpolate([z[0], z[5]], steps=8, method="slerp")   # [8, 100]
"""

from typing import Sequence, Tuple

import numpy as np

METHODS = ("lerp", "slerp")


def seed_z(num: int, seed: int, latent_dim: int) -> np.ndarray:
    """The z float32 [num, latent_dim] that the exported `sample(num, seed)` decodes.

    Same formula as `serving.py`: `stateless_normal([num, latent_dim], seed=[seed, 0],
    alg="philox")`, so row i here is sample i of `python -m tfgan_suite.sample --seed seed
    --num num`.
    """
    import tensorflow as tf

    return tf.random.stateless_normal([num, latent_dim], seed=tf.constant([seed, 0], tf.int64),
                                      dtype=tf.float32, alg="philox").numpy()


def lerp(z0, z1, t) -> np.ndarray:
    """(1 - t) z0 + t z1 for each t: [len(t), D]."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, np.float64).reshape(-1, 1)
    return (1.0 - t) * z0 + t * z1


def slerp(z0, z1, t) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White 2016 for GANs): [len(t), D].

    slerp(t) = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1, with w the angle between
    z0 and z1. It follows the great circle between the directions while the norm goes
    linearly from |z0| to |z1| (so two unit vectors stay on the unit sphere), which keeps
    every point at the typical radius of a Gaussian z where a straight line dips inside.
    For (anti-)parallel z0, z1 (sin w < 1e-7) the circle is not defined: lerp is used,
    which is the limit of the formula as w -> 0.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, np.float64).reshape(-1, 1)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 == 0.0 or n1 == 0.0:
        return lerp(z0, z1, t)
    cos_w = np.clip(np.dot(z0, z1) / (n0 * n1), -1.0, 1.0)
    w = np.arccos(cos_w)
    if np.sin(w) < 1e-7:
        return lerp(z0, z1, t)
    u0, u1 = z0 / n0, z1 / n1
    direction = (np.sin((1.0 - t) * w) * u0 + np.sin(t * w) * u1) / np.sin(w)
    return direction * ((1.0 - t) * n0 + t * n1)


def interpolate(zs: Sequence, steps: int, method: str) -> np.ndarray:
    """A path through the rows of `zs` (>= 2 of them), `steps` points per segment
    (endpoints included): [(len(zs) - 1) * steps, D] float32."""
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}. Received: method={method!r}")
    if steps < 2:
        raise ValueError(f"`steps` must be >= 2. Received: steps={steps}")
    zs = np.asarray(zs, np.float64)
    if zs.ndim != 2 or zs.shape[0] < 2:
        raise ValueError(f"`zs` must be [K >= 2, D]. Received: shape={list(zs.shape)}")
    fn = lerp if method == "lerp" else slerp
    t = np.linspace(0.0, 1.0, steps)
    return np.concatenate([fn(a, b, t) for a, b in zip(zs[:-1], zs[1:])]).astype(np.float32)


def combine(concepts: Sequence, weights: Sequence[float]) -> np.ndarray:
    """sum_i weights[i] * mean(concepts[i], axis=0): the DCGAN paper's vector arithmetic
    (Radford et al. 2016, section 6.3), e.g. weights (1, -1, 1) for A - B + C. [D] float32."""
    if len(concepts) != len(weights) or not concepts:
        raise ValueError(f"need one weight per concept. Received: {len(concepts)} concepts, "
                         f"{len(weights)} weights")
    means = [np.asarray(c, np.float64).mean(axis=0) for c in concepts]
    return np.sum([w * m for w, m in zip(weights, means)], axis=0).astype(np.float32)


def nearest_neighbours(queries, references, k: int, chunk: int = 2048) -> Tuple[np.ndarray, np.ndarray]:
    """The k references nearest (Euclidean) to each query, nearest first.

    Args:
        queries: [N, ...]; flattened to [N, D].
        references: [M, ...] with the same D; M >= k.
        k: neighbours per query.
        chunk: references compared at once (bounds memory to N * chunk distances).

    Returns:
        (indices int64 [N, k], distances float64 [N, k]); ties keep the lower index.
    """
    q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    r = np.asarray(references, np.float64).reshape(len(references), -1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries and references differ in size: {q.shape[1]} vs {r.shape[1]}")
    if not 1 <= k <= len(r):
        raise ValueError(f"`k` must be in [1, {len(r)}]. Received: k={k}")
    q_sq = (q ** 2).sum(1, keepdims=True)
    best_d = np.full((len(q), 0), np.inf)
    best_i = np.zeros((len(q), 0), np.int64)
    for start in range(0, len(r), chunk):
        block = r[start:start + chunk]
        d2 = np.maximum(q_sq - 2.0 * q @ block.T + (block ** 2).sum(1), 0.0)
        d = np.concatenate([best_d, d2], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(np.arange(start, start + len(block)), d2.shape)], axis=1)
        order = np.lexsort((i, d), axis=1)[:, :k]  # by distance, then by index
        best_d = np.take_along_axis(d, order, 1)
        best_i = np.take_along_axis(i, order, 1)
    return best_i, np.sqrt(best_d)

