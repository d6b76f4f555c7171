#!/usr/bin/env python
"""FID against training steps, raw generator and its EMA, for every image variant.

    python benchmarks/fid_curves.py                          # every image variant, 10,000 steps
    python benchmarks/fid_curves.py --variants=dcgan,sngan --steps=20000
    python benchmarks/fid_curves.py --report_only            # table and plot from stored runs
    python benchmarks/fid_curves.py --variants=wgan,wgan_gp --overrides=g_norm=none \
        --results_dir=benchmarks/results/g_norm_none --markers=G_NORM_NONE   # WGAN-GP sec. 5

Why: a single FID at a fixed budget says little when FID is still falling; a row counts as
converged only when its curve has flattened. For each variant of --variants this trains
`train.py`'s run on `fashion_mnist` with the variant's own defaults, --seed, and a
generator EMA (--ema_decay, from --ema_start), with `--eval_every` evaluations on
--eval_samples samples (FID in the shipped Fashion-MNIST classifier's features, against
the training images, the training run's own `eval/fid@N` and `eval_ema/fid@N` curves, read
back from its TensorBoard events). At the end both generators are exported and measured
exactly as `python -m tfgan_suite.evaluate` measures an export (--final_samples samples
against the test split): the converged row, with EMA off (the raw G) and on.

Whether FID "has stopped falling" is decided from the curve: the best FID of the last
third of the evaluations against the best before it; a fall of less than
--flat_tolerance (default 5 %) counts as flat. Anything else is reported as still falling,
with its fall, so a budget that was too short shows as such.

Runs live under --work_dir/runs/<variant> (an interrupted run resumes there); each
variant's result is JSON in --results_dir/<variant>.json (committed, so --report_only
redraws everything). A stored result of the same --steps and --seed is not trained again;
a larger --steps trains on from the stored run's last checkpoint in --work_dir. The table goes between the FID_CURVES markers of --readme and the
plot (one panel per variant, FID on a log scale) to --plot.

Each run also keeps one training scalar from its TensorBoard events (SIGNALS: `wgan`'s
critic estimate `train/wasserstein`, `began`'s `train/m_global`, every other variant's
`train/d_loss`) and reports its Spearman rank correlation with G's FID over the curve's
evaluations, the scalar averaged over each evaluation interval (`curves.signal_correlation`):
the WGAN and BEGAN papers' claim that their scalar tracks sample quality, against a GAN's D
loss, which should not. That table goes between the FID_CURVES_RHO markers (--markers),
the plot (FID and the scalar on two axes) to <--plot>_signals.png. Conditional runs (`cgan`)
add the classifier's accuracy on G(z, y) per requested class, raw G and EMA, between the
FID_CURVES_LABELS markers.
"""

import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # noqa: E402

from benchmarks.curves import (  # noqa: E402
    flatness, label_table, parse_overrides, read_curves, read_scalars, run_name,
    signal_correlation, stored_record_stands, write_section)
from benchmarks.pacgan_ring import cpu_model  # noqa: E402

DATASET = "fashion_mnist"
# The training scalar each variant's paper says tracks sample quality (WGAN's critic
# estimate of the Wasserstein distance, figures 3-4; BEGAN's convergence measure M_global,
# section 3.4); every other variant's D loss, which for a GAN is not expected to.
SIGNALS = {"wgan": "train/wasserstein", "wgan_gp": "train/wasserstein",
           "began": "train/m_global"}
DEFAULT_SIGNAL = "train/d_loss"

flags.DEFINE_list("variants", None, "image variants (default: every registered variant "
                  "that makes images)")
flags.DEFINE_integer("steps", 10000, "generator steps per run")
flags.DEFINE_integer("eval_every", 1000, "steps between curve points")
flags.DEFINE_integer("eval_samples", 2000, "samples per curve point")
flags.DEFINE_integer("final_samples", 10000, "samples of the final measurement of each export")
flags.DEFINE_float("ema_decay", 0.999, "generator EMA decay of every run")
flags.DEFINE_integer("ema_start", 1000, "step from which the EMA averages")
flags.DEFINE_float("flat_tolerance", 0.05, "largest relative fall of the best FID in the "
                   "last third of the curve that still counts as flat")
