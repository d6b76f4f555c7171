#!/usr/bin/env python
"""Two stored `fid_curves.py` runs compared seed by seed: the per-seed differences of their
final measurements and the mean difference with its standard error.

    python benchmarks/paired_seeds.py --with_run=ebgan --without_run=ebgan+pt_weight=0 \
        --results_dirs=benchmarks/results/ebgan_pull_away_10k,\
benchmarks/results/ebgan_pull_away_10k_seed1,benchmarks/results/ebgan_pull_away_10k_seed2 \
        --markers=EBGAN_PT10K_PAIRED

Why: a claim like "the pull-away term raises recall" is about the difference a setting
makes, and one seed's runs differ by about as much as the effect asked about. Pairing the
two runs of each seed (same weights, data order and evaluation samples) and averaging the
differences over seeds gives the effect and its uncertainty; the verdict column says
whether the mean difference is more than two standard errors from zero.

Each --results_dirs entry holds one seed's pair, `<with_run>.json` and
`<without_run>.json`, as `fid_curves.py` writes them. Trains nothing; the table goes
between the --markers comments of --readme (and to stdout).
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # noqa: E402

from benchmarks.curves import mean_se, write_section  # noqa: E402

GENERATORS = (("raw", "raw G"), ("ema", "EMA"))


def load_pairs(results_dirs, with_run, without_run):
    """[(seed, with_record, without_record)] from each directory; a missing file or two
    records of different seeds or budgets is a ValueError naming the directory."""
    pairs = []
    for directory in results_dirs:
        records = []
        for name in (with_run, without_run):
            path = os.path.join(directory, name + ".json")
            if not os.path.exists(path):
                raise ValueError(f"{path} is missing: each --results_dirs entry needs "
                                 f"{with_run}.json and {without_run}.json")
            with open(path) as f:
                records.append(json.load(f))
        a, b = records
        if (a.get("seed"), a.get("steps")) != (b.get("seed"), b.get("steps")):
            raise ValueError(f"{directory}: the two runs differ in seed or steps "
                             f"({a.get('seed')}/{a.get('steps')} against "
                             f"{b.get('seed')}/{b.get('steps')}); a pair needs both equal")
        pairs.append((a["seed"], a, b))
    seeds = [seed for seed, _, _ in pairs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"two --results_dirs entries have the same seed: {seeds}")
    return sorted(pairs, key=lambda p: p[0])


def verdict(mean, error, seeds):
    """'with > without', 'with < without' when the mean difference over `seeds` seeds is
    more than two standard errors from zero, else 'no clear difference' (always, for one
    seed: it has no error to compare with)."""
    if seeds < 2 or abs(mean) <= 2 * error:
        return "no clear difference"
    return "with > without" if mean > 0 else "with < without"


def table(pairs, metrics, with_run, without_run):
    """The markdown table: a row per metric and generator, the two runs' values per seed,
    the difference per seed, and its mean ± standard error with the verdict."""
    seeds = ", ".join(str(seed) for seed, _, _ in pairs)
    steps = pairs[0][1]["steps"]
    lines = [f"`{with_run}` against `{without_run}`, {steps:,} steps, seeds {seeds}; "
             "final measurements of each export (`final` of the JSON files); "
             "difference = with − without, mean ± standard error over the seeds.", "",
             "| measurement | with, per seed | without, per seed | difference, per seed "
             "| mean difference | verdict |",
             "|---|---:|---:|---:|---:|---|"]
    for metric in metrics:
        for generator, label in GENERATORS:
            with_values = [a["final"][generator][metric] for _, a, _ in pairs]
            without_values = [b["final"][generator][metric] for _, _, b in pairs]
            differences = [x - y for x, y in zip(with_values, without_values)]
            mean, error = mean_se(differences)
            digits = 1 if metric == "fid" else 3

            def cells(values):
                return " / ".join(f"{v:.{digits}f}" for v in values)
            lines.append(f"| {metric} ({label}) | {cells(with_values)} | "
                         f"{cells(without_values)} | {cells(differences)} | "
                         f"{mean:+.{digits}f} ± {error:.{digits}f} | "
                         f"{verdict(mean, error, len(pairs))} |")
    return "\n".join(lines)


def define_flags():
    """The command's flags; defined only when it runs as a script, so that tests can
    import this module beside other benchmarks that define flags of the same names."""
    flags.DEFINE_list("results_dirs", None, "one fid_curves.py results directory per seed")
    flags.DEFINE_string("with_run", None, "run name of the setting asked about (e.g. ebgan)")
    flags.DEFINE_string("without_run", None, "run name it is compared with "
                        "(e.g. ebgan+pt_weight=0)")
    flags.DEFINE_list("metrics", ["fid", "recall", "coverage"], "final measurements compared")
    flags.DEFINE_string("readme", os.path.join(ROOT, "benchmarks", "README.md"),
                        "markdown file the table is written into")
    flags.DEFINE_string("markers", None, "name of the BEGIN/END markers in --readme "
                        "(none = print only)")


def main(argv):
    del argv
    for name in ("results_dirs", "with_run", "without_run"):
        if not getattr(flags.FLAGS, name):
            sys.stderr.write(f"paired_seeds.py: --{name} is required\n")
            sys.exit(2)
    try:
        pairs = load_pairs(flags.FLAGS.results_dirs, flags.FLAGS.with_run,
                           flags.FLAGS.without_run)
        body = table(pairs, flags.FLAGS.metrics, flags.FLAGS.with_run,
                     flags.FLAGS.without_run)
    except (ValueError, KeyError) as e:
        sys.stderr.write(f"paired_seeds.py: {e}\n")
        sys.exit(2)
    print(body)
    if flags.FLAGS.markers:
        write_section(flags.FLAGS.readme, flags.FLAGS.markers, body, required=True)


if __name__ == "__main__":
    define_flags()
    app.run(main)
