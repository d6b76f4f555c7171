#!/usr/bin/env python
"""Linear probes of learned features on Fashion-MNIST: trained vs untrained networks.

    python benchmarks/probe.py                     # train, export, probe, rewrite the table
    python benchmarks/probe.py --steps=5000 --probe_train=60000
    python benchmarks/probe.py --report_only       # the table from stored results

The DCGAN paper (section 5.1) reads a trained discriminator as a feature extractor; the
BiGAN paper's main result is its encoder's features. Both are measured by a linear
classifier fitted on the frozen features of labelled training images and scored on test
images, against the same architecture untrained. For each variant of --variants (dcgan,
bigan) the script:
  1. trains `train.py`'s run (the variant's defaults, --seed, --steps generator steps) and
     exports it with `--export_features` (D's pooled conv activations as `features`; bigan
     also has `encode`);
  2. exports the same networks untrained (`tfgan_suite.export --untrained`: the run's
     seed, step 0);
  3. probes each export with `tfgan_suite.evaluate --probe` (the same code, in-process):
     dcgan's `features`, trained and untrained; bigan's `encode` and `features`, trained
     and untrained; and the raw pixels as a reference row. --probe_train training images
     (a seeded subset of the 60,000) and --probe_test test images.
Each result is stored as JSON under --work_dir/results; a stored one is not recomputed,
so an interrupted benchmark resumes. The table goes between the `<!-- PROBE:BEGIN -->`
and `<!-- PROBE:END -->` markers of --readme with the machine, seed and budget.
"""

import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.pacgan_ring import machine_line  # noqa: E402
from tfgan_suite.cli_utils import parse_flags_or_exit, usage_error  # noqa: E402

BEGIN, END = "<!-- PROBE:BEGIN -->", "<!-- PROBE:END -->"
VARIANTS = ("dcgan", "bigan")
# (name, variant, signature, trained): one table row each, in this order.
ROWS = (
    ("pixels", None, "pixels", None),
    ("dcgan_features", "dcgan", "features", True),
    ("dcgan_features_untrained", "dcgan", "features", False),
    ("bigan_encode", "bigan", "encode", True),
    ("bigan_encode_untrained", "bigan", "encode", False),
    ("bigan_features", "bigan", "features", True),
    ("bigan_features_untrained", "bigan", "features", False),
)
DESCRIPTION = {
    "pixels": "raw pixels in [0, 1] (reference)",
    "dcgan_features": "dcgan D: pooled conv blocks, trained",
    "dcgan_features_untrained": "dcgan D: pooled conv blocks, untrained",
    "bigan_encode": "bigan encoder z = E(x), trained",
    "bigan_encode_untrained": "bigan encoder z = E(x), untrained",
    "bigan_features": "bigan D(x, z): x-path conv blocks, trained",
    "bigan_features_untrained": "bigan D(x, z): x-path conv blocks, untrained",
}

flags.DEFINE_list("variants", list(VARIANTS), f"variants to train, from: {', '.join(VARIANTS)}")
flags.DEFINE_integer("steps", 2000, "generator steps of each training run")
flags.DEFINE_integer("seed", 0, "seed of the training runs, the untrained networks and the "
                     "probes' subsets")
flags.DEFINE_integer("probe_train", 20000, "training images of each probe (a seeded subset "
                     "of the 60,000)")
flags.DEFINE_integer("probe_test", 10000, "test images of each probe (10,000: all)")
flags.DEFINE_float("probe_l2", None, "one L2 penalty for every probe (default: each probe "
                   "picks its own on 10 % of its training images, as evaluate --probe does)")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"], "XLA for training")
flags.DEFINE_string("work_dir", os.path.join(tempfile.gettempdir(), "tfgan_suite_probe"),
                    "where runs, exports and per-row JSON results are kept")
flags.DEFINE_string("readme", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "README.md"),
                    "markdown file whose PROBE markers receive the table ('' = print only)")
flags.DEFINE_bool("report_only", False, "train nothing: the table from stored results")
FLAGS = flags.FLAGS


