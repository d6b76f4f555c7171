"""wgan, wgan_gp, lsgan, hinge, dragan at 2 replicas (2 logical CPUs in a fresh process)."""

from tests import helpers


def test_lipschitz_variants_under_mirrored_strategy(tmp_path):
    out = helpers.run_replica_check("tests.lipschitz_mirrored_check", tmp_path)
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
