#!/usr/bin/env python
"""The 2-D mixture protocol of PacGAN and VEEGAN, over seeds, for every variant.

    python benchmarks/mixtures.py                               # every variant, 5 seeds
    python benchmarks/mixtures.py --variants=nsgan,wgan_gp --datasets=ring8 --seeds=10
    python benchmarks/mixtures.py --setting=pacgan_paper --variants=nsgan
    python benchmarks/mixtures.py --search --variants=lsgan     # the documented grid
    python benchmarks/mixtures.py --report_only                 # rewrite the tables

Each run is what `python train.py --variant=V --dataset=D --seed=S` trains (the variant's
own 2-D defaults, see `config.defaults_for`), with the overrides of --setting (a name from
SETTINGS, "default" = none), trained in this process with export off. Its generator is
then measured exactly as `python -m tfgan_suite.evaluate` measures the export (z drawn as
the `sample` signature draws it, `evaluation.keras_sampler`): 2,500 samples, modes covered
(`metrics/modes.py`: ring8 counts a mode with one high-quality sample, grid25 with 20),
the share of high-quality samples (< 3 std from the nearest mode) and the reverse KL of
the mode histogram (benchmarks/PROTOCOL_2D.md). A run is stored as JSON in
--work_dir/<dataset>/<setting>/<variant>/seed<S>.json and not trained again; the default
--work_dir, benchmarks/results/mixtures, is committed, so `--report_only` rebuilds the
tables from the runs behind them (delete a folder there, or pass another --work_dir, to
train again).

A row already in the --readme tables whose runs are not under --work_dir (the first
tables' per-run files were not kept) is carried over as it stands, marked with a dagger,
until a run of the same dataset, setting and variant replaces it.

The tables (mean ± standard error over the seeds, wall seconds per run, and whether the
mean reaches the issue's targets: PacGAN's plain-GAN row, ring8 >= 6.3/8 modes with >= 90 %
high quality, grid25 >= 17.3/25 with >= 90 %) go between the MIXTURES markers of --readme;
runs of other settings go to the search table between the MIXTURES_SEARCH markers.

--search runs, for each variant of --variants, every setting of SEARCH_GRID (the grid the
defaults were chosen from) that applies to it, over --seeds seeds.

--threads=N limits TensorFlow to N threads per process (with two benchmark processes on a
2-core machine, 1 each); wall times are then per process and say so.
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

from benchmarks.curves import mean_se  # noqa: E402
from benchmarks.mixture_records import DATASETS, load_records  # noqa: E402
from benchmarks.pacgan_ring import PAPER_SETTINGS, cpu_model  # noqa: E402

BEGIN, END = "<!-- MIXTURES:BEGIN -->", "<!-- MIXTURES:END -->"
SEARCH_BEGIN, SEARCH_END = "<!-- MIXTURES_SEARCH:BEGIN -->", "<!-- MIXTURES_SEARCH:END -->"
SUMMARY_BEGIN, SUMMARY_END = ("<!-- MIXTURES_SUMMARY:BEGIN -->",
                              "<!-- MIXTURES_SUMMARY:END -->")
# The targets, per dataset: (modes, high-quality share), PacGAN's plain-GAN row with
# the share lowered to 90 %, and the best setting's (beyond PacGAN4).
TARGETS = {"ring8": (6.3, 0.90), "grid25": (17.3, 0.90)}
BEST_TARGETS = {"ring8": (8.0, 0.98), "grid25": (25.0, 0.95)}

# Named overrides of the plain command's settings. "default" is the plain command.
SETTINGS = {
    "default": {},
    # The PacGAN authors' networks and optimiser (PROTOCOL_2D.md), at the suite's 2-D budget.
    "pacgan_paper": {k: v for k, v in PAPER_SETTINGS.items() if k != "variant"},
    # PacGAN packing on top of the variant's defaults (variants whose D packs).
    "pack_4": dict(pack=4),
}
# The grid the 2-D defaults were chosen from (each on top of the variant's defaults).
SEARCH_GRID = {
    # Stages 1-3 pin width and decay, which were the defaults of their time (the 2-D
    # defaults became width 128 with a linear decay after stage 3), so they rerun as run.
    # Stage 1, on nsgan: learning rate, batch, latent size, width and a linear decay.
    "lr1e-3_b256_z2": dict(g_lr=1e-3, d_lr=1e-3, batch_size=256, latent_dim=2, width=64,
                           lr_decay="none"),
    "lr1e-3_b256_z2_decay": dict(g_lr=1e-3, d_lr=1e-3, batch_size=256, latent_dim=2,
                                 width=64, lr_decay="linear"),
    "lr1e-3_b256_z2_w128": dict(g_lr=1e-3, d_lr=1e-3, batch_size=256, latent_dim=2,
                                width=128, lr_decay="none"),
    "lr1e-3_b256_z2_w128_decay": dict(g_lr=1e-3, d_lr=1e-3, batch_size=256, latent_dim=2,
                                      width=128, lr_decay="linear"),
    # Stage 2, on nsgan and grid25 (ring8 is solved by stage 1): budget, batch, rate.
    "lr1e-3_b256_z2_40k": dict(g_lr=1e-3, d_lr=1e-3, batch_size=256, latent_dim=2,
                               width=64, lr_decay="none", steps=40000),
    "lr1e-3_b512_z2": dict(g_lr=1e-3, d_lr=1e-3, batch_size=512, latent_dim=2, width=64,
                           lr_decay="none"),
    "lr2e-3_b256_z2": dict(g_lr=2e-3, d_lr=2e-3, batch_size=256, latent_dim=2, width=64,
                           lr_decay="none"),
    # Stage 3, grid25: width 128 with the decay, at smaller (cheaper) batches. The second
    # became the shared 2-D default (config.POINTS_DEFAULTS).
    "lr1e-3_b128_z2_w128_decay": dict(g_lr=1e-3, d_lr=1e-3, batch_size=128, latent_dim=2,
                                      width=128, lr_decay="linear"),
    "lr1e-3_b64_z2_w128_decay": dict(g_lr=1e-3, d_lr=1e-3, batch_size=64, latent_dim=2,
                                     width=128, lr_decay="linear"),
    # Stage 4, per variant, on top of those shared 2-D defaults: one critic update per
    # step (sngan, wgan_gp, wgan, mcgan train 5), the penalty weight (dragan), the
    # clipping bound (wgan, mcgan), the papers' rates (began), other rates (bigan), a
    # narrower code (began) and the generator EMA (its export is what is measured).
    "d_steps1": dict(d_steps=1),
    "gp_weight1": dict(gp_weight=1.0),
    "gp_weight0.1": dict(gp_weight=0.1),
    "clip0.1_d_steps1": dict(clip_value=0.1, d_steps=1),
    "paper_rates": dict(g_lr=5e-5, d_lr=5e-5, lr_decay="none"),
    "lr3e-4": dict(g_lr=3e-4, d_lr=3e-4),
    "lr1e-4": dict(g_lr=1e-4, d_lr=1e-4),
    "began_hidden1": dict(began_hidden=1),
    "ema0.999": dict(ema_decay=0.999),
    # Stage 5, grid25, for the variants that missed its row with the stage-4 defaults: a
    # longer budget (the linear decay then falls more slowly) for those that cover most
    # modes below 90 % high quality; EBGAN's margin (in squared error per coordinate, and
    # grid points lie 4 times as far out as ring points) and its pull-away term; a wider
    # clipping bound for the clipped critics.
    "steps40k": dict(steps=40000),
    "margin0.05": dict(ebgan_margin=0.05),
    "margin1": dict(ebgan_margin=1.0),
    "pt0": dict(pt_weight=0.0),
    "clip0.5_d_steps1": dict(clip_value=0.5, d_steps=1),
    "clip0.5_d_steps1_40k": dict(clip_value=0.5, d_steps=1, steps=40000),
    # Stage 6, grid25, for the hinge-loss variants that cover most modes below 90 % high
    # quality: the shared Adam moments in place of sngan's (0, 0.9), and twice the width
    # (steeper transitions of G between neighbouring modes).
    "adam0.5_0.999": dict(g_beta1=0.5, d_beta1=0.5, g_beta2=0.999, d_beta2=0.999),
    "w256": dict(width=256),
}

flags.DEFINE_list("variants", None, "variants (default: every registered variant but "
                  "irgan, which has no 2-D data)")
flags.DEFINE_list("datasets", list(DATASETS), "2-D mixtures")
flags.DEFINE_integer("seeds", 5, "seeds 0 .. N-1 per variant")
flags.DEFINE_string("setting", "default", "a name from SETTINGS or SEARCH_GRID")
flags.DEFINE_bool("search", False, "run every setting of SEARCH_GRID")
flags.DEFINE_string("extra", "", "more overrides for every run, as k=v,k=v (a setting of "
                    "their own: stored under --setting, so name that too)")
flags.DEFINE_integer("threads", 0, "TensorFlow threads per process (0 = its default)")
flags.DEFINE_string("work_dir", os.path.join(ROOT, "benchmarks", "results", "mixtures"),
                    "where the per-run JSON results are kept")
flags.DEFINE_string("readme", os.path.join(ROOT, "benchmarks", "README.md"),
                    "markdown file whose MIXTURES markers receive the tables ('' = print)")
flags.DEFINE_string("summary", os.path.join(ROOT, "README.md"),
                    "markdown file whose MIXTURES_SUMMARY markers receive the one-table "
                    "summary of the plain commands ('' = none)")
flags.DEFINE_bool("report_only", False, "train nothing: write the tables from stored runs")
flags.DEFINE_enum("adam", "fused", ["fused", "keras"], "Adam's update: fused (the suite's, "
                  "optimizers.FusedAdam) or keras (Keras's own ops, as in runs before commit "
                  "cd72526); give keras a --work_dir of its own")
FLAGS = flags.FLAGS


def parse_extra(text):
    """'k=v,k=v' -> dict, values as int, float, bool or str."""
    out = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
        else:
            value = {"true": True, "false": False}.get(value, value)
        out[key] = value
    return out


def overrides_of(setting):
    if setting in SETTINGS:
        return dict(SETTINGS[setting])
    if setting in SEARCH_GRID:
        return dict(SEARCH_GRID[setting])
    raise app.UsageError(f"--setting={setting} is not accepted; use one of: "
                         f"{', '.join(list(SETTINGS) + list(SEARCH_GRID))}")


def run_one(variant, dataset, seed, setting, overrides, path):
    """Trains and measures one run; writes and returns its JSON record."""
    import keras

    from tfgan_suite import training
    from tfgan_suite.metrics import evaluation

    with tempfile.TemporaryDirectory() as tmp:
        cfg = training.resolve_config(dict(overrides, variant=variant, dataset=dataset,
                                           seed=seed, run_dir=os.path.join(tmp, "run"),
                                           export=False))
        start = time.perf_counter()
        record = dict(variant=variant, dataset=dataset, seed=seed, setting=setting,
                      overrides=overrides)
        try:
            result = training.train(cfg, verbose=0)
        except training.Diverged as err:
            record.update(diverged=str(err), train_s=time.perf_counter() - start)
        else:
            record["train_s"] = time.perf_counter() - start
            model, cfg = result.model, result.config
            # What the export ships: the averaged G when the run keeps one (--ema_decay).
            ema = bool(cfg.export_ema and model.ema_generator is not None)
            sampler = evaluation.keras_sampler(
                lambda z, labels: model.generate(z, labels, ema=ema), cfg.latent_dim,
                "points", cfg.data["num_classes"] if model.conditional else None)
            record["generator"] = "ema" if ema else "raw"
            metrics = evaluation.evaluate_points(sampler, dataset, seed=seed)
            record.update({k: metrics[k] for k in ("modes_covered", "num_modes",
                                                   "high_quality_fraction", "reverse_kl",
                                                   "min_count")})
            record.update(steps=result.step, steps_per_execution=model.steps_per_execution,
                          settings={k: v for k, v in cfg.settings().items()
                                    if k not in ("run_dir", "export", "seed")})
    record.update(adam=FLAGS.adam, cpu=cpu_model(), cpus=os.cpu_count(), threads=FLAGS.threads,
                  date=time.strftime("%Y-%m-%d"))
    keras.backend.clear_session()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(record, f, indent=1)
    os.replace(path + ".tmp", path)
    return record


def summarise(records):
    """One table row's numbers from the records of one (dataset, setting, variant)."""
    done = [r for r in records if "diverged" not in r]
    row = dict(seeds=len(records), diverged=len(records) - len(done))
    if done:
        row["modes"] = mean_se([r["modes_covered"] for r in done])
        row["hq"] = mean_se([100 * r["high_quality_fraction"] for r in done])
        finite = [r["reverse_kl"] for r in done
                  if r["reverse_kl"] is not None and math.isfinite(r["reverse_kl"])]
        row["rkl"] = mean_se(finite) if finite else None
        row["num_modes"] = done[0]["num_modes"]
        row["steps"] = sorted({r["steps"] for r in done})
    row["train_s"] = mean_se([r["train_s"] for r in records])
    return row