def train_and_export(variant, *, steps, seed, jit_compile, work_dir):
    """Trains `variant` on fashion_mnist, exports it with D's features, then exports the
    untrained networks; returns {trained: path, untrained: path, train_s, settings}."""
    import keras

    from tfgan_suite import export, training

    run_dir = os.path.join(work_dir, "runs", variant)
    export_dir = os.path.join(work_dir, "saved_models")
    cfg = training.resolve_config(dict(
        variant=variant, dataset="fashion_mnist", steps=steps, seed=seed,
        jit_compile=jit_compile, run_dir=run_dir, export_dir=export_dir, export=True,
        export_features=True, checkpoint_every=steps, keep_checkpoints=1,
        sample_every=max(steps // 4, 1), log_every=50, eval_every=0))
    if os.path.isdir(run_dir):  # a run cut short: start it afresh
        shutil.rmtree(run_dir)
    keras.backend.clear_session()
    start = time.time()
    trained = training.train(cfg, verbose=0)
    train_s = time.time() - start
    keras.backend.clear_session()
    cfg0, data, model, step = training.restore(run_dir, untrained=True)
    untrained = export.export_run(model, cfg0, data, step, untrained=True)
    return dict(trained=trained.export_path, untrained=untrained, train_s=train_s,
                steps=steps, settings=json.loads(trained.config.to_json()))



def _read(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write(path, value):
    from tfgan_suite.evaluate import write_json

    write_json(value, path)


def markdown(results, runs):
    """The table of every stored row, with the budget and machine."""
    lines = ["| features | dim | l2 | test accuracy | train accuracy | probe time |",
             "|---|---:|---:|---:|---:|---:|"]
    first = None
    for name, *_ in ROWS:
        r = results.get(name)
        if r is None:
            lines.append(f"| {DESCRIPTION[name]} | | | not measured | | |")
            continue
        first = first or r
        lines.append(f"| {DESCRIPTION[name]} | {r['feature_dim']:,} | {r['l2']:g} | "
                     f"{100 * r['accuracy']:.2f} % | {100 * r['train_accuracy']:.2f} % | "
                     f"{r['timings']['total_s']:.0f} s |")
    penalty = ("l2 picked on 10 % of the probe's training images" if FLAGS.probe_l2 is None
               else f"one l2 = {FLAGS.probe_l2:g} for every row")
    out = [f"Linear probe (softmax regression on standardised features, {penalty}) on "
           "Fashion-MNIST, generated by "
           "`python benchmarks/probe.py"
           + (f" --steps={FLAGS.steps}" if FLAGS.steps != 2000 else "")
           + (f" --probe_train={FLAGS.probe_train}" if FLAGS.probe_train != 20000 else "")
           + (f" --probe_l2={FLAGS.probe_l2:g}" if FLAGS.probe_l2 is not None else "")
           + "`.", ""]
    if first is not None:
        out.append(f"Probe: {first['num_train']:,} training images (seeded subset, seed "
                   f"{first['seed']}) -> {first['num_test']:,} test images; chance 10 %.")
    for variant, run in sorted(runs.items()):
        s = run["settings"]
        out.append(f"`{variant}`: {run['steps']:,} generator steps, seed {s['seed']}, "
                   f"batch {s['batch_size']}, trained in {run['train_s'] / 60:.1f} min; "
                   "untrained row: the same networks at step 0 (the run's seed).")
    out += ["", *lines, "", f"Machine: {machine_line()}, shared with other sessions "
            "(timings are not speed measurements).", ""]
    return "\n".join(out)


def _same_protocol(result):
    """Whether a stored row was measured with this invocation's --probe_* settings."""
    picked = "validation_accuracy" in result
    return (result["num_train"] == min(FLAGS.probe_train, 60000)
            and result["num_test"] == min(FLAGS.probe_test, 10000)
            and result["seed"] == FLAGS.seed
            and (picked if FLAGS.probe_l2 is None else (not picked and result["l2"] == FLAGS.probe_l2)))


def write_readme(path, text):
    from tfgan_suite.files import atomic_write_text

    with open(path) as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"{path} has no {BEGIN} ... {END} section to write the table into")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(path, f"{head}{BEGIN}\n{text}{END}{tail}")


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments {argv[1:]}")
    unknown = sorted(set(FLAGS.variants) - set(VARIANTS))
    if unknown:
        usage_error(f"--variants: {unknown} not accepted; use from {', '.join(VARIANTS)}")
    from tfgan_suite.evaluate import probe_model

    work = FLAGS.work_dir
    results_dir = os.path.join(work, "results")
    os.makedirs(results_dir, exist_ok=True)
    runs = {}
    for variant in FLAGS.variants:
        path = os.path.join(results_dir, f"run_{variant}.json")
        run = _read(path)
        if run is None and not FLAGS.report_only:
            print(f"training {variant} for {FLAGS.steps} steps ...", flush=True)
            run = train_and_export(variant, steps=FLAGS.steps, seed=FLAGS.seed,
                                   jit_compile=FLAGS.jit_compile, work_dir=work)
            _write(path, run)
        if run is not None:
            runs[variant] = run
    results = {}
    for name, variant, signature, trained in ROWS:
        path = os.path.join(results_dir, f"{name}.json")
        result = _read(path)
        if result is not None and not FLAGS.report_only and not _same_protocol(result):
            result = None  # stored under other --probe_* settings: measure again
        source_run = runs.get(variant) if variant else next(iter(runs.values()), None)
        if result is None and not FLAGS.report_only and source_run is not None:
            model = source_run["trained" if trained in (True, None) else "untrained"]
            print(f"probing {name} ({model}) ...", flush=True)
            result = probe_model(model, features=signature, num_train=FLAGS.probe_train,
                                 num_test=FLAGS.probe_test, seed=FLAGS.seed,
                                 l2=FLAGS.probe_l2)
            _write(path, result)
            print(f"  {100 * result['accuracy']:.2f} %", flush=True)
        if result is not None:
            results[name] = result
    text = markdown(results, runs)
    print(text)
    if FLAGS.readme:
        write_readme(FLAGS.readme, text)
        print(f"Wrote the table to {FLAGS.readme}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags_or_exit)
