#!/usr/bin/env python
"""Sample quality of every registered variant after a fixed training budget.

    python benchmarks/quality.py                       # everything, then rewrite the tables
    python benchmarks/quality.py --datasets=ring8,grid25 --variants=wgan_gp,sngan
    python benchmarks/quality.py --image_steps=3000 --work_dir=/data/quality

For each dataset of --datasets (default `fashion_mnist` and `synthetic_recsys`; `ring8` and
`grid25` on request, one seed: `benchmarks/mixtures.py` is their protocol) and each variant of
--variants (default: every variant in the registry that makes images or points, i.e. all
but `irgan`), the script:
  1. trains `train.py`'s run with the variant's own defaults, --seed, and a fixed budget of
     generator steps (--image_steps on images, --points_steps on 2-D points), XLA as
     --jit_compile says;
  2. exports it and measures the SavedModel with `tfgan_suite.evaluate` (the same code as
     `python -m tfgan_suite.evaluate`): FID, KID, IS, precision and recall on
     --num_samples images against the test split, embedded by the shipped Fashion-MNIST
     classifier; modes covered, high-quality share and reverse KL on 2,500 points;
  3. stores the result as JSON in --work_dir/<dataset>/<variant>.json. A run whose JSON
     exists is not trained again, so an interrupted benchmark resumes where it stopped and
     the work can be split over several invocations.

The first row of each table is the real-data floor, measured with the same code: real
training images against the test split (images), or 2,500 points drawn from the mixture
itself (2-D). A run that diverges (NaN/Inf) is reported as such, not dropped.

IRGAN gets its own table on `synthetic_recsys` (from `benchmarks/irgan_quality.py`) when
`synthetic_recsys` is among --datasets.

At the end (or at once with --report_only), every stored result under --work_dir is
written as markdown tables between the `<!-- QUALITY:BEGIN -->` and `<!-- QUALITY:END -->`
markers of --readme (default `benchmarks/README.md`), with the budget, seed, sample counts
and machine stated.
"""

import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags, logging  # noqa: E402

from benchmarks.pacgan_ring import machine_line  # noqa: E402
from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error  # noqa: E402

IMAGE_DATASETS = ("fashion_mnist",)
POINT_DATASETS = ("ring8", "grid25")
RECSYS_DATASETS = ("synthetic_recsys",)
DATASETS = IMAGE_DATASETS + POINT_DATASETS + RECSYS_DATASETS
BEGIN, END = "<!-- QUALITY:BEGIN -->", "<!-- QUALITY:END -->"
FLOOR = "_real_data"  # file name of a dataset's floor row

flags.DEFINE_list("variants", None, "variants to train (default: every registered variant "
                  "except irgan, which has its own table)")
# The 2-D mixtures have their own multi-seed protocol benchmark (benchmarks/mixtures.py);
# here they are one seed at a fixed budget, on request.
flags.DEFINE_list("datasets", list(IMAGE_DATASETS + RECSYS_DATASETS),
                  f"datasets, from: {', '.join(DATASETS)}")
flags.DEFINE_integer("image_steps", 1000, "generator steps of each run on images")
flags.DEFINE_integer("points_steps", 3000, "generator steps of each run on 2-D points")
flags.DEFINE_integer("irgan_steps", 2000, "IRGAN's steps (and its MF baseline's)")
flags.DEFINE_integer("irgan_pretrain_steps", 1000, "IRGAN's MF pretraining steps")
flags.DEFINE_integer("num_samples", 10000, "generated and real images per image evaluation")
flags.DEFINE_integer("seed", 0, "seed of every training run and evaluation")
flags.DEFINE_enum("jit_compile", "true", ["auto", "true", "false"],
                  "XLA for the training runs, as for `train.py` (XLA is faster on the CPU "
                  "these tables were measured on; see the throughput table)")
flags.DEFINE_string("work_dir", os.path.join(tempfile.gettempdir(), "tfgan_suite_quality"),
                    "where runs, exports and per-run JSON results are kept")
flags.DEFINE_string("readme", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "README.md"),
                    "markdown file whose QUALITY markers receive the tables ('' = print only)")
flags.DEFINE_bool("retrain", False, "train again even when a run's JSON exists")
flags.DEFINE_bool("report_only", False, "train nothing: write the tables from the results "
                  "already stored under --work_dir")

FLAGS = flags.FLAGS


