"""Evaluate a generator: draw samples, embed them, compute every metric.

Why one core for two callers: `python -m tfgan_suite.evaluate` measures an exported
SavedModel and `--eval_every` measures the generator while it trains. Both hand this
module a *sampler*, a callable `(num, seed) -> samples` returning NumPy images in [0, 1]
NHWC (or 2-D points in data coordinates), so they compute the same numbers the same way:

    sampler = saved_model_sampler(tf.saved_model.load(path).signatures["sample"], "image")
    net = feature_nets.get("auto", (28, 28, 1))
    ref = reference.reference_statistics("fashion_mnist", "test", net, 10_000,
                                         image_shape=(28, 28, 1))
    result = evaluate_images(sampler, 10_000, ref, net, seed=0)
    result["fid"], result["kid_mean"], result["precision"], ...

Samples are drawn in batches (1,000 by default); batch i uses the seed
`batch_seed(seed, i)`, so a given --seed gives the same samples from the SavedModel and
from the Python generator it was exported from. Images are embedded batch by batch and
never all kept, so large or high-resolution evaluations stay within memory.
"""

import functools
import time
from typing import Callable, Optional

import numpy as np

from tfgan_suite.callbacks import PeriodicEval
from tfgan_suite.metrics.fid import feature_statistics, frechet_distance
from tfgan_suite.metrics.inception_score import inception_score
from tfgan_suite.metrics.kid import kernel_inception_distance
from tfgan_suite.metrics.label_accuracy import label_accuracy
from tfgan_suite.metrics.modes import CAPTURE_MIN_COUNT, NUM_SAMPLES, mode_metrics
from tfgan_suite.metrics.prdc import prdc

Sampler = Callable[[int, int], np.ndarray]

SAMPLE_BATCH = 1000
DEFAULT_IMAGE_SAMPLES = 10_000
DEFAULT_POINT_SAMPLES = NUM_SAMPLES
DEFAULT_TRAIN_IMAGE_SAMPLES = 2000
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10
PRDC_K = 3
# A mode counts as covered with this many high-quality samples: the papers' one sample, for
# the ring and the grid (VEEGAN 5.1; PacGAN's metric code). See metrics/modes.py.
MODE_MIN_COUNT = dict(CAPTURE_MIN_COUNT)

IMAGE_METRICS = ("fid", "kid_mean", "kid_std", "is_mean", "is_std", "precision", "recall",
                 "density", "coverage")
POINT_METRICS = ("modes_covered", "num_modes", "high_quality_fraction", "reverse_kl")


def batch_seed(seed: int, index: int) -> int:
    """The int64 seed of sample batch `index` for evaluation seed `seed`.

    Derived with NumPy's SeedSequence, so nearby (seed, index) pairs give unrelated seeds.
    """
    state = np.random.SeedSequence([int(seed) & (2**63 - 1), int(index)]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))  # 63 bits: fits int64


def sample_batches(sampler: Sampler, num: int, seed: int, batch_size: int = SAMPLE_BATCH):
    """Yields the batches `sampler(n_i, batch_seed(seed, i))` that make up `num` samples."""
    if num < 1:
        raise ValueError(f"`num` must be >= 1. Received: num={num}")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
    for index, start in enumerate(range(0, num, batch_size)):
        n = min(batch_size, num - start)
        batch = np.asarray(sampler(n, batch_seed(seed, index)))
        if batch.shape[0] != n:
            raise ValueError(f"the sampler returned {batch.shape[0]} samples for num={n}")
        yield batch


def draw_samples(sampler: Sampler, num: int, seed: int, batch_size: int = SAMPLE_BATCH):
    """`num` samples from `sampler` as one array (see `sample_batches`)."""
    return np.concatenate(list(sample_batches(sampler, num, seed, batch_size)))


def _check_finite(batch):
    if not np.all(np.isfinite(batch)):
        raise ValueError("the generator produced NaN or Inf values; no metric can be computed")


