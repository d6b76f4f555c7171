"""2-D Gaussian mixtures `ring8` and `grid25` (the PacGAN/VEEGAN mode-collapse protocol).

Their means are exported as `MIXTURES` so the metrics (modes covered,
high-quality samples) use exactly the mixture the data was drawn from.
"""

import itertools

import numpy as np

from tfgan_suite.data.array_data import ArrayData
from tfgan_suite.data.errors import DataError

NUM_POINTS = 100_000
SPLITS = ("train", "test")


def _ring_means(num_modes: int, radius: float = 1.0) -> np.ndarray:
    # endpoint=False: with endpoint=True the first and last modes coincide at
    # angle 0 = 2*pi, leaving only num_modes - 1 distinct modes.
    angles = np.linspace(0.0, 2.0 * np.pi, num_modes, endpoint=False)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid_means(values) -> np.ndarray:
    return np.array(list(itertools.product(values, repeat=2)), dtype=np.float64)


# name -> (means float64 [K, 2], per-coordinate std). Mode k has mean means[k].
MIXTURES = {
    "ring8": (_ring_means(8), 0.01),
    "grid25": (_grid_means([-4.0, -2.0, 0.0, 2.0, 4.0]), 0.05),
}


def is_2d(name) -> bool:
    """Returns True for the 2-D point datasets (`ring8`, `grid25`)."""
    return name in MIXTURES


def sample_mixture(name: str, num: int, seed: int, split: str = "train"):
    """Draws points from a mixture, each point's mode chosen uniformly.

    Args:
        name: `"ring8"` or `"grid25"`.
        num: number of points.
        seed: integer seed; with `split` it fixes the draw.
        split: `"train"` or `"test"`; the two use independent streams.

    Returns:
        `(x, y)`: float32 points `[num, 2]` and int32 mode indices `[num]`.

    Raises:
        DataError: for an unknown name or split.
    """
    if name not in MIXTURES:
        raise DataError(f"Unknown mixture {name!r}. Accepted: {', '.join(MIXTURES)}.")
    if split not in SPLITS:
        raise DataError(
            f"Dataset {name!r} has splits {', '.join(SPLITS)}. Received: split={split!r}"
        )
    means, std = MIXTURES[name]
    rng = np.random.default_rng([SPLITS.index(split), seed])
    modes = rng.integers(0, len(means), size=num)
    points = means[modes] + std * rng.standard_normal((num, 2))
    return points.astype(np.float32), modes.astype(np.int32)


def load_mixture(name: str, split: str = "train", seed: int = 0) -> ArrayData:
    """Loads the fixed `NUM_POINTS`-point sample of a mixture as `ArrayData`.

    Args:
        name: `"ring8"` or `"grid25"`.
        split: `"train"` or `"test"` (an independent draw).
        seed: integer seed.

    Returns:
        `ArrayData` of kind `"points"`, y = mode index, num_classes = modes.
    """
    x, y = sample_mixture(name, NUM_POINTS, seed, split)
    return ArrayData(name=name, kind="points", x=x, y=y, num_classes=len(MIXTURES[name][0]))
