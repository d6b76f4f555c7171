"""irgan at 2 replicas (2 logical CPUs in a fresh process)."""

from tests import helpers


def test_two_replicas(tmp_path):
    out = helpers.run_replica_check("tests.irgan_mirrored_check", tmp_path)
    assert out["replicas"] == 2
    assert (out["steps"], out["d_iterations"], out["g_iterations"]) == (3, 6, 3), out
    assert out["finite"] and out["copy_gap"] == 0.0, out
    assert out["replica_negatives_differ"], out
