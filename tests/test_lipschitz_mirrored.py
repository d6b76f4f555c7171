"""wgan, wgan_gp, lsgan, hinge, dragan at 2 replicas (2 logical CPUs in a fresh process)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_lipschitz_variants_under_mirrored_strategy(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.lipschitz_mirrored_check",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["replicas"] == 2
    # Penalty and replica scaling: one WGAN-GP step equals the closed form.
    assert out["gp_closed_form_error"] < 1e-5, out
    assert out["replica_alpha_differ"] and out["alpha_per_sample"], out
    assert out["gp_per_sample_error"] < 1e-5 and out["gp_halves_differ"], out
    variants = out["variants"]
    # wgan: 100 critic updates at each of steps 0 and 1 (the early bursts).
    assert variants["wgan"]["d_iterations"] == 200, variants
    assert variants["wgan"]["max_abs_weight"] <= 0.01 + 1e-9
    assert variants["wgan"]["replicas_equal"]
    for name in ("wgan_gp", "lsgan", "hinge", "dragan"):
        assert variants[name]["d_iterations"] == 4, variants
    for name, entry in variants.items():
        assert entry["steps"] == 2 and entry["finite"], (name, entry)
