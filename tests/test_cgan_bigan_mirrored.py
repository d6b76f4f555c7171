"""cgan and bigan at 2 replicas (2 logical CPUs in a fresh process)."""

from tests import helpers


def test_two_replicas(tmp_path):
    out = helpers.run_replica_check("tests.cgan_bigan_mirrored_check", tmp_path)
    assert out["replicas"] == 2
    for name in ("cgan", "bigan"):
        res = out[name]
        assert (res["steps"], res["d_iterations"], res["g_iterations"]) == (3, 6, 3), out
        assert res["finite"] and res["copy_gap"] == 0.0, out
    # ALI's encoder noise comes from each replica's own stream.
    assert out["bigan"]["replica_eps_differ"], out
