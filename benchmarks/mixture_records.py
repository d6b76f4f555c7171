"""The per-run records `mixtures.py` stores, read back: one JSON file per run under
<work_dir>/<dataset>/<setting>/<variant>/seed<S>.json (no flags, so the scripts that
tabulate stored runs and the tests can import it)."""

import json
import os

DATASETS = ("ring8", "grid25")


def load_records(work_dir):
    """{(dataset, setting, variant): [record per seed]} of every stored run."""
    groups = {}
    for dataset in DATASETS:
        top = os.path.join(work_dir, dataset)
        if not os.path.isdir(top):
            continue
        for setting in sorted(os.listdir(top)):
            for variant in sorted(os.listdir(os.path.join(top, setting))):
                folder = os.path.join(top, setting, variant)
                records = []
                for name in sorted(os.listdir(folder)):
                    if name.endswith(".json"):
                        with open(os.path.join(folder, name)) as f:
                            records.append(json.load(f))
                if records:
                    groups[(dataset, setting, variant)] = records
    return groups
