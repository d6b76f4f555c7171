"""Reading a run's FID curves back from its TensorBoard events, and deciding whether a curve
has flattened (for `fid_curves.py`; no flags, so tests and other scripts can import it)."""

import math
import os


def read_curves(run_dir):
    """{tag: [(step, value), ...]} of the `eval*/fid@N` scalars in a run's event files
    (the last value written at a step wins: a resumed run may write a step twice)."""
    import tensorflow as tf

    points = {}
    for name in sorted(os.listdir(run_dir)):
        if not name.startswith("events.out.tfevents"):
            continue
        for raw in tf.data.TFRecordDataset(os.path.join(run_dir, name)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            for value in event.summary.value:
                if value.tag.startswith(("eval/fid@", "eval_ema/fid@")):
                    number = float(tf.make_ndarray(value.tensor)) if value.HasField(
                        "tensor") else float(value.simple_value)
                    points.setdefault(value.tag, {})[int(event.step)] = number
    return {tag: sorted(steps.items()) for tag, steps in points.items()}


def flatness(curve, tolerance):
    """(flat, fall): whether the best FID of the curve's last third is within `tolerance`
    (relative) of the best before it, and that relative fall (positive = still falling).
    None for a curve of fewer than 3 finite points."""
    values = [v for _, v in curve if math.isfinite(v)]
    if len(values) < 3:
        return None
    cut = len(values) - max(1, len(values) // 3)
    before, last = min(values[:cut]), min(values[cut:])
    fall = (before - last) / before
    return fall < tolerance, fall