flags.DEFINE_integer("seed", 0, "seed of every run and evaluation")
flags.DEFINE_string("jit_compile", "auto", "as train.py's --jit_compile")
flags.DEFINE_integer("threads", 0, "TensorFlow threads (0 = its default)")
flags.DEFINE_string("work_dir", os.path.join(tempfile.gettempdir(), "tfgan_suite_fid_curves"),
                    "training runs and exports")
flags.DEFINE_string("results_dir", os.path.join(ROOT, "benchmarks", "results", "fid_curves"),
                    "per-variant JSON results")
flags.DEFINE_string("readme", os.path.join(ROOT, "benchmarks", "README.md"),
                    "markdown file whose FID_CURVES markers receive the table ('' = print)")
flags.DEFINE_string("plot", os.path.join(ROOT, "benchmarks", "fid_curves.png"),
                    "where the plot goes ('' = no plot)")
flags.DEFINE_string("markers", "FID_CURVES", "name of the --readme markers: the table goes "
                    "between <!-- NAME:BEGIN/END -->, the correlation table between "
                    "<!-- NAME_RHO:BEGIN/END --> (another name keeps a second set of runs, "
                    "with its own --results_dir and --plot, apart)")
flags.DEFINE_list("overrides", [], "KEY=VALUE settings applied to every run on top of the "
                  "variant's defaults (e.g. g_norm=none); each run is then named "
                  "VARIANT+KEY=VALUE, so its results sit beside the plain runs")
flags.DEFINE_bool("report_only", False, "train nothing: table and plot from stored results")
FLAGS = flags.FLAGS


def image_variants():
    from tfgan_suite.variants import REGISTRY

    return [name for name, spec in REGISTRY.items() if "image" in spec.model.data_kinds]


def run_variant(variant, overrides=None, name=None):
    """Trains (or resumes) one run, exports raw and EMA generators, measures both."""
    import dataclasses

    import keras

    from tfgan_suite import training
    from tfgan_suite.evaluate import evaluate_model

    name = name or variant
    run_dir = os.path.join(FLAGS.work_dir, "runs", name)
    cfg = training.resolve_config(dict(
        overrides or {}, variant=variant, dataset=DATASET, steps=FLAGS.steps, seed=FLAGS.seed,
        ema_decay=FLAGS.ema_decay, ema_start=FLAGS.ema_start, eval_every=FLAGS.eval_every,
        eval_samples=FLAGS.eval_samples, jit_compile=FLAGS.jit_compile, run_dir=run_dir,
        checkpoint_every=FLAGS.eval_every, keep_checkpoints=2, export=False))
    keras.backend.clear_session()
    start = time.time()
    try:
        result = training.train(cfg, verbose=2)
    except training.Diverged as e:
        return dict(variant=variant, name=name, diverged=str(e), train_s=time.time() - start)
    train_s = time.time() - start
    signal = SIGNALS.get(variant, DEFAULT_SIGNAL)
    record = dict(variant=variant, name=name, overrides=overrides or {}, dataset=DATASET,
                  steps=result.step, seed=FLAGS.seed, eval_every=FLAGS.eval_every, signal=signal,
                  train=read_scalars(run_dir, (signal,)),
                  ema_decay=FLAGS.ema_decay, ema_start=FLAGS.ema_start,
                  eval_samples=FLAGS.eval_samples, final_samples=FLAGS.final_samples,
                  train_s=train_s, curves=read_curves(run_dir), final={})
    for generator, export_ema in (("raw", False), ("ema", True)):
        export_cfg = dataclasses.replace(
            result.config, export_ema=export_ema,
            export_dir=os.path.join(FLAGS.work_dir, "saved_models", generator))
        path = result.model.export(export_cfg, _data(), result.step)
        measured = evaluate_model(path, num_samples=FLAGS.final_samples, seed=FLAGS.seed)
        record["final"][generator] = {k: measured.get(k) for k in (
            "fid", "kid_mean", "precision", "recall", "density", "coverage", "label_accuracy",
            "label_accuracy_per_class") if measured.get(k) is not None}
    record.update(cpu=cpu_model(), cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d"),
                  settings={k: v for k, v in result.config.settings().items()
                            if k not in ("run_dir", "export")})
    return record


