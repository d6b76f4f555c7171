#!/usr/bin/env python
"""IRGAN's ranking quality on `synthetic_recsys` beside its MF baseline and the oracle.

    python benchmarks/irgan_quality.py [--steps=2000] [--pretrain_steps=1000] [--seed=0]
    python benchmarks/irgan_quality.py --search [--seeds=0,1,2] [--steps=1000] \
        [--pretrain_steps=500] [--configs=NAME,...] > search.log
    python benchmarks/irgan_quality.py --tabulate=search.log[,more.log]

    from benchmarks.irgan_quality import irgan_quality, markdown_table
    print(markdown_table(irgan_quality(steps=2000, pretrain_steps=1000)))

Rows (all on the test split of the same seeded simulator, training positives excluded):
  - oracle: the simulator's true preference scores, the ceiling;
  - popularity: items ranked by their training positives, the floor any model must beat;
  - MF (BPR), --steps: the matrix-factorisation baseline trained alone for IRGAN's whole
    budget (`--variant=irgan --irgan_pretrain_steps=STEPS`: the same model, seeds, data
    stream and optimizer settings);
  - MF (BPR), --pretrain_steps: the generator IRGAN starts its game from (the same run
    stopped at the end of pretraining, then resumed: resume is exact);
  - IRGAN generator / discriminator after --steps (pretrain_steps of MF, then the game).

--search runs, for each seed (simulator, split and training all seeded by it), the MF
baseline for the whole budget and every configuration of SEARCH_GRID from the same MF start
(`--pretrain_steps` of BPR with the same settings in every configuration: the game settings
do not touch pretraining; each configuration's change is measured from its own start run), and reports the mean ± standard error over seeds of P@3/5/10 and NDCG@3/5/10
of the MF start, the MF baseline, each configuration's generator at the end, and the
generator's change end - start (mean ± SE of the per-seed differences).

Every run uses `irgan`'s defaults (`tfgan_suite/variants/irgan.py`) except the step counts,
and writes its run directory under a temporary directory that is deleted afterwards.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags, logging  # noqa: E402

from benchmarks.curves import mean_se  # noqa: E402

COLUMNS = ("P@3", "P@5", "P@10", "NDCG@3", "NDCG@5", "NDCG@10")


def irgan_quality(*, steps=2000, pretrain_steps=1000, seed=0, dataset="synthetic_recsys",
                  verbose=0):
    """Trains MF and IRGAN with the same seeds and budget; returns the table's rows.

    Returns:
        A list of (name, metrics dict with COLUMNS, seconds or None).
    """
    import numpy as np

    from tfgan_suite import training
    from tfgan_suite.data import load
    from tfgan_suite.metrics.ranking import ranking_metrics

    if not 0 < pretrain_steps < steps:
        raise ValueError(f"need 0 < pretrain_steps < steps. Received: {pretrain_steps}, {steps}")
    data = load(dataset, seed=seed)

    def metrics(scores):
        return ranking_metrics(scores, data.train_positives, data.test_positives)

    def run(run_dir, total, pretrain):
        cfg = training.resolve_config(dict(variant="irgan", dataset=dataset, seed=seed,
                                           steps=total, irgan_pretrain_steps=pretrain,
                                           run_dir=run_dir, export=False, eval_every=total))
        start = time.time()
        result = training.train(cfg, data=data, verbose=verbose)
        return result.model, time.time() - start

    rows = []
    if data.oracle_scores is not None:
        rows.append(("oracle (true preferences)", metrics(data.oracle_scores), None))
    popularity = np.tile(data.positive_matrix("train").sum(0).astype(np.float32),
                         (data.num_users, 1))
    rows.append(("popularity", metrics(popularity), None))
    with tempfile.TemporaryDirectory(prefix="irgan_quality-") as work:
        mf, seconds = run(os.path.join(work, "mf"), steps, steps)
        rows.append((f"MF (BPR), {steps} steps", metrics(mf.scores()), seconds))
        irgan_dir = os.path.join(work, "irgan")
        start, seconds_start = run(irgan_dir, pretrain_steps, pretrain_steps)
        rows.append((f"MF (BPR), {pretrain_steps} steps = IRGAN's start",
                     metrics(start.scores()), seconds_start))
        # The same run continued (resumed from its checkpoint, exactly as in one go).
        irgan, seconds = run(irgan_dir, steps, pretrain_steps)
        rows.append((f"IRGAN generator, {pretrain_steps} MF + {steps - pretrain_steps} "
                     "adversarial steps", metrics(irgan.scores()), seconds_start + seconds))
        rows.append(("IRGAN discriminator, same run",
                     metrics(irgan.scores(player="discriminator")), None))
    return rows


# The search grid: name -> irgan settings on top of the variant's defaults. "alternate"
# is the default step (Adam, d_steps=1); "phases" is the released code's schedule with plain
# SGD in the game (the MF start is Adam-trained in every row). SGD rates are per update of
# a 64-user batch mean: the release's 0.001 per single-user update over 64 users is about
# 0.064 a batch, hence 0.05.
SEARCH_GRID = {
    "alt-sigmoid-adam": dict(irgan_reward="sigmoid"),
    "alt-softplus-adam": dict(irgan_reward="softplus"),
    "alt-sigmoid-adam-glr1e-5": dict(irgan_reward="sigmoid", g_lr=1e-5),
    "phases50/50-sigmoid-sgd": dict(irgan_schedule="phases", irgan_d_phase=50,
                                    irgan_g_phase=50, irgan_game_optimizer="sgd",
                                    g_lr=0.05, d_lr=0.05, irgan_reward="sigmoid"),
    "phases50/50-softplus-sgd": dict(irgan_schedule="phases", irgan_d_phase=50,
                                     irgan_g_phase=50, irgan_game_optimizer="sgd",
                                     g_lr=0.05, d_lr=0.05, irgan_reward="softplus"),
    "phases100/25-sigmoid-sgd-glr0.01": dict(irgan_schedule="phases", irgan_d_phase=100,
                                             irgan_g_phase=25, irgan_game_optimizer="sgd",
                                             g_lr=0.01, d_lr=0.05, irgan_reward="sigmoid"),
    # The last two, added after the first six ran: at g_lr 0.05 the SGD generator barely moves from its start.
    "phases50/50-sigmoid-sgd-glr1": dict(irgan_schedule="phases", irgan_d_phase=50,
                                         irgan_g_phase=50, irgan_game_optimizer="sgd",
                                         g_lr=1.0, d_lr=0.05, irgan_reward="sigmoid"),
    "phases50/50-softplus-sgd-glr1": dict(irgan_schedule="phases", irgan_d_phase=50,
                                          irgan_g_phase=50, irgan_game_optimizer="sgd",
                                          g_lr=1.0, d_lr=0.05, irgan_reward="softplus"),
}


def irgan_search(*, seeds=(0, 1, 2), steps=1000, pretrain_steps=500, configs=None,
                 dataset="synthetic_recsys", progress=print, mf=True):
    """MF baseline vs IRGAN from the same MF start, per seed and configuration.

    Returns:
        {"start": [metrics per seed], "mf": [...] (empty with mf=False: a run that adds
        configurations to an earlier one's log), name: [...] for each configuration};
        each metrics dict has COLUMNS.
    """
    from tfgan_suite import training
    from tfgan_suite.data import load
    from tfgan_suite.metrics.ranking import ranking_metrics

    if not 0 < pretrain_steps < steps:
        raise ValueError(f"need 0 < pretrain_steps < steps. Received: {pretrain_steps}, {steps}")
    configs = configs or list(SEARCH_GRID)
    unknown = [c for c in configs if c not in SEARCH_GRID]
    if unknown:
        raise ValueError(f"unknown configurations {unknown}; accepted: {', '.join(SEARCH_GRID)}")
    results = {"start": [], "mf": [], **{c: [] for c in configs},
               "starts": {c: [] for c in configs}}
    for seed in seeds:
        data = load(dataset, seed=seed)

        def run(run_dir, total, pretrain, **settings):
            cfg = training.resolve_config(dict(variant="irgan", dataset=dataset, seed=seed,
                                               steps=total, irgan_pretrain_steps=pretrain,
                                               run_dir=run_dir, export=False,
                                               eval_every=total, **settings))
            model = training.train(cfg, data=data, verbose=0).model
            return ranking_metrics(model.scores(), data.train_positives, data.test_positives)

        with tempfile.TemporaryDirectory(prefix="irgan_search-") as work:
            if mf:
                results["mf"].append(run(os.path.join(work, "mf"), steps, steps))
                progress(json.dumps(dict(seed=seed, model="mf", end=results["mf"][-1])))
            for name in configs:
                run_dir = os.path.join(work, name.replace("/", "_"))
                start = run(run_dir, pretrain_steps, pretrain_steps, **SEARCH_GRID[name])
                if name == configs[0]:
                    results["start"].append(start)
                results["starts"][name].append(start)
                results[name].append(run(run_dir, steps, pretrain_steps, **SEARCH_GRID[name]))
                progress(json.dumps(dict(seed=seed, model=name, start=start,
                                         end=results[name][-1])))
    return results


def results_from_logs(paths):
    """The `irgan_search` results rebuilt from the JSON lines it printed (one run's, or
    several runs' over the same seeds: a configuration seen twice keeps the first).

    Run lines (`{"seed", "model", "start"?, "end"}`) are matched per seed; other lines
    are skipped.
    """
    runs = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                entry = json.loads(line)
                runs.setdefault((entry["model"], entry["seed"]), entry)
    seeds = sorted({seed for _, seed in runs})
    configs = [m for m in dict.fromkeys(m for m, _ in runs) if m != "mf"]
    missing = [(m, s) for m in ["mf"] + configs for s in seeds if (m, s) not in runs]
    if missing:
        raise ValueError(f"the logs miss these (configuration, seed) runs: {missing}")
    results = {"start": [runs[(configs[0], s)]["start"] for s in seeds],
               "mf": [runs[("mf", s)]["end"] for s in seeds],
               **{c: [runs[(c, s)]["end"] for s in seeds] for c in configs},
               "starts": {c: [runs[(c, s)]["start"] for s in seeds] for c in configs}}
    return seeds, results


def search_table(results):
    """The search as a markdown table: mean ± SE over seeds, then the change end - start."""
    configs = list(results["starts"])
    lines = ["| model | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]

    def row(name, per_seed):
        cells = []
        for c in COLUMNS:
            m, se = mean_se([r[c] for r in per_seed])
            cells.append(f"{m:.4f} ± {se:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row("MF start (pretraining only)", results["start"])
    row("MF baseline, whole budget", results["mf"])
    for name in configs:
        row(f"IRGAN {name}", results[name])
    for name in configs:
        cells = []
        for c in COLUMNS:
            m, se = mean_se([e[c] - s[c] for e, s in zip(results[name],
                                                           results["starts"][name])])
            cells.append(f"{m:+.4f} ± {se:.4f}")
        lines.append(f"| Δ end − start, {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(rows):
    """The rows as a markdown table (metrics to 4 decimals, run time in seconds)."""
    lines = ["| model | " + " | ".join(COLUMNS) + " | train time |",
             "|---|" + "---:|" * (len(COLUMNS) + 1)]
    for name, metrics, seconds in rows:
        cells = [f"{metrics[c]:.4f}" for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " | "
                     + ("" if seconds is None else f"{seconds:.0f} s") + " |")
    return "\n".join(lines)


def define_flags():
    """This script's flags; defined only when it runs, so that importing it
    (`benchmarks/quality.py` does) defines none."""
    flags.DEFINE_integer("steps", 2000, "training steps of IRGAN and of the MF baseline")
    flags.DEFINE_integer("pretrain_steps", 1000, "IRGAN's MF pretraining steps")
    flags.DEFINE_integer("seed", 0, "seed of the simulator, the split and the training runs")
    flags.DEFINE_string("dataset", "synthetic_recsys", "recommendation dataset "
                        "(synthetic_recsys, or movielens_100k where its TFDS data is present)")
    flags.DEFINE_boolean("search", False, "run the schedule/reward search (SEARCH_GRID) over "
                         "--seeds instead of the single-seed table")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "with --search: seeds")
    flags.DEFINE_list("configs", [], "with --search: configurations of SEARCH_GRID (default: "
                      "all)")
    flags.DEFINE_boolean("mf", True, "with --search: also train the MF baseline (--nomf: "
                         "only the configurations, to add to an earlier log)")
    flags.DEFINE_list("tabulate", [], "print the search table from the JSON lines that "
                      "--search runs printed to these files (no training)")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    if flags.FLAGS.tabulate:
        seeds, results = results_from_logs(flags.FLAGS.tabulate)
        print(f"seeds {seeds}")
        print(search_table(results))
        return
    if flags.FLAGS.search:
        seeds = [int(s) for s in flags.FLAGS.seeds]
        results = irgan_search(seeds=seeds, steps=flags.FLAGS.steps,
                               pretrain_steps=flags.FLAGS.pretrain_steps,
                               configs=flags.FLAGS.configs or None, mf=flags.FLAGS.mf,
                               dataset=flags.FLAGS.dataset)
        print(f"{flags.FLAGS.dataset}, seeds {seeds}: {flags.FLAGS.steps} steps "
              f"({flags.FLAGS.pretrain_steps} MF pretraining), batch 64 users; mean ± SE "
              f"over seeds; load average {os.getloadavg()[0]:.1f}")
        if flags.FLAGS.mf:
            print(search_table(results))
        return
    rows = irgan_quality(steps=flags.FLAGS.steps, pretrain_steps=flags.FLAGS.pretrain_steps,
                         seed=flags.FLAGS.seed, dataset=flags.FLAGS.dataset)
    print(f"{flags.FLAGS.dataset} (seed {flags.FLAGS.seed}): P@k / NDCG@k on the test split, "
          "training positives excluded; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(markdown_table(rows))


if __name__ == "__main__":
    define_flags()
    app.run(main)
