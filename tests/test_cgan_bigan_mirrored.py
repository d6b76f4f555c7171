"""cgan and bigan at 2 replicas (2 logical CPUs in a fresh process)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_two_replicas(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.cgan_bigan_mirrored_check",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["replicas"] == 2
    for name in ("cgan", "bigan"):
        res = out[name]
        assert (res["steps"], res["d_iterations"], res["g_iterations"]) == (3, 6, 3), out
        assert res["finite"] and res["copy_gap"] == 0.0, out
    # ALI's encoder noise comes from each replica's own stream.
    assert out["bigan"]["replica_eps_differ"], out