def default_variants():
    """Every registered variant that makes images or points (irgan ranks items)."""
    from tfgan_suite.variants import REGISTRY

    return [name for name in REGISTRY if name != "irgan"]


def result_path(work_dir, dataset, name):
    return os.path.join(work_dir, dataset, f"{name}.json")


def write_json(path, value):
    """Atomically, NaN as null: `tfgan_suite.evaluate`'s writer."""
    from tfgan_suite.evaluate import write_json as write_result

    write_result(value, path)


def train_and_evaluate(variant, dataset, *, steps, seed, jit_compile, num_samples, work_dir):
    """Trains one run with the variant's defaults and evaluates its export.

    Returns:
        The `tfgan_suite.evaluate` result dict plus `train_s`, `steps`, `settings` (the
        resolved config), or `{"diverged": message, ...}` for a run that diverged.
    """
    import keras

    from tfgan_suite import training
    from tfgan_suite.evaluate import evaluate_model

    run_dir = os.path.join(work_dir, dataset, "runs", variant)
    export_dir = os.path.join(work_dir, dataset, "saved_models")
    cfg = training.resolve_config(dict(
        variant=variant, dataset=dataset, steps=steps, seed=seed, jit_compile=jit_compile,
        run_dir=run_dir, export_dir=export_dir, export=True, checkpoint_every=steps,
        keep_checkpoints=1, sample_every=max(steps // 4, 1), log_every=10, eval_every=0))
    if os.path.isdir(run_dir):  # --retrain, or a run cut short: start it afresh
        shutil.rmtree(run_dir)
    keras.backend.clear_session()
    start = time.time()
    try:
        trained = training.train(cfg, verbose=0)
    except training.Diverged as e:
        return {"variant": variant, "dataset": dataset, "diverged": str(e), "seed": seed,
                "train_s": time.time() - start, "steps": steps}
    train_s = time.time() - start
    # 2-D data: evaluate's default of 2,500 points (the VEEGAN/PacGAN protocol).
    result = evaluate_model(trained.export_path, seed=seed,
                            num_samples=num_samples if dataset in IMAGE_DATASETS else None)
    result.update(train_s=train_s, steps=steps, settings=json.loads(trained.config.to_json()))
    return result


def real_data_floor(dataset, *, num_samples, seed):
    """The metrics of real data measured as if it were a generator's output."""
    import numpy as np

    from tfgan_suite.data import MIXTURES, load
    from tfgan_suite.metrics import evaluation, feature_nets, reference
    from tfgan_suite.metrics.modes import mode_metrics

    if dataset in POINT_DATASETS:
        # Points drawn from the mixture itself, with a seed the training data does not use.
        points = load(dataset, seed=seed + 1).x[:evaluation.DEFAULT_POINT_SAMPLES]
        means, std = MIXTURES[dataset]
        min_count = evaluation.MODE_MIN_COUNT.get(dataset, 1)
        metrics = mode_metrics(points, means, std, min_count=min_count)
        return dict(metrics, kind="points", dataset=dataset, num_modes=int(means.shape[0]),
                    min_count=min_count, num_samples=int(points.shape[0]),
                    source=f"{points.shape[0]} points drawn from the {dataset} mixture")
    train = load(dataset, split="train")
    net = feature_nets.get("auto", train.x.shape[1:])
    ref = reference.reference_statistics(dataset, "test", net, num_samples,
                                         image_shape=train.x.shape[1:])
    count = min(num_samples, train.x.shape[0])
    rows = reference.select_subset(train.x.shape[0], count)
    features, probs = net(train.x[np.sort(rows)])
    metrics = evaluation.image_metrics(features, probs, ref, seed=seed)
    return dict(metrics, kind="image", dataset=dataset, num_samples=int(count),
                reference_samples=ref.size, feature_net=net.info,
                source=f"{count:,} training images against {ref.size:,} test images")


def load_results(work_dir, dataset):
    """{name: result} of every stored JSON of `dataset` (the floor under FLOOR)."""
    folder = os.path.join(work_dir, dataset)
    results = {}
    if os.path.isdir(folder):
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(".json"):
                with open(os.path.join(folder, entry)) as f:
                    results[entry[:-5]] = json.load(f)
    return results


def _fmt(value, spec):
    if value is None or (isinstance(value, float) and value != value):
        return "nan"
    return format(value, spec)


def _duration(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def table(header, floor_cells, cells, results, order):
    """Markdown rows: the header, the floor (when stored), then one row per variant run.

    Args:
        header: column names after `variant` and `steps`, the last being `train time`.
        floor_cells: result -> the floor row's metric cells.
        cells: result -> a run's metric cells.
    """
    lines = ["| variant | steps | " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) + 1)]
    floor = results.get(FLOOR)
    if floor:
        lines.append(f"| {floor_cells.__doc__} | — | " + " | ".join(floor_cells(floor))
                     + " | — |")
    for name in order:
        r = results.get(name)
        if r is None:
            continue
        if "diverged" in r:
            row = [f"diverged: {r['diverged']}"] + [""] * (len(header) - 2)
        else:
            row = cells(r)
        lines.append(f"| {name} | {r['steps']} | " + " | ".join(row)
                     + f" | {_duration(r['train_s'])} |")
    return lines


def image_table(results, order):
    def floor(r):
        """real data (train vs test)"""
        return [_fmt(r["fid"], ".2f"), _fmt(r["kid_mean"], ".3g"), _fmt(r["is_mean"], ".2f"),
                _fmt(r["precision"], ".3f"), _fmt(r["recall"], ".3f")]

    def run(r):
        return [_fmt(r["fid"], ".2f"),
                f"{_fmt(r['kid_mean'], '.3g')} ± {_fmt(r['kid_std'], '.2g')}",
                _fmt(r["is_mean"], ".2f"), _fmt(r["precision"], ".3f"),
                _fmt(r["recall"], ".3f")]

    return table(["FID ↓", "KID ↓", "IS ↑", "precision ↑", "recall ↑", "train time"],
                 floor, run, results, order)


def points_table(results, order):
    def floor(r):
        """real data (mixture draw)"""
        return run(r)

    def run(r):
        return [f"{r['modes_covered']} / {r['num_modes']}",
                f"{100 * r['high_quality_fraction']:.1f} %",
                # KL of an empty histogram is undefined (evaluate reports NaN).
                _fmt(r["reverse_kl"], ".4f").replace("nan", "— (no sample near a mode)")]

    return table(["modes covered ↑", "high-quality samples ↑", "reverse KL ↓", "train time"],
                 floor, run, results, order)


def recsys_table(result):
    from benchmarks.irgan_quality import markdown_table

    return markdown_table([(row["name"], row["metrics"], row["seconds"])
                           for row in result["rows"]]).splitlines()



def markdown(work_dir, order):
    """All stored results as markdown, one section per dataset that has any."""
    out = []
    for dataset in DATASETS:
        results = load_results(work_dir, dataset)
        if not results:
            continue
        if dataset in RECSYS_DATASETS:
            r = results.get("irgan")
            if r is None:
                continue
            out += [f"### {dataset} (irgan)", "",
                    f"P@k and NDCG@k on the test split (training positives not ranked); "
                    f"{r['steps']} steps, {r['pretrain_steps']} of them MF pretraining; "
                    f"seed {r['seed']}.", ""]
            out += recsys_table(r) + [""]
            continue
        runs = [r for name, r in results.items() if name != FLOOR]
        steps = sorted({r["steps"] for r in runs})
        if dataset in IMAGE_DATASETS:
            floor = results.get(FLOOR, {})
            net = floor.get("feature_net", {})
            samples = sorted({r.get("num_samples") for r in runs if "num_samples" in r})
            out += [f"### {dataset}", "",
                    f"Each variant with its own defaults for {', '.join(map(str, steps))} "
                    f"generator steps (batch 64, seed {runs[0].get('seed', 0) if runs else 0}); "
                    f"{', '.join(f'{n:,}' for n in samples)} generated images against "
                    f"{floor.get('reference_samples', 0):,} test images, embedded by "
                    f"{net.get('name', '?')} ({net.get('feature_dim', '?')}-d features; "
                    f"IS from its softmax). KID is mean ± std over 100 subsets of 1,000.",
                    ""]
            out += image_table(results, order) + [""] + missing_line(results, order)
        else:
            # The rule the stored runs were measured with (it changed for grid25: 20 -> 1).
            min_counts = (sorted({r["min_count"] for r in runs if "min_count" in r})
                          or [evaluation_min_count(dataset)])
            out += [f"### {dataset}", "",
                    f"Each variant with its own defaults (and its 2-D defaults where it has them) for "
                    f"{', '.join(map(str, steps))} generator steps; 2,500 samples; a mode is "
                    f"covered with >= {' or '.join(map(str, min_counts))} high-quality samples "
                    f"(within 3 std of its mean).", ""]
            out += points_table(results, order) + [""] + missing_line(results, order)
    return "\n".join(out).rstrip() + "\n"


def missing_line(results, order):
    """A line naming the variants with no stored result yet (none: no line)."""
    missing = [name for name in order if name not in results]
    return [f"Not measured yet: {', '.join(missing)}.", ""] if missing else []


def evaluation_min_count(dataset):
    from tfgan_suite.metrics.evaluation import MODE_MIN_COUNT

    return MODE_MIN_COUNT.get(dataset, 1)


def write_readme(path, text):
    with open(path) as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"{path} has no {BEGIN} ... {END} section to write the tables into")
    from tfgan_suite.files import atomic_write_text

    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(path, f"{head}{BEGIN}\n{text}{END}{tail}")


def run_irgan(work_dir, *, steps, pretrain_steps, seed):
    from benchmarks.irgan_quality import irgan_quality

    start = time.time()
    rows = irgan_quality(steps=steps, pretrain_steps=pretrain_steps, seed=seed)
    return {"steps": steps, "pretrain_steps": pretrain_steps, "seed": seed,
            "total_s": time.time() - start,
            "rows": [{"name": n, "metrics": m, "seconds": s} for n, m, s in rows]}


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from tfgan_suite.variants import REGISTRY

    order = default_variants()
    variants = FLAGS.variants or order
    unknown = [v for v in variants if v not in REGISTRY]
    if unknown:
        usage_error(f"--variants: unknown {', '.join(unknown)}; accepted: {', '.join(order)}")
    if "irgan" in variants:
        usage_error("--variants: irgan ranks items; it is measured on synthetic_recsys when "
                    "--datasets includes it")
    bad = [d for d in FLAGS.datasets if d not in DATASETS]
    if bad:
        usage_error(f"--datasets: unknown {', '.join(bad)}; accepted: {', '.join(DATASETS)}")
    for name in ("image_steps", "points_steps", "irgan_steps"):
        if getattr(FLAGS, name) < 1:
            usage_error(f"--{name} must be >= 1, got {getattr(FLAGS, name)}")

    work_dir = FLAGS.work_dir
    for dataset in [] if FLAGS.report_only else FLAGS.datasets:
        if dataset in RECSYS_DATASETS:
            path = result_path(work_dir, dataset, "irgan")
            if FLAGS.retrain or not os.path.exists(path):
                print(f"[quality] irgan on {dataset}: {FLAGS.irgan_steps} steps", flush=True)
                write_json(path, run_irgan(work_dir, steps=FLAGS.irgan_steps,
                                           pretrain_steps=FLAGS.irgan_pretrain_steps,
                                           seed=FLAGS.seed))
            continue
        floor_path = result_path(work_dir, dataset, FLOOR)
        if FLAGS.retrain or not os.path.exists(floor_path):
            print(f"[quality] real-data floor of {dataset}", flush=True)
            write_json(floor_path, real_data_floor(dataset, num_samples=FLAGS.num_samples,
                                                   seed=FLAGS.seed))
        steps = FLAGS.image_steps if dataset in IMAGE_DATASETS else FLAGS.points_steps
        for variant in variants:
            path = result_path(work_dir, dataset, variant)
            if os.path.exists(path) and not FLAGS.retrain:
                with open(path) as f:
                    if json.load(f).get("steps") == steps:
                        continue
            print(f"[quality] {variant} on {dataset}: {steps} steps "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
            result = train_and_evaluate(variant, dataset, steps=steps, seed=FLAGS.seed,
                                        jit_compile=FLAGS.jit_compile,
                                        num_samples=FLAGS.num_samples, work_dir=work_dir)
            write_json(path, result)
            summary = result.get("diverged") or ", ".join(
                f"{k}={result[k]:.4g}" for k in ("fid", "precision", "recall", "modes_covered",
                                                 "high_quality_fraction", "reverse_kl")
                if k in result)
            print(f"[quality]   {summary} ({_duration(result['train_s'])} training)",
                  flush=True)

    text = markdown(work_dir, order)
    text += f"\nMachine: {machine_line()}.\n"
    print(text)
    if FLAGS.readme:
        write_readme(FLAGS.readme, text)
        print(f"[quality] tables written to {FLAGS.readme}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags_or_exit)
