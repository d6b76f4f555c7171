#!/usr/bin/env python
"""IRGAN's ranking quality on `synthetic_recsys` beside its MF baseline and the oracle.

    python benchmarks/irgan_quality.py [--steps=2000] [--pretrain_steps=1000] [--seed=0]

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

Every run uses `irgan`'s defaults (`tfgan_suite/variants/irgan.py`) except the step counts,
and writes its run directory under a temporary directory that is deleted afterwards.
"""

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags, logging  # noqa: E402

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


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    rows = irgan_quality(steps=flags.FLAGS.steps, pretrain_steps=flags.FLAGS.pretrain_steps,
                         seed=flags.FLAGS.seed)
    print(f"synthetic_recsys (seed {flags.FLAGS.seed}): P@k / NDCG@k on the test split, "
          "training positives excluded; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(markdown_table(rows))


if __name__ == "__main__":
    define_flags()
    app.run(main)
