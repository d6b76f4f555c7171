"""Shared test fixtures: tiny data and a model whose one step has a closed form."""

import numpy as np

from tfgan_suite.data import ArrayData


def tiny_images(n=32, size=28, channels=1, seed=0, labels=True):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.int32) if labels else None
    return ArrayData("tiny_images", "image", x, y, 10 if labels else None)


def tiny_points(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 8, size=n).astype(np.int32)
    angles = 2 * np.pi * y / 8
    x = np.stack([np.cos(angles), np.sin(angles)], 1) + 0.01 * rng.standard_normal((n, 2))
    return ArrayData("tiny_points", "points", x.astype(np.float32), y, 8)


def run_replica_case(case, out_dir, timeout=600):
    """Runs `python -m tests.replica_runner <case> <out_dir>` in a fresh process.

    The multi-replica checks need a fresh process: the 2 logical CPUs must be configured
    before TensorFlow initialises its devices. The runner prints one line `RESULT <json>`;
    this returns it as a dict. A crash fails the calling test with the end of its stderr.
    """
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "tests.replica_runner", case, str(out_dir)],
                          cwd=root, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])
