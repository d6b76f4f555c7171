"""--strategy=mirrored at 2 replicas (2 logical CPUs in a fresh process)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_two_replicas_match_closed_form_and_draw_different_z(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.mirrored_check", str(tmp_path / "run")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["replicas"] == 2
    # Unscaled per-replica gradients would double the step: an error of order lr*grad.
    assert out["closed_form_error"] < 1e-5, out
    assert out["replica_z_differ"]
    assert out["train_steps"] == 4 and out["d_iterations"] == 8
    assert out["finite"]
