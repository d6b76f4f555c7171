"""Sample-quality metrics as pure NumPy functions (features in, Python numbers out).

Image metrics take features (or class probabilities) already computed by a feature
network: FID, KID, Inception Score, precision/recall/density/coverage, and the label
accuracy of conditional generators. The 2-D mixture benchmarks use `mode_metrics` on raw
samples. Nothing here imports TensorFlow or SciPy.
"""

from tfgan_suite.metrics.fid import feature_statistics, fid_from_features, frechet_distance
from tfgan_suite.metrics.inception_score import inception_score
from tfgan_suite.metrics.kid import kernel_inception_distance
from tfgan_suite.metrics.label_accuracy import label_accuracy
from tfgan_suite.metrics.modes import mode_histogram, mode_metrics
from tfgan_suite.metrics.prdc import prdc

__all__ = [
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "label_accuracy",
    "mode_histogram",
    "mode_metrics",
    "prdc",
]
