"""Label accuracy: does a conditional generator draw the class it is asked for?

A classifier of the dataset's own classes (the shipped Fashion-MNIST classifier) labels
each generated image; the label accuracy is the fraction whose predicted class is the
requested one, overall and per requested class. Chance is 1 / num_classes. It measures
what FID and IS cannot: a `cgan` that draws sharp, varied garments while ignoring its
label scores well on both, and near chance here. It is meaningful only when the
classifier's classes are the labels the generator was conditioned on.
"""

import numpy as np


def label_accuracy(probs, labels, num_classes: int):
    """Fraction of samples whose arg-max class is their requested label.

    Args:
        probs: [n, num_classes] class probabilities (or logits) of generated samples.
        labels: [n] int, the label each sample was generated with.
        num_classes: the number of classes.

    Returns:
        `(accuracy, per_class)`: a float in [0, 1] and a list of `num_classes` floats
        (NaN for a class with no samples).

    Raises:
        ValueError: shapes that do not match, or labels outside [0, num_classes).
    """
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] != num_classes:
        raise ValueError(f"`probs` must be [n, {num_classes}]. Received shape {list(probs.shape)}")
    if labels.shape != (probs.shape[0],):
        raise ValueError(f"`labels` must be [{probs.shape[0]}]. Received shape "
                         f"{list(labels.shape)}")
    if labels.size == 0:
        raise ValueError("label accuracy needs at least one sample")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"`labels` must be in [0, {num_classes}). Received "
                         f"[{labels.min()}, {labels.max()}]")
    correct = np.argmax(probs, axis=1) == labels
    counts = np.bincount(labels, minlength=num_classes)
    hits = np.bincount(labels, weights=correct, minlength=num_classes)
    per_class = np.divide(hits, counts, out=np.full(num_classes, np.nan), where=counts > 0)
    return float(correct.mean()), [float(v) for v in per_class]