def image_metrics(features, probs, reference, *, kid_subsets: int = KID_SUBSETS,
                  kid_subset_size: int = KID_SUBSET_SIZE, prdc_k: int = PRDC_K,
                  is_splits: int = IS_SPLITS, seed: int = 0, timings: Optional[dict] = None):
    """Every image metric of generated `features`/`probs` against a `Reference`.

    Args:
        features: float64 [n, d] features of the generated images.
        probs: float64 [n, C] class probabilities of the generated images (IS).
        reference: a `reference.Reference` of real images.
        kid_subsets, kid_subset_size: KID subsets (Bińkowski et al.: 100 of 1,000).
        prdc_k: neighbour rank of precision/recall/density/coverage.
        is_splits: Inception Score splits (Salimans et al.: 10), capped at n.
        seed: seed of KID's subset draw.
        timings: optional dict; seconds per metric are added under `fid_s`, `kid_s`,
            `is_s`, `prdc_s`.

    Returns:
        Dict of Python floats, keys `IMAGE_METRICS`.
    """
    timings = {} if timings is None else timings
    start = time.perf_counter()
    mu, sigma = feature_statistics(features)
    fid = frechet_distance(reference.mu, reference.sigma, mu, sigma)
    timings["fid_s"] = time.perf_counter() - start

    start = time.perf_counter()
    kid_mean, kid_std = kernel_inception_distance(reference.features, features,
                                                  num_subsets=kid_subsets,
                                                  subset_size=kid_subset_size, seed=seed)
    timings["kid_s"] = time.perf_counter() - start

    start = time.perf_counter()
    is_mean, is_std = inception_score(probs, num_splits=min(is_splits, probs.shape[0]))
    timings["is_s"] = time.perf_counter() - start

    start = time.perf_counter()
    pr = prdc(reference.features, features, k=prdc_k)
    timings["prdc_s"] = time.perf_counter() - start
    return dict(fid=fid, kid_mean=kid_mean, kid_std=kid_std, is_mean=is_mean, is_std=is_std,
                **pr)


def evaluate_images(sampler: Sampler, num_samples: int, reference, feature_net, *,
                    seed: int = 0, batch_size: int = SAMPLE_BATCH,
                    label_classes: Optional[int] = None, **metric_kwargs) -> dict:
    """Draws `num_samples` images, embeds them and computes every image metric.

    Args:
        sampler: `(num, seed) -> images` float in [0, 1] NHWC (or uint8).
        num_samples: number of generated images (>= 2, > prdc_k).
        reference: `reference.Reference` of real images, from the same `feature_net`.
        feature_net: `feature_nets.FeatureNet`.
        seed: evaluation seed (sample batches and KID subsets).
        batch_size: images per sampler call.
        label_classes: for a conditional sampler (its batches drawn with
            `balanced_labels`) whose labels are the feature network's classes: the
            number of classes; adds `label_accuracy` and `label_accuracy_per_class`.
        **metric_kwargs: passed to `image_metrics`.

    Returns:
        Dict with the `IMAGE_METRICS`, `num_samples`, and `timings` (seconds:
        `sampling_s`, `features_s`, per-metric `fid_s`..., `metrics_s`, `total_s`).
    """
    if reference.feature_net != feature_net.identity:
        raise ValueError(f"the reference statistics were computed with {reference.feature_net}, "
                         f"not {feature_net.identity}")
    timings = {"sampling_s": 0.0, "features_s": 0.0}
    features, probs, labels = [], [], []
    batches = sample_batches(sampler, num_samples, seed, batch_size)
    total_start = time.perf_counter()
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        timings["sampling_s"] += time.perf_counter() - start
        if batch is None:
            break
        _check_finite(batch)
        start = time.perf_counter()
        f, p = feature_net(batch)
        timings["features_s"] += time.perf_counter() - start
        features.append(f)
        probs.append(p)
        if label_classes:
            labels.append(balanced_labels(batch.shape[0], label_classes))
    start = time.perf_counter()
    metrics = image_metrics(np.concatenate(features), np.concatenate(probs), reference,
                            seed=seed, timings=timings, **metric_kwargs)
    if label_classes:
        accuracy, per_class = label_accuracy(np.concatenate(probs), np.concatenate(labels),
                                             label_classes)
        metrics.update(label_accuracy=accuracy, label_accuracy_per_class=per_class)
    timings["metrics_s"] = time.perf_counter() - start
    timings["total_s"] = time.perf_counter() - total_start
    return dict(metrics, num_samples=int(num_samples), timings=timings)


def evaluate_points(sampler: Sampler, dataset: str, num_samples: int = DEFAULT_POINT_SAMPLES, *,
                    seed: int = 0, batch_size: int = SAMPLE_BATCH) -> dict:
    """Mode metrics of a 2-D generator on the mixture `dataset` (ring8 or grid25).

    Returns:
        Dict with `modes_covered`, `num_modes`, `high_quality_fraction`, `reverse_kl`,
        `min_count` (high-quality samples a covered mode needs), `num_samples` and
        `timings`.
    """
    from tfgan_suite.data import MIXTURES

    if dataset not in MIXTURES:
        raise ValueError(f"mode metrics need a 2-D mixture ({', '.join(MIXTURES)}). "
                         f"Received: dataset={dataset!r}")
    means, std = MIXTURES[dataset]
    start = time.perf_counter()
    samples = draw_samples(sampler, num_samples, seed, batch_size)
    sampling = time.perf_counter() - start
    if samples.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(f"{dataset} needs points [N, {means.shape[1]}]; the generator makes "
                         f"samples of shape {list(samples.shape)}")
    _check_finite(samples)
    min_count = MODE_MIN_COUNT.get(dataset, 1)
    start = time.perf_counter()
    result = mode_metrics(samples, means, std, min_count=min_count)
    metrics_s = time.perf_counter() - start
    return dict(result, num_modes=int(means.shape[0]), min_count=min_count,
                num_samples=int(num_samples),
                timings={"sampling_s": sampling, "metrics_s": metrics_s,
                         "total_s": sampling + metrics_s})