_DATA = {}


def _data():
    """Fashion-MNIST as training loads it (for the export's metadata), loaded once."""
    if "fashion_mnist" not in _DATA:
        from tfgan_suite import data as data_lib

        _DATA["fashion_mnist"] = data_lib.load(DATASET, seed=FLAGS.seed)
    return _DATA["fashion_mnist"]


def load_results(results_dir):
    out = {}
    if os.path.isdir(results_dir):
        for name in sorted(os.listdir(results_dir)):
            if name.endswith(".json"):
                with open(os.path.join(results_dir, name)) as f:
                    record = json.load(f)
                out[record.get("name", record["variant"])] = record
    return out


def _curve(record, prefix):
    return next((points for tag, points in record.get("curves", {}).items()
                 if tag.startswith(prefix + "/fid@")), [])


def table(results, tolerance):
    """The markdown table: per variant, final FID raw and EMA, best curve point, flatness."""
    lines = ["| variant | steps | FID raw | FID EMA | best curve FID (step) | curve flat? "
             "| precision / recall (EMA) | train time |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    for name, r in sorted(results.items()):
        if "diverged" in r:
            lines.append(f"| `{name}` | - | diverged | - | - | - | - | "
                         f"{r['train_s'] / 60:.0f} min |")
            continue
        cells = []
        for generator in ("raw", "ema"):
            fid = r["final"].get(generator, {}).get("fid")
            cells.append(f"{fid:.1f}" if fid is not None else "-")
        best = []
        verdicts = []
        for prefix, label in (("eval", "raw"), ("eval_ema", "EMA")):
            curve = [(s, v) for s, v in _curve(r, prefix) if math.isfinite(v)]
            if curve:
                step, value = min(curve, key=lambda p: p[1])
                best.append(f"{label} {value:.1f} ({step:,})")
            state = flatness(_curve(r, prefix), tolerance)
            if state is not None:
                verdicts.append(f"{label}: " + ("flat" if state[0] else
                                                f"falling ({state[1]:.0%})"))
        ema = r["final"].get("ema", {})
        pr = (f"{ema['precision']:.2f} / {ema['recall']:.2f}" if "precision" in ema else "-")
        every = f" (every {r['eval_every']:,})" if "eval_every" in r else ""
        lines.append(f"| `{name}` | {r['steps']:,}{every} | {cells[0]} | {cells[1]} | "
                     f"{'; '.join(best) or '-'} | {'; '.join(verdicts) or '-'} | {pr} | "
                     f"{r['train_s'] / 60:.0f} min |")
    return "\n".join(lines)


def signal_table(results):
    """Per variant with a stored training scalar: its rank correlation with the raw G's FID
    over the curve's evaluations (the scalar averaged over each evaluation interval)."""
    lines = ["| variant | training scalar | evaluations | Spearman ρ with FID | steps |",
             "|---|---|---:|---:|---:|"]
    for name, r in sorted(results.items()):
        if not r.get("train") or r.get("signal") not in r["train"]:
            continue
        rho, n = signal_correlation(r["train"][r["signal"]], _curve(r, "eval"))
        rho_text = f"{rho:+.2f}" if rho is not None else "-"
        lines.append(f"| `{name}` | `{r['signal']}` | {n} | {rho_text} | {r['steps']:,} |")
    return "\n".join(lines)


def plot_signals(results, path):
    """One panel per variant with a stored training scalar: FID and the scalar against
    steps, on two y axes."""
    names = [n for n, r in sorted(results.items())
             if r.get("train") and r.get("signal") in r["train"] and _curve(r, "eval")]
    if not names:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes.flat, names):
        r = results[name]
        curve = [(s, v) for s, v in _curve(r, "eval") if math.isfinite(v)]
        ax.plot(*zip(*curve), "-", marker=".", color="C0", label="FID (G)")
        ax.set_yscale("log")
        ax.set_ylabel("FID", fontsize=8, color="C0")
        twin = ax.twinx()
        twin.plot(*zip(*r["train"][r["signal"]]), "-", color="C1", alpha=0.6, linewidth=0.8)
        twin.set_ylabel(r["signal"], fontsize=8, color="C1")
        rho, n = signal_correlation(r["train"][r["signal"]], curve)
        ax.set_title(f"{name}: ρ = {rho:+.2f} over {n}" if rho is not None else name,
                     fontsize=9)
        ax.set_xlabel("generator steps", fontsize=8)
        ax.tick_params(labelsize=7)
        twin.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")