def verdict(dataset, row):
    if "modes" not in row:
        return "diverged"
    modes, hq = row["modes"][0], row["hq"][0] / 100
    best_modes, best_hq = BEST_TARGETS[dataset]
    if modes >= best_modes and hq >= best_hq:
        return "**beyond PacGAN4**"
    want_modes, want_hq = TARGETS[dataset]
    if modes >= want_modes and hq >= want_hq:
        return "yes"
    return "no"


CARRIED_MARK = "†"
CARRIED_NOTE = (f"{CARRIED_MARK} carried over from the earlier tables (measured 2026-12-01 "
                "to 2026-12-02 by this script; their per-run files were not kept); rerun to "
                "replace.")


def parse_rows(text):
    """{(dataset, setting, variant): row} of the table lines in `text` (this script's
    own format); each row holds its markdown `line` and the numbers the summary needs."""
    rows, dataset = {}, None
    for line in text.splitlines():
        if line.startswith("**") and "**" in line[2:]:
            dataset = line[2:].split("**")[0]
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if dataset not in DATASETS or len(cells) != 9 or not cells[0].startswith("`"):
            continue
        variant, setting = cells[0].strip("`"), cells[1]
        seeds = int(cells[2].split()[0].rstrip(CARRIED_MARK))
        row = dict(line=line if CARRIED_MARK in cells[2] else
                   line.replace(f"| {cells[2]} |", f"| {cells[2]}{CARRIED_MARK} |", 1),
                   seeds=seeds)
        if cells[4] != "-":
            modes, _, num = cells[4].partition(" / ")
            row.update(modes=(float(modes.split(" ± ")[0]), 0.0), num_modes=int(num),
                       hq=(float(cells[5].split(" ± ")[0]), 0.0))
        rows[(dataset, setting, variant)] = row
    return rows


