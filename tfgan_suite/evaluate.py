"""Measure an exported generator: FID, KID, IS, precision/recall/density/coverage (and a
cgan's label accuracy), or modes.

    python -m tfgan_suite.evaluate --model saved_models/dcgan[/<version>] --dataset fashion_mnist
        [--num_samples 10000] [--feature_net auto] [--split test] [--seed 0] [--json_out PATH]

Why: the numbers that say how good a GAN is should come from the deployable artifact
itself, with a stated feature network, sample count and reference data. Only
`tf.saved_model.load` and the model's `sample` signature are used, so any model exported by
`tfgan_suite.serving` works.

Images: `--num_samples` generated images (batches of 1,000, batch seeds derived from
--seed) against the same number of real images of `--split` (fewer if the split is
smaller), embedded by `--feature_net` (auto: the shipped Fashion-MNIST classifier for
28x28x1 images, else InceptionV3). The real images' statistics are cached
(`--cache_dir`, default ~/.cache/tfgan_suite/reference). 2-D models (ring8, grid25): mode
metrics on 2,500 samples. Recommenders (irgan): P@3/5/10 and NDCG@3/5/10 of the `score`
signature on the test split of the model's dataset (training positives not ranked).

Prints a table and writes JSON to `<model_dir>/../eval_<version>.json` (or --json_out).
Usage errors (missing model, a --dataset that is not the model's, unknown feature
network, missing Inception weights) are one line on stderr and exit status 2.

The linear probe (`tfgan_suite.metrics.probe_evaluation`): how well a linear classifier
reads the labels from the model's features, trained on the train split, scored on test:

    python -m tfgan_suite.evaluate --model saved_models/bigan --probe
        [--probe_features auto|encode|features|pixels] [--probe_train N] [--probe_test N]

JSON to `<model_dir>/../probe_<features>_<version>.json` (or --json_out). A model without
the signature asked for is a usage error naming what it has.
"""

import datetime
import json
import math
import os
import sys

from absl import flags

from tfgan_suite.cli_utils import INT64_RANGE, define_model_flag, run_main, usage_error