def machine_line(results):
    records = [r for r in results.values() if "cpu" in r]
    cpus = sorted({f"{r['cpu']} ({r['cpus']} logical CPUs)" for r in records})
    dates = sorted({r["date"] for r in records})
    first = records[0] if records else {}
    return (f"Measured on {'; '.join(cpus) or '-'}, {', '.join(dates) or '-'}; seed "
            f"{first.get('seed', '-')}, EMA decay {first.get('ema_decay', '-')} from step "
            f"{first.get('ema_start', '-')}; curve points every 1,000 steps unless the steps "
            f"column says otherwise, on "
            f"{first.get('eval_samples', '-'):,} samples against the training images; final "
            f"FID on {first.get('final_samples', '-'):,} samples against the test split "
            "(the shipped classifier's features); flat = the best FID of the curve's last "
            f"third within {FLAGS.flat_tolerance:.0%} of the best before it.")


def plot(results, path):
    """One panel per variant: FID (log scale) against steps, raw G and its EMA."""
    try:
        import matplotlib
    except ImportError:
        print("note: matplotlib is not installed (pip install matplotlib); no plot written",
              file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, r in sorted(results.items()) if r.get("curves")]
    if not names:
        return
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False,
                             sharex=True)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        for prefix, label, style in (("eval", "G", "-"), ("eval_ema", "EMA of G", "--")):
            curve = [(s, v) for s, v in _curve(results[name], prefix) if math.isfinite(v)]
            if curve:
                ax.plot(*zip(*curve), style, marker=".", label=label)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.supxlabel("generator steps", fontsize=9)
    fig.supylabel("FID (classifier features, log scale)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")


def report(results):
    body = machine_line(results) + "\n\n" + table(results, FLAGS.flat_tolerance)
    print(body)
    signals = signal_table(results)
    print(signals)
    labels = label_table(results)
    print(labels)
    if FLAGS.readme:
        try:
            write_section(FLAGS.readme, FLAGS.markers, body, required=True)
        except ValueError as e:
            raise app.UsageError(str(e))
        write_section(FLAGS.readme, FLAGS.markers + "_RHO", signals, required=False)
        if labels:
            write_section(FLAGS.readme, FLAGS.markers + "_LABELS", labels, required=False)
    if FLAGS.plot:
        plot(results, FLAGS.plot)
        plot_signals(results, os.path.splitext(FLAGS.plot)[0] + "_signals.png")


def main(argv):
    del argv
    from tfgan_suite import variants as variants_lib

    names = FLAGS.variants or image_variants()
    for name in names:
        if "image" not in variants_lib.get(name).model.data_kinds:
            raise app.UsageError(f"--variants: {name} does not make images; use one of "
                                 f"{', '.join(image_variants())}")
    if FLAGS.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    try:
        overrides = parse_overrides(FLAGS.overrides)
    except ValueError as e:
        raise app.UsageError(str(e))
    if not FLAGS.report_only:
        os.makedirs(FLAGS.results_dir, exist_ok=True)
        for variant in names:
            name = run_name(variant, FLAGS.overrides)
            path = os.path.join(FLAGS.results_dir, f"{name}.json")
            if os.path.exists(path):
                with open(path) as f:
                    stored = json.load(f)
                reason = stored_record_stands(stored, FLAGS.steps, FLAGS.seed)
                if reason:
                    print(f"{name}: {reason}", flush=True)
                    continue
                print(f"{name}: the stored record has {stored.get('steps')} steps; training "
                      f"on to {FLAGS.steps} (resumes from {FLAGS.work_dir})", flush=True)
            record = run_variant(variant, overrides, name)
            with open(path + ".tmp", "w") as f:
                json.dump(record, f, indent=1)
            os.replace(path + ".tmp", path)
            print(f"{name}: {json.dumps(record.get('final') or record.get('diverged'))}",
                  flush=True)
    report(load_results(FLAGS.results_dir))


if __name__ == "__main__":
    app.run(main)
