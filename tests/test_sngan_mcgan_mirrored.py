"""sngan, mcgan and SpectralNormalization at 2 replicas (2 logical CPUs in a fresh process)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_two_replicas(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.sn_mcgan_mirrored_check",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["replicas"] == 2
    assert out["sn_u_copies_equal"] and out["sn_u_error"] < 1e-6, out
    for name in ("sngan", "mcgan"):
        res = out[name]
        assert (res["steps"], res["d_iterations"], res["finite"]) == (3, 6, True), out
        assert res["copy_gap"] == 0.0, out
    assert out["sngan"]["u_copy_gap"] == 0.0
    assert out["mcgan"]["max_abs_phi"] <= 0.01
    assert out["mcgan"]["orthonormal_error"] < 1e-5
    assert out["mcgan"]["v_norm"] <= 1.0 + 1e-6