def balanced_labels(num: int, num_classes: int) -> np.ndarray:
    """Labels 0, 1, ..., C-1, 0, 1, ... for conditional generators (equal class shares)."""
    return (np.arange(num) % num_classes).astype(np.int32)


def saved_model_sampler(sample_fn, kind: str, num_classes: Optional[int] = None) -> Sampler:
    """A sampler calling an exported `sample` signature (`tfgan_suite.serving`).

    Args:
        sample_fn: `tf.saved_model.load(path).signatures["sample"]`.
        kind: "image" (returns `samples` in [0, 1]) or "points".
        num_classes: for a conditional model, labels are `balanced_labels`.
    """
    import tensorflow as tf

    def sampler(num, seed):
        inputs = {"num": tf.constant(num, tf.int32), "seed": tf.constant(seed, tf.int64)}
        if num_classes:
            inputs["label"] = tf.constant(balanced_labels(num, num_classes))
        return sample_fn(**inputs)["samples"].numpy()

    return sampler


def keras_sampler(generate, latent_dim: int, kind: str, num_classes: Optional[int] = None) -> Sampler:
    """A sampler around a Python generator, drawing z exactly as the exported `sample` does.

    Args:
        generate: `(z, labels) -> samples` (e.g. `GANModel.generate`), images in [-1, 1].
        latent_dim: size of z.
        kind: "image" (mapped to [0, 1] and clipped, as the export does) or "points".
        num_classes: for a conditional model, labels are `balanced_labels`.
    """
    import tensorflow as tf

    def sampler(num, seed):
        z = tf.random.stateless_normal([num, latent_dim], seed=tf.constant([seed, 0], tf.int64),
                                       dtype=tf.float32, alg="philox")
        labels = tf.constant(balanced_labels(num, num_classes)) if num_classes else None
        x = np.asarray(generate(z, labels), dtype=np.float32)
        if kind == "image":
            x = np.clip((x + 1.0) / 2.0, 0.0, 1.0)
        return x

    return sampler


def metric_rows(result: dict, kind: str):
    """(label, formatted value) rows of the result table."""
    if kind == "points":
        return [
            ("modes covered", f"{result['modes_covered']} / {result['num_modes']} "
                              f"(>= {result['min_count']} high-quality samples each)"),
            ("high-quality samples", f"{100.0 * result['high_quality_fraction']:.1f} %"),
            ("reverse KL (modes)", f"{result['reverse_kl']:.4f}"),
        ]
    rows = [
        ("FID", f"{result['fid']:.3f}"),
        ("KID", f"{result['kid_mean']:.5f} ± {result['kid_std']:.5f}"),
        ("IS", f"{result['is_mean']:.3f} ± {result['is_std']:.3f}"),
        ("precision", f"{result['precision']:.4f}"),
        ("recall", f"{result['recall']:.4f}"),
        ("density", f"{result['density']:.4f}"),
        ("coverage", f"{result['coverage']:.4f}"),
    ]
    if "label_accuracy" in result:
        per_class = result["label_accuracy_per_class"]
        rows.append(("label accuracy", f"{result['label_accuracy']:.4f} (chance "
                                       f"{1.0 / len(per_class):.4f}; per class "
                                       + " ".join(f"{v:.2f}" for v in per_class) + ")"))
    return rows


# TensorBoard tags of the logged metrics (suffixed with @<num_samples>).
_TAGS = {"fid": "fid", "kid_mean": "kid", "is_mean": "is", "precision": "precision",
         "recall": "recall", "density": "density", "coverage": "coverage",
         "modes_covered": "modes_covered", "high_quality_fraction": "high_quality",
         "reverse_kl": "reverse_kl", "label_accuracy": "label_accuracy"}


def summary_scalars(result: dict, prefix: str = "eval") -> dict:
    """{tag: value} for TensorBoard, e.g. {"eval/fid@2000": 31.2, ...}."""
    n = result["num_samples"]
    return {f"{prefix}/{tag}@{n}": float(result[key]) for key, tag in _TAGS.items()
            if key in result}


