#!/usr/bin/env python
"""The 2-D runs of the fused Adam against those of Keras's Adam, seed by seed.

    python benchmarks/adam_forms.py            # the table, into benchmarks/README.md
    python benchmarks/adam_forms.py --markers= # print only

Why: `optimizers.FusedAdam` computes Adam's update in one kernel. Each step agrees with
Keras's ops to rounding, but a GAN run amplifies rounding, so a seed's run with either
update ends elsewhere: whether the fused update costs quality can only be told over many
seeds. `mixtures.py` stores the runs of each form (`--adam=fused` under
benchmarks/results/mixtures, `--adam=keras` under benchmarks/results/mixtures_keras_adam);
this pairs the runs of each (dataset, setting, variant, seed) found in both, and gives the
mean difference fused - Keras of the share of high-quality samples and of the modes
covered with its standard error, the count of seeds each way, and a verdict: a
difference counts only beyond two standard errors. A pooled row pairs every seed of every
group: the question is whether the update costs quality anywhere. The groups compared were
picked because their first seeds moved most, so `--first_seed` leaves those seeds out:
the later seeds are the fair test.

Records say which update trained them (the `adam` field; records from before commit
cd72526 have none and were trained with Keras's ops), and only records of the right form
are read from each directory. Trains nothing.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # noqa: E402

from benchmarks.curves import mean_se, write_section  # noqa: E402
from benchmarks.mixture_records import load_records  # noqa: E402


def form_of(record):
    """Which Adam trained a record: its `adam` field; records from before commit cd72526
    have none and were all trained with Keras's ops."""
    return record.get("adam", "keras")


def load_runs(work_dir, form, first_seed=0):
    """{(dataset, setting, variant): {seed: record}} of the finished Adam runs under
    `work_dir` (mixtures.py's layout) that `form` ("fused" or "keras") trained. Runs of
    the other form in the same directory (the table's rows older than the fused update)
    are left out; runs with another optimizer (RMSProp) too, and seeds below
    `first_seed`."""
    groups = {}
    for key, records in load_records(work_dir).items():
        for record in records:
            if (record.get("settings", {}).get("optimizer", "adam") == "adam"
                    and form_of(record) == form and "diverged" not in record
                    and record["seed"] >= first_seed):
                groups.setdefault(key, {})[record["seed"]] = record
    return groups


def verdict(mean, error, n):
    """'fused lower' / 'fused higher' beyond two standard errors, else 'no clear
    difference' (always for one pair, which has no error)."""
    if n < 2 or abs(mean) <= 2 * error:
        return "no clear difference"
    return "fused higher" if mean > 0 else "fused lower"


def compare(fused, keras):
    """Rows of the comparison: one per group with seeds in both forms, then the pooled
    row over all their pairs. Each row: dataset, setting, variant, seeds (list; None in
    the pooled row), pairs (their number), the
    per-form mean ± SE of the high-quality percentage, the paired differences (fused -
    Keras) of that percentage and of the modes covered as (mean, SE), the number of seeds
    where fused is lower / higher in high quality, and the verdict on high quality."""
    rows, pooled = [], []
    for key in sorted(set(fused) & set(keras)):
        seeds = sorted(set(fused[key]) & set(keras[key]))
        if not seeds:
            continue
        hq = {form: [100 * runs[key][s]["high_quality_fraction"] for s in seeds]
              for form, runs in (("fused", fused), ("keras", keras))}
        modes = [fused[key][s]["modes_covered"] - keras[key][s]["modes_covered"]
                 for s in seeds]
        diffs = [a - b for a, b in zip(hq["fused"], hq["keras"])]
        pooled += diffs
        rows.append(_row(key, seeds, hq, diffs, modes))
    if len(rows) > 1:
        rows.append(dict(dataset="all", setting="", variant="", seeds=None, pairs=len(pooled),
                         hq_fused=None, hq_keras=None, hq_diff=mean_se(pooled), modes_diff=None,
                         lower=sum(d < 0 for d in pooled), higher=sum(d > 0 for d in pooled),
                         verdict=verdict(*mean_se(pooled), len(pooled))))
    return rows


def _row(key, seeds, hq, diffs, modes):
    dataset, setting, variant = key
    return dict(dataset=dataset, setting=setting, variant=variant, seeds=seeds,
                pairs=len(seeds),
                hq_fused=mean_se(hq["fused"]), hq_keras=mean_se(hq["keras"]),
                hq_diff=mean_se(diffs), modes_diff=mean_se(modes),
                lower=sum(d < 0 for d in diffs), higher=sum(d > 0 for d in diffs),
                verdict=verdict(*mean_se(diffs), len(seeds)))


def table(rows):
    """The markdown table of `compare`'s rows."""
    def pm(value, digits=1):
        return "—" if value is None else f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"

    def signed(value, digits=1):
        return "—" if value is None else f"{value[0]:+.{digits}f} ± {value[1]:.{digits}f}"
    lines = ["| dataset | setting | variant | seeds | high quality %, fused | "
             "high quality %, Keras | difference (fused − Keras) | modes difference | "
             "seeds fused lower / higher | verdict |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        name = f"`{r['variant']}`" if r["variant"] else "all pairs"
        lines.append(f"| {r['dataset']} | {r['setting']} | {name} | {r['pairs']} | "
                     f"{pm(r['hq_fused'])} | {pm(r['hq_keras'])} | {signed(r['hq_diff'])} | "
                     f"{signed(r['modes_diff'], 2)} | {r['lower']} / {r['higher']} | "
                     f"{r['verdict']} |")
    return "\n".join(lines)


def define_flags():
    """Defined only when run as a script (tests import the module beside others)."""
    flags.DEFINE_string("fused_dir", os.path.join(ROOT, "benchmarks", "results", "mixtures"),
                        "mixtures.py --work_dir of the fused-Adam runs")
    flags.DEFINE_string("keras_dir", os.path.join(ROOT, "benchmarks", "results",
                                                  "mixtures_keras_adam"),
                        "mixtures.py --work_dir of the Keras-Adam runs")
    flags.DEFINE_integer("first_seed", 0, "compare seeds from this one on (leave out the "
                         "seeds whose results picked the groups to compare)")
    flags.DEFINE_string("readme", os.path.join(ROOT, "benchmarks", "README.md"),
                        "markdown file the table is written into")
    flags.DEFINE_string("markers", "MIXTURES_ADAM", "name of the BEGIN/END markers in "
                        "--readme ('' = print only)")


def main(argv):
    del argv
    f = flags.FLAGS
    try:
        for path in (f.fused_dir, f.keras_dir):
            if not os.path.isdir(path):
                raise ValueError(f"{path} is not a directory of mixtures.py runs")
        rows = compare(load_runs(f.fused_dir, "fused", f.first_seed),
                       load_runs(f.keras_dir, "keras", f.first_seed))
        if not rows:
            raise ValueError(f"no (dataset, setting, variant, seed) has runs in both "
                             f"{f.fused_dir} and {f.keras_dir}")
        body = table(rows)
        print(body)
        if f.markers:
            write_section(f.readme, f.markers, body, required=True)
    except ValueError as e:
        sys.stderr.write(f"adam_forms.py: {e}\n")
        sys.exit(2)


if __name__ == "__main__":
    define_flags()
    app.run(main)
