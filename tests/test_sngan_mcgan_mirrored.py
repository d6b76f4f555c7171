"""sngan, mcgan and SpectralNormalization at 2 replicas (2 logical CPUs in a fresh process)."""

from tests import helpers


def test_two_replicas(tmp_path):
    out = helpers.run_replica_check("tests.sn_mcgan_mirrored_check", tmp_path)
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
