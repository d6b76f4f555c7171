"""benchmarks/paired_seeds.py: the paired differences against numpy/scipy, the verdict's
two-standard-error rule, and one-line refusals (exit status 2) of mismatched pairs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from benchmarks import curves, paired_seeds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mean_se_matches_scipy():
    values = [0.3, -1.7, 2.2, 0.05]
    mean, error = curves.mean_se(values)
    assert mean == pytest.approx(np.mean(values))
    assert error == pytest.approx(stats.sem(values))
    assert curves.mean_se([1.0]) == (1.0, 0.0)


@pytest.mark.parametrize("mean,error,seeds,expected", [
    (1.0, 0.4, 3, "with > without"), (-1.0, 0.4, 3, "with < without"),
    (1.0, 0.5, 3, "no clear difference"), (-0.2, 0.3, 3, "no clear difference"),
    (3.0, 0.0, 1, "no clear difference")])
def test_verdict_needs_more_than_two_standard_errors(mean, error, seeds, expected):
    assert paired_seeds.verdict(mean, error, seeds) == expected


def write_pair(directory, seed, with_fid, without_fid, without_seed=None, steps=100):
    os.makedirs(directory, exist_ok=True)
    for name, fid, s in (("a", with_fid, seed),
                         ("a+x=0", without_fid, seed if without_seed is None else without_seed)):
        record = {"seed": s, "steps": steps,
                  "final": {g: {"fid": fid, "recall": 0.5, "coverage": 0.3}
                            for g in ("raw", "ema")}}
        with open(os.path.join(directory, name + ".json"), "w") as f:
            json.dump(record, f)


def test_table_rows_hold_the_paired_differences(tmp_path):
    with_fids, without_fids = [30.0, 25.0, 27.0], [31.0, 29.0, 27.5]
    dirs = []
    for seed, (a, b) in enumerate(zip(with_fids, without_fids)):
        dirs.append(str(tmp_path / f"s{seed}"))
        write_pair(dirs[-1], seed, a, b)
    pairs = paired_seeds.load_pairs(list(reversed(dirs)), "a", "a+x=0")
    assert [seed for seed, _, _ in pairs] == [0, 1, 2]
    text = paired_seeds.table(pairs, ["fid"], "a", "a+x=0")
    differences = np.subtract(with_fids, without_fids)       # -1, -4, -0.5
    row = next(line for line in text.splitlines() if line.startswith("| fid (raw G)"))
    assert "-1.0 / -4.0 / -0.5" in row
    assert f"{differences.mean():+.1f} ± {stats.sem(differences):.1f}" in row
    assert row.endswith("| no clear difference |")   # -1.83 ± 1.09


def test_mismatched_or_missing_pairs_are_refused(tmp_path):
    write_pair(str(tmp_path / "bad"), 0, 1.0, 2.0, without_seed=1)
    with pytest.raises(ValueError, match="differ in seed or steps"):
        paired_seeds.load_pairs([str(tmp_path / "bad")], "a", "a+x=0")
    with pytest.raises(ValueError, match="is missing"):
        paired_seeds.load_pairs([str(tmp_path / "none")], "a", "a+x=0")
    write_pair(str(tmp_path / "p"), 0, 1.0, 2.0)
    write_pair(str(tmp_path / "q"), 0, 1.0, 2.0)
    with pytest.raises(ValueError, match="same seed"):
        paired_seeds.load_pairs([str(tmp_path / "p"), str(tmp_path / "q")], "a", "a+x=0")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "paired_seeds.py"),
                          f"--results_dirs={tmp_path / 'bad'}", "--with_run=a",
                          "--without_run=a+x=0"], capture_output=True, text=True)
    assert out.returncode == 2 and "differ in seed or steps" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
