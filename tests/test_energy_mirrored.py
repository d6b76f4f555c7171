"""began and ebgan at 2 replicas (2 logical CPUs in a fresh process)."""

import numpy as np

from tests import helpers


def test_two_replicas(tmp_path):
    out = helpers.run_replica_check("tests.energy_mirrored_check", tmp_path)
    assert out["replicas"] == 2

    # k_1 = clip(k_0 + lambda_k (gamma L(x) - L(G(z)))) with the global L(x), and L(x) and
    # L(G(z)) computed outside the step from the state before it: the halves differ, so a
    # replica-local L(x) would give another k.
    logs = out["began_logs"]
    halves = out["l_real_halves"]
    assert abs(halves[0] - halves[1]) > 1e-3, out
    assert out["g_constant"] < 1e-6 and out["l_fake_global"] > 1e-2, out   # G(z): one image
    np.testing.assert_allclose(logs["l_real"], out["l_real_global"], rtol=1e-5)
    np.testing.assert_allclose(logs["l_fake"], out["l_fake_global"], rtol=1e-5)
    assert 0.0 < out["k_expected_global"] < 1.0, out
    np.testing.assert_allclose(out["k_t_copies"], [out["k_expected_global"]] * 2, rtol=1e-5)
    np.testing.assert_allclose(logs["k_t"], out["k_expected_global"], rtol=1e-5)

    began = out["began_train"]
    assert began["steps"] == 4 and began["finite"], out
    np.testing.assert_allclose(began["lr_g"], [0.25e-4] * 2, rtol=1e-6)   # halved twice
    np.testing.assert_allclose(began["lr_d"], 0.25e-4, rtol=1e-6)
    assert began["k_t_copies"][0] == began["k_t_copies"][1]
    assert began["d_copy_gap"] == 0.0

    ebgan = out["ebgan_train"]
    assert (ebgan["steps"], ebgan["d_iterations"], ebgan["g_iterations"]) == (3, 3, 2), out
    assert ebgan["finite"]
