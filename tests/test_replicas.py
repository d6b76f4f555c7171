"""Every variant family at 2 replicas: MirroredStrategy on 2 logical CPUs, fresh processes.

Each case of tests/replica_runner.py runs in its own process and returns one dict; the
function of the same name here asserts on it. Add a case as one function there, one here.
"""

import numpy as np
import pytest

from tests import helpers


def check_gan_closed_form(out):
    # Unscaled per-replica gradients would double the step: an error of order lr*grad.
    assert out["closed_form_error"] < 1e-5, out
    assert out["replica_z_differ"]
    assert out["train_steps"] == 4 and out["d_iterations"] == 8
    assert out["finite"]


def check_lipschitz(out):
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


def check_sn_mcgan(out):
    assert out["sn_u_copies_equal"] and out["sn_u_error"] < 1e-6, out
    for name in ("sngan", "mcgan"):
        res = out[name]
        assert (res["steps"], res["d_iterations"], res["finite"]) == (3, 6, True), out
        assert res["copy_gap"] == 0.0, out
    assert out["sngan"]["u_copy_gap"] == 0.0
    assert out["mcgan"]["max_abs_phi"] <= 0.01
    assert out["mcgan"]["orthonormal_error"] < 1e-5
    assert out["mcgan"]["v_norm"] <= 1.0 + 1e-6


def check_energy(out):
    """began and ebgan."""
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


def check_cgan_bigan(out):
    for name in ("cgan", "bigan"):
        res = out[name]
        assert (res["steps"], res["d_iterations"], res["g_iterations"]) == (3, 6, 3), out
        assert res["finite"] and res["copy_gap"] == 0.0, out
    # ALI's encoder noise comes from each replica's own stream.
    assert out["bigan"]["replica_eps_differ"], out


def check_irgan(out):
    assert (out["steps"], out["d_iterations"], out["g_iterations"]) == (3, 6, 3), out
    assert out["finite"] and out["copy_gap"] == 0.0, out
    assert out["replica_negatives_differ"], out


def check_ema(out):
    # One replica against two: the same average (all-reduce rounding at most).
    assert out["g_one_vs_two_gap"] < 1e-6 and out["one_vs_two_gap"] < 1e-6, out
    assert out["ema_moved"] > 1e-3 and out["ema_copy_gap"] == 0.0, out
    # Batch norm: each replica's copy follows the recursion of its own G copy, whose
    # statistics differ between replicas; every other averaged weight is the same on both.
    assert out["bn_layers"] >= 2 and out["g_stats_copy_gap"] > 0.0, out
    assert out["bn_recursion_error"] < 1e-5, out
    assert out["ema_trainable_copy_gap"] == 0.0 and out["finite"] and out["paths_paired"], out


def check_precision(out):
    for precision in ("mixed_bfloat16", "mixed_float16"):
        for variant in ("dcgan", "wgan_gp"):
            key = f"{variant}_{precision}"
            assert out[key + "_steps"] == 3 and out[key + "_finite"], out
            assert out[key + "_float32_vars"] and out[key + "_policy"] == precision, out
            assert out[key + "_copy_gap"] == 0.0, out
    # float16: both players' optimizers carry a loss scale (2^15 at the start, halved on
    # an overflow), the same on both replicas since the update is mirrored.
    for variant in ("dcgan", "wgan_gp"):
        scales = out[f"{variant}_mixed_float16_scales"]
        assert all(0 < s <= 2.0 ** 15 for s in scales), out


CHECKS = {
    "gan_closed_form": check_gan_closed_form,
    "lipschitz": check_lipschitz,
    "sn_mcgan": check_sn_mcgan,
    "energy": check_energy,
    "cgan_bigan": check_cgan_bigan,
    "irgan": check_irgan,
    "ema": check_ema,
    "precision": check_precision,
}


# The two slowest cases run with `make test-slow` only (about a minute between them in CI):
# precision at 2 replicas repeats four trainings that tests/test_precision.py checks at one
# replica, and irgan's replica path is the shared step's with a ranking D.
SLOW_CASES = ("precision", "irgan")


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CASES
                                  else c for c in CHECKS])
def test_two_replicas(case, tmp_path):
    out = helpers.run_replica_case(case, tmp_path)
    assert out["replicas"] == 2, out
    CHECKS[case](out)
