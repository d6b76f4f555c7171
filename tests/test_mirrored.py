"""--strategy=mirrored at 2 replicas (2 logical CPUs in a fresh process)."""

from tests import helpers


def test_two_replicas_match_closed_form_and_draw_different_z(tmp_path):
    out = helpers.run_replica_check("tests.mirrored_check", str(tmp_path / "run"))
    assert out["replicas"] == 2
    # Unscaled per-replica gradients would double the step: an error of order lr*grad.
    assert out["closed_form_error"] < 1e-5, out
    assert out["replica_z_differ"]
    assert out["train_steps"] == 4 and out["d_iterations"] == 8
    assert out["finite"]
