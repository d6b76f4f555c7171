"""Input checks shared by the NumPy metrics."""

import numpy as np


def as_features(x, name):
    """`x` as a float64 (n, d) array of finite features.

    Raises:
        ValueError: naming `name`, if `x` is not 2-D or holds NaN or Inf.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D (n, d) array. Received: {name}.shape={x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` contains NaN or Inf values.")
    return x