def table(groups, settings_wanted, carried=None):
    """Markdown tables, one per dataset, of the groups whose setting is wanted, and of the
    `carried` rows (`parse_rows`) that no group replaces."""
    carried = {k: v for k, v in (carried or {}).items()
               if k not in groups and settings_wanted(k[1])}
    lines = []
    for dataset in DATASETS:
        keys = [k for k in list(groups) + list(carried)
                if k[0] == dataset and settings_wanted(k[1])]
        if not keys:
            continue
        want_modes, want_hq = TARGETS[dataset]
        lines += [f"**{dataset}** (target: >= {want_modes} modes with >= {want_hq:.0%} high "
                  "quality)", "",
                  "| variant | setting | seeds | steps | modes covered | high quality % "
                  "| reverse KL | train s per run | target |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for key in sorted(keys, key=lambda k: (k[2], k[1] != "default", k[1])):
            if key in carried:
                lines.append(carried[key]["line"])
                continue
            row = summarise(groups[key])
            steps = "/".join(f"{s:,}" for s in row.get("steps", [])) or "-"
            if "modes" in row:
                cells = (f"{row['modes'][0]:.1f} ± {row['modes'][1]:.1f} / {row['num_modes']}",
                         f"{row['hq'][0]:.1f} ± {row['hq'][1]:.1f}",
                         f"{row['rkl'][0]:.3f} ± {row['rkl'][1]:.3f}" if row["rkl"]
                         else "— (no high-quality sample)")
            else:
                cells = ("-", "-", "-")
            seeds = f"{row['seeds']}" + (f" ({row['diverged']} diverged)" if row["diverged"]
                                         else "")
            lines.append(f"| `{key[2]}` | {key[1]} | {seeds} | {steps} | {' | '.join(cells)} "
                         f"| {row['train_s'][0]:.0f} | {verdict(dataset, row)} |")
        lines.append("")
    if carried:
        lines += [CARRIED_NOTE, ""]
    return "\n".join(lines)


def summary(groups, carried=None):
    """One row per variant: the plain command's mean modes and high-quality share on each
    mixture, with the verdict; the full tables are in benchmarks/README.md."""
    names = sorted({k[2] for k in list(groups) + list(carried or {}) if k[1] == "default"})
    lines = ["| variant | ring8 modes | ring8 high quality | grid25 modes | grid25 high "
             "quality | target reached |", "|---|---:|---:|---:|---:|---|"]
    for name in names:
        cells, verdicts = [], []
        for dataset in DATASETS:
            records = groups.get((dataset, "default", name))
            row = (carried or {}).get((dataset, "default", name))
            if records:
                row = summarise(records)
            elif row is None:
                cells += ["-", "-"]
                verdicts.append(f"{dataset}: not run")
                continue
            if "modes" not in row:
                cells += ["diverged", "-"]
            else:
                cells += [f"{row['modes'][0]:.1f} / {row['num_modes']}",
                          f"{row['hq'][0]:.1f} %"]
            seeds = row["seeds"]
            mark = "" if records else CARRIED_MARK
            verdicts.append(f"{dataset}: {verdict(dataset, row)} ({seeds}{mark} "
                            f"seed{'' if seeds == 1 else 's'})")
        lines.append(f"| `{name}` | {' | '.join(cells)} | {'; '.join(verdicts)} |")
    if any(CARRIED_MARK in line for line in lines[2:]):
        lines += ["", CARRIED_NOTE]
    return "\n".join(lines)


def machine_line(groups):
    records = [r for rs in groups.values() for r in rs]
    cpus = sorted({f"{r['cpu']} ({r['cpus']} logical CPUs)" for r in records})
    threads = sorted({r.get("threads", 0) for r in records})
    dates = sorted({r["date"] for r in records})
    thread_text = ", ".join("TensorFlow's default threads" if t == 0 else
                            f"{t} TensorFlow thread(s) per process" for t in threads)
    return (f"Measured on {'; '.join(cpus)}, {thread_text}, {dates[0]}"
            f"{' to ' + dates[-1] if len(dates) > 1 else ''}. Seeds 0..N-1; mean ± standard "
            "error over the seeds; 2,500 samples per run.")


def replace_between(text, begin, end, body):
    if begin not in text or end not in text:
        raise ValueError(f"the markdown file has no {begin} / {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + body.strip() + "\n" + end + tail


def between(text, begin, end):
    return text.split(begin, 1)[1].split(end, 1)[0] if begin in text and end in text else ""


def report(work_dir, readme, summary_path=""):
    groups = load_records(work_dir)
    if not groups:
        print(f"no stored runs under {work_dir}")
        return
    carried = {}
    if readme:
        with open(readme) as f:
            old = f.read()
        carried = {**parse_rows(between(old, BEGIN, END)),
                   **parse_rows(between(old, SEARCH_BEGIN, SEARCH_END))}
    main_body = machine_line(groups) + "\n\n" + table(groups, lambda s: s in SETTINGS,
                                                       carried)
    search_body = table(groups, lambda s: s not in SETTINGS, carried)
    print(main_body)
    print(search_body)
    if readme:
        with open(readme) as f:
            text = f.read()
        text = replace_between(text, BEGIN, END, main_body)
        text = replace_between(text, SEARCH_BEGIN, SEARCH_END, search_body or "(none yet)")
        with open(readme, "w") as f:
            f.write(text)
        print(f"wrote the tables into {readme}")
    if summary_path:
        with open(summary_path) as f:
            text = f.read()
        text = replace_between(text, SUMMARY_BEGIN, SUMMARY_END,
                               machine_line(groups) + "\n\n" + summary(groups, carried))
        with open(summary_path, "w") as f:
            f.write(text)
        print(f"wrote the summary into {summary_path}")


def main(argv):
    del argv
    from tfgan_suite import config
    from tfgan_suite import variants as variants_lib

    names = FLAGS.variants or [n for n, v in variants_lib.REGISTRY.items()
                               if "points" in v.model.data_kinds]
    for name in names:
        variants_lib.get(name)  # an unknown name fails here, before any training
    for dataset in FLAGS.datasets:
        if dataset not in DATASETS:
            raise app.UsageError(f"--datasets: {dataset} is not accepted; use {DATASETS}")
    if FLAGS.adam == "keras":
        from tfgan_suite.optimizers import FusedAdam

        FusedAdam.fused = False
    if FLAGS.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    if not FLAGS.report_only:
        settings = list(SEARCH_GRID) if FLAGS.search else [FLAGS.setting]
        jobs = [(d, s, v, seed) for s in settings for d in FLAGS.datasets for v in names
                for seed in range(FLAGS.seeds)]
        for i, (dataset, setting, variant, seed) in enumerate(jobs):
            path = os.path.join(FLAGS.work_dir, dataset, setting, variant, f"seed{seed}.json")
            overrides = dict(overrides_of(setting), **parse_extra(FLAGS.extra))
            spec = variants_lib.get(variant)
            foreign = [k for k in overrides if k not in config.SHARED
                       and k not in spec.params.names()]
            if os.path.exists(path) or foreign or (overrides.get("pack", 1) > 1 and
                                                   not spec.model.packable):
                continue  # done, or a setting of other variants (or packing) not for it
            record = run_one(variant, dataset, seed, setting, overrides, path)
            result = record.get("diverged") or (
                f"{record['modes_covered']}/{record['num_modes']} modes, "
                f"{record['high_quality_fraction']:.1%} HQ")
            print(f"[{i + 1}/{len(jobs)}] {dataset} {setting} {variant} seed {seed}: "
                  f"{result} ({record['train_s']:.0f} s)", flush=True)
    report(FLAGS.work_dir, FLAGS.readme, FLAGS.summary)


if __name__ == "__main__":
    app.run(main)