class EvaluateError(ValueError):
    """The evaluation cannot run as asked; the message is one line saying why."""


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines this command's flags (called by `run`, so importing defines none)."""
    define_model_flag(flag_values)
    flags.DEFINE_string("dataset", None, "Dataset of the real data; must be the one the model "
                        "was trained on (default: the model's, from its metadata).",
                        flag_values=flag_values)
    flags.DEFINE_integer("num_samples", None, "Generated samples (and real reference images); "
                         "default 10000 for images, 2500 for 2-D points.", flag_values=flag_values)
    flags.DEFINE_string("feature_net", "auto", "auto, fashion_classifier or inception_v3 "
                        "(auto: fashion_classifier for 28x28x1 images, else inception_v3).",
                        flag_values=flag_values)
    flags.DEFINE_string("split", "test", "Split of the real reference images.",
                        flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Evaluation seed (generated samples and KID subsets).",
                         flag_values=flag_values)
    flags.DEFINE_string("json_out", None, "Where to write the JSON results; default "
                        "<model_dir>/../eval_<version>.json.", flag_values=flag_values)
    flags.DEFINE_string("cache_dir", None, "Cache of reference statistics; default "
                        "~/.cache/tfgan_suite/reference.", flag_values=flag_values)
    flags.DEFINE_string("data_dir", None, "Directory with the Fashion-MNIST IDX files or a "
                        "prepared TFDS data directory.", flag_values=flag_values)
    flags.DEFINE_boolean("probe", False, "Linear probe of the model's features instead of "
                         "sample metrics: softmax regression fitted on the train split, "
                         "scored on the test split.", flag_values=flag_values)
    flags.DEFINE_string("probe_features", "auto", "auto (encode, else features), encode "
                        "(bigan/ali), features (D's, exported with --export_features) or "
                        "pixels (the raw images: the reference row).", flag_values=flag_values)
    flags.DEFINE_integer("probe_train", None, "Training images of the probe (a seeded "
                         "subset; default: the whole train split).", flag_values=flag_values)
    flags.DEFINE_integer("probe_test", None, "Test images of the probe (a seeded subset; "
                         "default: the whole test split).", flag_values=flag_values)
    flags.DEFINE_float("probe_l2", None, "L2 penalty of the probe (default: picked from "
                       "1e-4..1 on 10 % of the training images).", flag_values=flag_values)
    flags.DEFINE_string("inception_weights", None, "Path of "
                        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5 (default: the Keras "
                        "cache, ~/.keras/models).", flag_values=flag_values)


def default_json_path(model_dir: str) -> str:
    """`<model_dir>/../eval_<version>.json`, next to the model's version directories."""
    model_dir = os.path.normpath(os.path.abspath(model_dir))
    return os.path.join(os.path.dirname(model_dir), f"eval_{os.path.basename(model_dir)}.json")


def evaluate_model(model: str, *, dataset=None, num_samples=None, feature_net="auto",
                   split="test", seed=0, cache_dir=None, data_dir=None,
                   inception_weights=None) -> dict:
    """Evaluates an exported generator; returns the JSON-ready result dict.

    Raises:
        EvaluateError: with a one-line message saying what is wrong.
    """
    from tfgan_suite.metrics import feature_nets

    if num_samples is not None and num_samples < 10:
        raise EvaluateError(f"--num_samples must be >= 10, got {num_samples}")
    if not INT64_RANGE[0] <= seed <= INT64_RANGE[1]:
        raise EvaluateError(f"--seed must fit in int64, got {seed}")
    if feature_net not in feature_nets.NAMES:
        raise EvaluateError(f"--feature_net={feature_net} is not accepted; use one of: "
                            f"{', '.join(feature_nets.NAMES)}")
    if not os.path.exists(model):
        raise EvaluateError(f"--model: {model} does not exist; expected a SavedModel directory "
                            "(with saved_model.pb) or an export directory with version "
                            "subdirectories, e.g. saved_models/dcgan")

    import tensorflow as tf

    from tfgan_suite import __version__, export_dirs, graph_checks
    from tfgan_suite.data import MIXTURES, DataError
    from tfgan_suite.metrics import evaluation, reference

    try:
        model_dir = export_dirs.resolve_model_dir(model)
        meta = export_dirs.read_meta(model_dir)
    except export_dirs.ExportError as e:
        raise EvaluateError(f"--model: {e}") from None
    trained_on = meta.get("dataset")
    if dataset is None:
        dataset = trained_on
    elif dataset != trained_on:
        raise EvaluateError(
            f"--dataset={dataset} does not match the model: {model_dir} was trained on "
            f"{trained_on} (assets.extra/tfgan_suite.json); metrics against other data would "
            f"not mean what they say. Use --dataset={trained_on}")
    kind, data_shape = meta.get("kind"), tuple(meta.get("data_shape", ()))
    num_classes = meta.get("num_classes")
    if kind == "recsys":  # irgan: rank items with the `score` signature
        return _evaluate_recsys(model_dir, meta, dataset, data_dir)

    try:
        loaded = tf.saved_model.load(model_dir)
    except Exception as e:  # Whatever the reason, the directory is not a usable model.
        raise EvaluateError(f"cannot load the SavedModel in {model_dir}: "
                            f"{graph_checks.signature_error_reason(e)}") from None
    if "sample" not in loaded.signatures:
        raise EvaluateError(f"{model_dir} has no `sample` signature (it has "
                            f"{sorted(loaded.signatures)}); models exported by tfgan_suite have one")
    sampler = evaluation.saved_model_sampler(loaded.signatures["sample"], kind, num_classes)

    result = {
        "model_dir": os.path.abspath(model_dir),
        "variant": meta.get("variant"),
        "step": meta.get("step"),
        "dataset": dataset,
        "kind": kind,
        "seed": seed,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "tfgan_suite_version": __version__,
        "tensorflow_version": tf.__version__,
    }
    if kind == "points":
        if dataset not in MIXTURES:
            raise EvaluateError(f"{model_dir} makes 2-D points, but its dataset {dataset} has no "
                                f"known modes; mode metrics need one of: {', '.join(MIXTURES)}")
        metrics = evaluation.evaluate_points(
            sampler, dataset, num_samples or evaluation.DEFAULT_POINT_SAMPLES, seed=seed)
        result.update(metrics)
        return result
    if kind != "image":
        raise EvaluateError(f"{model_dir}: unknown model kind {kind!r} in its metadata")

    num_samples = num_samples or evaluation.DEFAULT_IMAGE_SAMPLES
    try:
        net = feature_nets.get(feature_net, data_shape, inception_weights)
        ref = reference.reference_statistics(dataset, split, net, num_samples,
                                             image_shape=data_shape, cache_dir=cache_dir,
                                             data_dir=data_dir)
    except (feature_nets.FeatureNetError, DataError) as e:
        raise EvaluateError(str(e)) from None
    label_classes = (num_classes if num_classes and feature_nets.classifies(net, dataset)
                     else None)
    metrics = evaluation.evaluate_images(sampler, num_samples, ref, net, seed=seed,
                                         label_classes=label_classes)
    result.update(metrics)
    result.update({
        "split": split,
        "reference_samples": ref.size,
        "reference_cache": ref.path,
        "reference_from_cache": ref.from_cache,
        "feature_net": net.info,
        "kid_subsets": evaluation.KID_SUBSETS,
        "kid_subset_size": min(evaluation.KID_SUBSET_SIZE, ref.size, num_samples),
        "is_splits": min(evaluation.IS_SPLITS, num_samples),
        "prdc_k": evaluation.PRDC_K,
    })
    return result


def default_probe_json_path(model_dir: str, source: str) -> str:
    """`<model_dir>/../probe_<source>_<version>.json`, next to the model's versions."""
    model_dir = os.path.normpath(os.path.abspath(model_dir))
    return os.path.join(os.path.dirname(model_dir),
                        f"probe_{source}_{os.path.basename(model_dir)}.json")


def probe_model(model: str, *, features="auto", num_train=None, num_test=None, seed=0,
                l2=None, data_dir=None) -> dict:
    """The linear probe of an exported model's features on its dataset (train -> test);
    returns the JSON-ready result dict.

    Raises:
        EvaluateError: with a one-line message saying what is wrong.
    """
    from tfgan_suite.metrics import probe_evaluation

    for name, value in (("--probe_train", num_train), ("--probe_test", num_test)):
        if value is not None and value < 10:
            raise EvaluateError(f"{name} must be >= 10, got {value}")
    if l2 is not None and not l2 > 0:
        raise EvaluateError(f"--probe_l2 must be > 0, got {l2}")
    if not 0 <= seed <= 2**32 - 1:
        raise EvaluateError(f"--seed must be in [0, 2**32) for --probe, got {seed}")
    if features not in probe_evaluation.SOURCES:
        raise EvaluateError(f"--probe_features={features} is not accepted; use one of: "
                            f"{', '.join(probe_evaluation.SOURCES)}")
    if not os.path.exists(model):
        raise EvaluateError(f"--model: {model} does not exist; expected a SavedModel directory "
                            "(with saved_model.pb) or an export directory with version "
                            "subdirectories, e.g. saved_models/bigan")

    import tensorflow as tf

    from tfgan_suite import __version__, export_dirs, graph_checks
    from tfgan_suite.data import DataError, load

    try:
        model_dir = export_dirs.resolve_model_dir(model)
        meta = export_dirs.read_meta(model_dir)
    except export_dirs.ExportError as e:
        raise EvaluateError(f"--model: {e}") from None
    if meta.get("kind") != "image":
        raise EvaluateError(f"--probe measures image models; {model_dir} is of kind "
                            f"{meta.get('kind')!r}")
    try:
        loaded = tf.saved_model.load(model_dir)
    except Exception as e:  # Whatever the reason, the directory is not a usable model.
        raise EvaluateError(f"cannot load the SavedModel in {model_dir}: "
                            f"{graph_checks.signature_error_reason(e)}") from None
    try:
        source = probe_evaluation.pick_source(features, loaded.signatures)
    except probe_evaluation.ProbeError as e:
        raise EvaluateError(f"{model_dir}: {e}") from None
    dataset, data_shape = meta.get("dataset"), list(meta.get("data_shape", ()))
    try:
        splits = {split: load(dataset, split=split, data_dir=data_dir, image_size=data_shape[0])
                  for split in ("train", "test")}
    except DataError as e:
        raise EvaluateError(str(e)) from None
    for split, data in splits.items():
        if data.y is None:
            raise EvaluateError(f"--probe needs labels; {dataset} ({split}) has none")
        if list(data.shape) != data_shape:
            raise EvaluateError(f"{dataset} ({split}) has images of shape {list(data.shape)}, "
                                f"but {model_dir} takes {data_shape}")
    parts = {}
    for split, wanted, offset in (("train", num_train, 0), ("test", num_test, 1)):
        data = splits[split]
        index = probe_evaluation.subset(len(data.x), wanted, seed + offset)
        parts[split] = dataclass_subset(data, index)
    result = {
        "model_dir": os.path.abspath(model_dir),
        "variant": meta.get("variant"),
        "step": meta.get("step"),
        "untrained": bool(meta.get("untrained", False)),
        "dataset": dataset,
        "kind": "probe",
        "seed": seed,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "tfgan_suite_version": __version__,
        "tensorflow_version": tf.__version__,
    }
    try:
        result.update(probe_evaluation.probe_model(loaded, source, parts["train"],
                                                   parts["test"], seed=seed, l2=l2))
    except ValueError as e:  # e.g. NaN features: not a usage error
        raise ValueError(f"{model_dir}: {e}") from None
    return result


def dataclass_subset(data, index):
    """`data` (an ArrayData) restricted to the rows `index`."""
    import dataclasses

    return dataclasses.replace(data, x=data.x[index], y=data.y[index])


def format_table(result: dict) -> str:
    """The human-readable report of `evaluate_model`'s result."""
    from tfgan_suite.metrics import evaluation

    lines = [f"Evaluation of {result['model_dir']} ({result['variant']}, step {result['step']})"]
    if result["kind"] == "probe":
        from tfgan_suite.metrics import probe_evaluation

        untrained = ", untrained" if result["untrained"] else ""
        lines[0] = (f"Linear probe of {result['model_dir']} ({result['variant']}, step "
                    f"{result['step']}{untrained})")
        return "\n".join(lines + probe_evaluation.table_lines(result))
    if result["kind"] == "recsys":
        return "\n".join(lines + _recsys_lines(result))
    if result["kind"] == "points":
        lines.append(f"  data: {result['dataset']} mixture; {result['num_samples']:,} generated "
                     f"points (seed {result['seed']})")
    else:
        net = result["feature_net"]
        accuracy = net.get("test_accuracy")
        detail = f", test accuracy {100 * accuracy:.2f} %" if accuracy else ""
        lines.append(f"  generated samples: {result['num_samples']:,} (seed {result['seed']})")
        lines.append(f"  reference: {result['reference_samples']:,} real images of "
                     f"{result['dataset']} ({result['split']} split)")
        lines.append(f"  feature network: {net['name']} ({net['feature_dim']}-d features, "
                     f"{net['num_classes']} classes{detail})")
    rows = evaluation.metric_rows(result, result["kind"])
    width = max(len(label) for label, _ in rows)
    lines.append(f"  {'metric':<{width}}  value")
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    timings = result["timings"]
    lines.append(f"  time: {timings['total_s']:.1f} s (sampling {timings['sampling_s']:.1f} s)")
    return "\n".join(lines)


def _evaluate_recsys(model_dir: str, meta: dict, dataset: str, data_dir) -> dict:
    """P@k and NDCG@k of an exported recommender (`score` signature) on its test split."""
    import time

    import tensorflow as tf

    from tfgan_suite import __version__, recsys_serving
    from tfgan_suite.data import DataError, load
    from tfgan_suite.metrics.ranking import ranking_metrics

    start = time.time()
    try:
        data = load(dataset, data_dir=data_dir, seed=int(meta.get("data_seed", 0)))
    except DataError as e:
        raise EvaluateError(str(e)) from None
    if (data.num_users, data.num_items) != (meta.get("num_users"), meta.get("num_items")):
        raise EvaluateError(f"{model_dir} scores {meta.get('num_users')} users x "
                            f"{meta.get('num_items')} items, but {dataset} has "
                            f"{data.num_users} x {data.num_items}")
    try:
        scores = recsys_serving.saved_model_scores(model_dir, data.num_users)
    except ValueError as e:
        raise EvaluateError(f"{model_dir}: {e}") from None
    result = {
        "model_dir": os.path.abspath(model_dir),
        "variant": meta.get("variant"),
        "step": meta.get("step"),
        "dataset": dataset,
        "kind": "recsys",
        "data_seed": int(meta.get("data_seed", 0)),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "tfgan_suite_version": __version__,
        "tensorflow_version": tf.__version__,
    }
    result.update(ranking_metrics(scores, data.train_positives, data.test_positives))
    result["timings"] = {"total_s": time.time() - start}
    return result


def _recsys_lines(result: dict) -> list:
    from tfgan_suite.metrics.ranking import METRICS

    lines = [f"  data: {result['dataset']} test split (seed {result['data_seed']}), "
             f"{result['num_users']:,} users with a test positive; training positives "
             "are not ranked"]
    lines.append(f"  {'metric':<8}  value")
    lines += [f"  {name:<8}  {result[name]:.4f}" for name in METRICS]
    lines.append(f"  time: {result['timings']['total_s']:.1f} s")
    return lines


def _strict_json(value):
    """`value` with NaN/Inf floats as None (null), which strict JSON readers accept."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(result: dict, path: str) -> None:
    """Writes `result` atomically (a reader never sees half a file); NaN becomes null
    (e.g. the reverse KL when no sample is near any mode)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(_strict_json(result), f, indent=2, sort_keys=True, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


def main(argv) -> None:
    if len(argv) > 1:
        usage_error(f"unexpected arguments {argv[1:]}; use flags, e.g. --model DIR --dataset NAME")
    values = flags.FLAGS
    if values.probe:
        return _main_probe(values)
    try:
        result = evaluate_model(values.model, dataset=values.dataset,
                                num_samples=values.num_samples, feature_net=values.feature_net,
                                split=values.split, seed=values.seed, cache_dir=values.cache_dir,
                                data_dir=values.data_dir,
                                inception_weights=values.inception_weights)
    except EvaluateError as e:
        usage_error(str(e))
    except ValueError as e:  # e.g. a generator producing NaN: not a usage error.
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(1)
    print(format_table(result))
    path = values.json_out or default_json_path(result["model_dir"])
    try:
        write_json(result, path)
    except OSError as e:
        usage_error(f"cannot write {path}: {e.strerror or e}")
    print(f"Wrote {path}")


def _main_probe(values) -> None:
    try:
        result = probe_model(values.model, features=values.probe_features,
                             num_train=values.probe_train, num_test=values.probe_test,
                             seed=values.seed, l2=values.probe_l2, data_dir=values.data_dir)
    except EvaluateError as e:
        usage_error(str(e))
    except ValueError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(1)
    print(format_table(result))
    path = values.json_out or default_probe_json_path(result["model_dir"], result["features"])
    try:
        write_json(result, path)
    except OSError as e:
        usage_error(f"cannot write {path}: {e.strerror or e}")
    print(f"Wrote {path}")


def run() -> None:
    """Console entry point (`tfgan-evaluate`, `python -m tfgan_suite.evaluate`)."""
    run_main(main, define_flags)


if __name__ == "__main__":
    run()
