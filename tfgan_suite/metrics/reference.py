"""Reference statistics of real images, computed once and cached on disk.

Why: every evaluation of a generator compares its samples with the same real images. Their
features depend only on (dataset, split, feature network, number of images) -- plus the
image shape when the data is resized -- so they are computed once and kept in
`~/.cache/tfgan_suite/reference/` (`$XDG_CACHE_HOME/tfgan_suite/reference/`, or
`cache_dir`), one `.npz` per key, the key spelled out in the file name:

    fashion_mnist-test-28x28x1-fashion_classifier-3f2a9c0d1b7e-n10000.npz

The feature-network part holds the first 12 hex digits of its weights' sha256, so new
weights never reuse old statistics. A file is written under a temporary name and renamed,
so concurrent evaluations never read half a file.

Which real images: the whole split when it has at most `num_samples` images, else a fixed
subset of `num_samples` (a permutation with seed 0, the same on every machine). mu and
sigma (FID) and the stored features (KID, precision/recall/density/coverage) come from the
same images.
"""

import dataclasses
import hashlib
import os
import re
import zipfile
from typing import Optional, Sequence

import numpy as np

SUBSET_SEED = 0


@dataclasses.dataclass(frozen=True, eq=False)
class Reference:
    """Features of real images and their Gaussian fit.

    Attributes:
        key: the cache key (also the cache file name without `.npz`).
        dataset, split: where the images come from.
        feature_net: the feature network's identity (name and weights hash).
        num_samples: the number of images asked for; `features` may hold fewer when the
            split is smaller.
        mu, sigma: float64 mean [d] and covariance [d, d] of `features`.
        features: float64 [n, d], n = min(num_samples, images in the split) (stored as
            float32, the precision the network computes in).
        path: the cache file, or None when not cached.
        from_cache: whether this call read the cache instead of computing.
    """

    key: str
    dataset: str
    split: str
    feature_net: str
    num_samples: int
    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray
    path: Optional[str] = None
    from_cache: bool = False

    @property
    def size(self) -> int:
        return int(self.features.shape[0])


def default_cache_dir() -> str:
    """`$XDG_CACHE_HOME/tfgan_suite/reference`, `~/.cache/tfgan_suite/reference` by default."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfgan_suite", "reference")


def _safe(text: str) -> str:
    """`text` usable in a file name; names with other characters get a short hash appended."""
    safe = re.sub(r"[^A-Za-z0-9_.@-]+", "_", text).strip("_.") or "dataset"
    if safe != text:
        safe = f"{safe[:40]}_{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return safe


def cache_key(dataset: str, split: str, feature_net: str, num_samples: int,
              image_shape: Sequence[int]) -> str:
    """The file-name key of a (dataset, split, image shape, feature network, count) tuple."""
    shape = "x".join(str(int(d)) for d in image_shape)
    return f"{_safe(dataset)}-{_safe(split)}-{shape}-{_safe(feature_net)}-n{int(num_samples)}"


def select_subset(num_images: int, num_samples: int) -> np.ndarray:
    """Indices of the real images used: all of them, or a fixed sorted random subset."""
    if num_images <= num_samples:
        return np.arange(num_images)
    rng = np.random.default_rng(SUBSET_SEED)
    return np.sort(rng.permutation(num_images)[:num_samples])


def _atomic_savez(path: str, **arrays) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(path: str, key: str) -> Optional[dict]:
    """The cached arrays, or None when the file is missing, unreadable or for another key."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in ("key", "mu", "sigma", "features")}
    except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if str(arrays["key"]) != key:
        return None
    return arrays


def reference_statistics(dataset: str, split: str, feature_net, num_samples: int, *,
                         image_shape: Sequence[int], cache_dir: Optional[str] = None,
                         use_cache: bool = True, data_dir: Optional[str] = None,
                         data=None) -> Reference:
    """Features, mean and covariance of real images, from the cache when possible.

    Args:
        dataset: a `--dataset` name, loaded with `tfgan_suite.data.load`.
        split: the split of real images, e.g. "test".
        feature_net: a `feature_nets.FeatureNet` (called only when not cached).
        num_samples: the number of real images to use (fewer if the split is smaller).
        image_shape: (H, W, C) of the generated images; real images are loaded at H x W
            (resized when needed) and must have C channels.
        cache_dir: cache directory; default `default_cache_dir()`.
        use_cache: False computes without reading or writing the cache.
        data_dir: passed to `tfgan_suite.data.load`.
        data: an `ArrayData` of real images to use instead of loading `dataset`
            (e.g. the training data already in memory); it is cached under `dataset`.

    Returns:
        A `Reference`.

    Raises:
        DataError: the dataset cannot be loaded or does not match `image_shape`.
        ValueError: `num_samples` < 2.
    """
    from tfgan_suite.data import DataError, load

    if num_samples < 2:
        raise ValueError(f"`num_samples` must be >= 2. Received: num_samples={num_samples}")
    image_shape = tuple(int(d) for d in image_shape)
    key = cache_key(dataset, split, feature_net.identity, num_samples, image_shape)
    cache_dir = cache_dir or default_cache_dir()
    path = os.path.join(cache_dir, key + ".npz")
    fields = dict(key=key, dataset=dataset, split=split, feature_net=feature_net.identity,
                  num_samples=int(num_samples))
    if use_cache:
        cached = _read(path, key)
        if cached is not None:
            return Reference(mu=cached["mu"], sigma=cached["sigma"],
                             features=cached["features"].astype(np.float64), path=path,
                             from_cache=True, **fields)

    if data is None:
        data = load(dataset, split=split, data_dir=data_dir, image_size=image_shape[0])
    if data.kind != "image":
        raise DataError(f"{dataset} holds 2-D points, not images; its metrics are the mode "
                        "metrics, which need no reference statistics")
    if tuple(data.shape) != image_shape:
        raise DataError(f"{dataset} ({split}) has images of shape {list(data.shape)}, but the "
                        f"generated images have shape {list(image_shape)}")
    from tfgan_suite.metrics.fid import feature_statistics

    images = data.x[select_subset(len(data), num_samples)]
    features, _ = feature_net(images)
    # Feature networks compute in float32, so storing float32 loses nothing; rounding here
    # too makes a fresh result identical to a cached one whatever the network.
    features = np.asarray(features, np.float32).astype(np.float64)
    mu, sigma = feature_statistics(features)
    if use_cache:
        os.makedirs(cache_dir, exist_ok=True)
        _atomic_savez(path, key=np.array(key), mu=mu, sigma=sigma,
                      features=features.astype(np.float32))
    return Reference(mu=mu, sigma=sigma, features=features, path=path if use_cache else None,
                     from_cache=False, **fields)