class Evaluator:
    """Everything needed to evaluate one generator repeatedly: the data's metrics set-up.

    Images: a feature network and the reference statistics of real images, computed (or
    read from the cache) once, here. 2-D points: the mixture's means.

    Args:
        kind: "image" or "points".
        num_samples: generated samples per evaluation.
        seed: evaluation seed; the same samples' z at every evaluation, so the curve
            shows the generator changing, not the noise.
        feature_net, reference: for images.
        dataset: the mixture name, for points.
        label_classes: for images whose labels are the feature network's classes, their
            number: a conditional generator is then also scored by its label accuracy.
    """

    def __init__(self, kind, num_samples, *, seed=0, feature_net=None, reference=None,
                 dataset=None, label_classes=None):
        if kind == "image" and (feature_net is None or reference is None):
            raise ValueError("image evaluation needs `feature_net` and `reference`")
        if num_samples < 2:
            raise ValueError(f"`num_samples` must be >= 2. Received: num_samples={num_samples}")
        self.kind = kind
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.feature_net = feature_net
        self.reference = reference
        self.dataset = dataset
        self.label_classes = label_classes

    def __call__(self, sampler: Sampler, conditional: bool = False) -> dict:
        """Metrics of `sampler`'s samples; `conditional`: it draws `balanced_labels`."""
        if self.kind == "image":
            return evaluate_images(sampler, self.num_samples, self.reference, self.feature_net,
                                   seed=self.seed,
                                   label_classes=self.label_classes if conditional else None)
        return evaluate_points(sampler, self.dataset, self.num_samples, seed=self.seed)


def training_evaluator(data, num_samples: Optional[int] = None, *, seed: int = 0,
                       cache_dir: Optional[str] = None) -> Evaluator:
    """The Evaluator `--eval_every` uses for training data `data` (an `ArrayData`).

    Images: the `auto` feature network for the data's shape, and the reference statistics
    of `num_samples` images of the training data itself (cached under the data's name and
    the "train" split). 2-D points: the mixture named by `data.name` (ring8, grid25).

    Raises:
        FeatureNetError: no feature network for these images (e.g. Inception weights missing).
        ValueError: 2-D data that is not one of the known mixtures.
    """
    from tfgan_suite.data import MIXTURES
    from tfgan_suite.metrics import feature_nets, reference

    if data.kind == "points":
        if data.name not in MIXTURES:
            raise ValueError(f"--eval_every on 2-D data needs a mixture with known modes "
                             f"({', '.join(MIXTURES)}); got data {data.name!r}")
        return Evaluator("points", num_samples or DEFAULT_POINT_SAMPLES, seed=seed,
                         dataset=data.name)
    num_samples = num_samples or DEFAULT_TRAIN_IMAGE_SAMPLES
    net = feature_nets.get("auto", data.shape)
    ref = reference.reference_statistics(data.name, "train", net, num_samples,
                                         image_shape=data.shape, cache_dir=cache_dir, data=data)
    label_classes = net.num_classes if feature_nets.classifies(net, data.name) else None
    return Evaluator("image", num_samples, seed=seed, feature_net=net, reference=ref,
                     label_classes=label_classes)


class EvalCallback(PeriodicEval):
    """Logs the evaluation metrics of the training generator to TensorBoard.

    Every `every` steps (at the model's own step, so resumed runs continue the curves)
    and at the end of training, the generator draws `evaluator.num_samples` samples with
    the same seeds each time; the metrics go to `eval/<metric>@<num_samples>`, e.g.
    `eval/fid@2000`, `eval/modes_covered@2500`. A non-finite generator is skipped (the
    divergence guard reports it). The schedule, `history` and logging are `PeriodicEval`'s.
    With `ema`, the generator measured is the averaged one (`model.generate(..., ema=True)`)
    and the tags are `eval_ema/<metric>@<num_samples>`.

    Args:
        writer: a `tf.summary` writer.
        every: steps between evaluations.
        evaluator: an `Evaluator`.
        num_classes: class count of a conditional model (balanced labels), else None.
        ema: measure the model's averaged generator (the generator EMA).
    """

    def __init__(self, writer, every, evaluator, num_classes=None, ema=False):
        super().__init__(writer, every)
        self.evaluator = evaluator
        self.num_classes = num_classes
        self.ema = bool(ema)
        self.prefix = "eval_ema" if self.ema else "eval"

    def measure(self):
        conditional = bool(getattr(self.model, "conditional", False))
        generate = functools.partial(self.model.generate, ema=self.ema)
        sampler = keras_sampler(generate, self.model.latent_dim, self.evaluator.kind,
                                self.num_classes if conditional else None)
        try:
            result = self.evaluator(sampler, conditional=conditional)
        except ValueError as e:
            if "NaN or Inf" in str(e):
                return None
            raise
        scalars = summary_scalars(result, self.prefix)
        scalars[f"{self.prefix}/seconds@{result['num_samples']}"] = result["timings"]["total_s"]
        return result, scalars
