"""Naming runs with overrides, reading a run's FID curves and training scalars back from its
TensorBoard events, deciding whether a curve has flattened, and the rank correlation of a
training scalar with FID (for `fid_curves.py`; no flags, so tests and other scripts can import
it)."""

import json
import math
import os


def read_scalars(run_dir, prefixes):
    """{tag: [(step, value), ...]} of the scalars whose tag starts with one of `prefixes`
    in a run's event files (the last value written at a step wins: a resumed run may write
    a step twice)."""
    import tensorflow as tf

    points = {}
    for name in sorted(os.listdir(run_dir)):
        if not name.startswith("events.out.tfevents"):
            continue
        for raw in tf.data.TFRecordDataset(os.path.join(run_dir, name)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            for value in event.summary.value:
                if value.tag.startswith(tuple(prefixes)):
                    number = float(tf.make_ndarray(value.tensor)) if value.HasField(
                        "tensor") else float(value.simple_value)
                    points.setdefault(value.tag, {})[int(event.step)] = number
    return {tag: sorted(steps.items()) for tag, steps in points.items()}


def read_curves(run_dir):
    """{tag: [(step, value), ...]} of the `eval*/fid@N` scalars in a run's event files."""
    return read_scalars(run_dir, ("eval/fid@", "eval_ema/fid@"))


def _ranks(values):
    """Ranks 1..n of `values`, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x, y):
    """Spearman's rank correlation of two equally long sequences (Pearson's of their ranks,
    ties averaged); None for fewer than 3 pairs or a constant sequence."""
    if len(x) != len(y):
        raise ValueError(f"spearman needs sequences of one length; got {len(x)} and {len(y)}")
    if len(x) < 3:
        return None
    rx, ry = _ranks(list(x)), _ranks(list(y))
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def interval_means(series, steps):
    """For each step s_i of `steps` (ascending), the mean of `series` values logged in
    (s_(i-1), s_i] (s_(-1) = -inf): a noisy training scalar summarised over the interval
    that ends at each evaluation. None where the interval holds no value."""
    out, previous = [], -math.inf
    for step in steps:
        values = [v for s, v in series if previous < s <= step and math.isfinite(v)]
        out.append(sum(values) / len(values) if values else None)
        previous = step
    return out


def signal_correlation(series, fid_curve):
    """(Spearman rho, n) between a training scalar, averaged over each evaluation interval,
    and the FID at the end of that interval; rho None when fewer than 3 pairs exist."""
    finite = [(s, v) for s, v in fid_curve if math.isfinite(v)]
    means = interval_means(series, [s for s, _ in finite])
    pairs = [(m, v) for m, (_, v) in zip(means, finite) if m is not None]
    if not pairs:
        return None, 0
    return spearman([m for m, _ in pairs], [v for _, v in pairs]), len(pairs)


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


def parse_overrides(items):
    """{"key": value} from ["key=value", ...]: numbers and true/false as JSON reads them,
    anything else a string (g_norm=none stays "none")."""
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--overrides takes KEY=VALUE items; got {item!r}")
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = text
    return out


def run_name(variant, items):
    """A run's name: the variant, then each override (`wgan+g_norm=none`)."""
    return "+".join([variant] + list(items))


def mean_se(values):
    """(mean, standard error of the mean: sample standard deviation / sqrt(n)) of a list of
    numbers; the error is 0 for one value. The mean ± SE of the benchmarks' seed tables."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n)


def markers(name):
    """The BEGIN and END comments that delimit the generated section `name` in a markdown
    file."""
    return f"<!-- {name}:BEGIN -->", f"<!-- {name}:END -->"


# Fashion-MNIST's labels 0-9, for the per-class columns of conditional runs.
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


def label_table(results):
    """Per conditional run (one whose exports scored label accuracy): the shipped
    classifier's accuracy on G(z, y) for each requested class y, raw G and its EMA."""
    rows = [(name, r) for name, r in sorted(results.items())
            if r.get("final", {}).get("raw", {}).get("label_accuracy_per_class")]
    if not rows:
        return ""
    lines = ["| run | generator | all | " + " | ".join(FASHION_MNIST_CLASSES) + " |",
             "|---|---|---:|" + "---:|" * len(FASHION_MNIST_CLASSES)]
    for name, r in rows:
        for generator, label in (("raw", "G"), ("ema", "EMA")):
            measured = r["final"].get(generator, {})
            if "label_accuracy_per_class" not in measured:
                continue
            cells = " | ".join(f"{v:.2f}" for v in measured["label_accuracy_per_class"])
            lines.append(f"| `{name}` ({r['steps']:,} steps) | {label} | "
                         f"{measured['label_accuracy']:.3f} | {cells} |")
    return "\n".join(lines)


def write_section(path, section, body, required):
    """Replaces the text between `section`'s BEGIN/END comments in `path` by `body`. A
    missing pair is a ValueError when `required`, else the file is left as it is."""
    begin, end = markers(section)
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        if required:
            raise ValueError(f"{path} has no {begin} / {end} markers")
        return
    head, rest = text.split(begin, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1])
    print(f"wrote the {section} section into {path}")


def stored_record_stands(stored, steps, seed):
    """Why a stored result is kept instead of training again ('' = train).

    A record of the requested budget and seed stands, and so does a diverged run (training
    it again would diverge the same way). A shorter record is trained on: the run resumes
    from its checkpoint in --work_dir and continues exactly, so `--steps=20000` after a
    10,000-step run extends it. A record of another seed, or longer than asked for, cannot
    be reached by resuming and is kept, with the reason printed.
    """
    if stored.get("diverged"):
        return f"kept the stored record of a diverged run ({stored['diverged']})"
    if stored.get("seed") != seed:
        return (f"kept the stored record (seed {stored.get('seed')}, not {seed}); move it "
                f"out of --results_dir to run again")
    if stored.get("steps") == steps:
        return "kept the stored record (same budget and seed)"
    if stored.get("steps", 0) > steps:
        return (f"kept the stored record ({stored.get('steps')} steps, more than --steps="
                f"{steps})")
    return ""
