"""benchmarks/: FLOP counts against hand-computed numbers, and the throughput script end to end."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks import flops
from tests import helpers
from tfgan_suite import training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)


def built(layer, input_shape):
    """`layer` called on a symbolic input, so its input and output shapes are known."""
    layer(keras.Input(input_shape))
    return layer


def tf_profiler_mac_flops(layer, input_shape):
    """TensorFlow's own FLOP count (tf.compat.v1.profiler, by op type) of one example through
    `layer`: the MatMul / Conv2D / Conv2DBackpropInput ops, independent of benchmarks.flops."""
    graph = tf.function(lambda x: layer(x)).get_concrete_function(
        tf.TensorSpec([1, *input_shape], tf.float32)).graph
    profiler = tf.compat.v1.profiler
    options = profiler.ProfileOptionBuilder(
        profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build()
    by_type = {c.name: int(c.float_ops)
               for c in profiler.profile(graph, cmd="op", options=options).children}
    return sum(by_type.get(k, 0) for k in ("MatMul", "BatchMatMulV2", "Conv2D",
                                           "Conv2DBackpropInput"))


# (layer, input shape, FLOPs counted by hand from the shapes: 2 per multiply-add)
LAYERS = [
    (lambda: keras.layers.Dense(4), (3,), 24),                  # 3 inputs x 4 outputs x 2
    (lambda: keras.layers.Dense(4), (5, 3), 120),               # the same map on 5 rows
    # 8x8x3 -> stride 2, same -> 4x4x5 outputs, each 3x3x3 taps: 16 * 5 * 27 * 2.
    (lambda: keras.layers.Conv2D(5, 3, strides=2, padding="same"), (8, 8, 3), 4320),
    # Transposed 4x4x5 -> 8x8x3: each of the 16 inputs scatters a 4x4x3 patch from 5
    # channels: 16 * 16 * 3 * 5 * 2.
    (lambda: keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same"), (4, 4, 5), 7680),
]


@pytest.mark.parametrize("make, input_shape, by_hand", LAYERS)
def test_layer_forward_flops_by_hand_and_by_tensorflows_profiler(make, input_shape, by_hand):
    layer = built(make(), input_shape)
    assert flops.layer_forward_flops(layer) == by_hand
    assert tf_profiler_mac_flops(layer, input_shape) == by_hand


def test_layers_without_a_kernel_cost_nothing():
    assert flops.layer_forward_flops(built(keras.layers.LeakyReLU(), (3,))) == 0
    up = built(keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same"), (4, 4, 5))
    assert up.output.shape[1:] == (8, 8, 3)


def mlp_points_model(batch_size=8):
    """nsgan on 2-D points with width 2, latent 3: G 3 -> 4 -> 4 -> 2, D 2 -> 4 -> 4 -> 1."""
    cfg = training.resolve_config(dict(variant="nsgan", width=2, latent_dim=3,
                                       batch_size=batch_size))
    data = helpers.tiny_points()
    cfg = training.fit_to_data(cfg, data)
    return training.build_model(cfg, data), data


def test_analytic_step_flops_of_a_tiny_mlp_gan_by_hand():
    model, _ = mlp_points_model()
    # Per example, 2 FLOPs per multiply-add: G 3 -> 4 -> 4 -> 2 costs 2 (12 + 16 + 8) = 72
    # (its first layer 24); D 2 -> 4 -> 4 -> 1 costs 2 (8 + 16 + 4) = 56 (its first 16).
    # Batch b = 8.
    # D step: G fwd 8*72 = 576, D fwd on real and fake 2*8*56 = 896, D weight grads on both
    # 896, D input grads on both except D's first layer 2*8*40 = 640: 3008.
    # G step: G fwd 576, D fwd 8*56 = 448, D input grads (all layers) 448, G weight grads
    # 576, G input grads except G's first layer 8*48 = 384: 2432.
    b = 8
    got = flops.analytic_step_flops(model, batch_size=b)
    assert (got["d_step"], got["g_step"], got["total"]) == (3008, 2432, 5440)
    assert sum(v for _, _, v in got["terms"]) == 5440
    # The forward terms, against TensorFlow's profiler on the same networks.
    g_fwd = sum(tf_profiler_mac_flops(l, l.input.shape[1:]) for l in model.generator.layers
                if isinstance(l, keras.layers.Dense))
    d_fwd = sum(tf_profiler_mac_flops(l, l.input.shape[1:]) for l in model.discriminator.layers
                if isinstance(l, keras.layers.Dense))
    assert (g_fwd, d_fwd) == (72, 56)
    # k discriminator updates multiply the D step only.
    three = flops.gan_step_flops(model.generator, model.discriminator, batch_size=b, d_steps=3)
    assert three["total"] == 3 * 3008 + 2432


@pytest.mark.parametrize("case", ["mlp_points", "dcgan_tiny"])
def test_profiler_count_matches_the_analytic_count(case):
    if case == "mlp_points":
        model, data = mlp_points_model()
    else:
        data = helpers.tiny_images(n=16, labels=False)
        cfg = training.fit_to_data(training.resolve_config(dict(
            variant="dcgan", width=8, latent_dim=8, batch_size=8, d_steps=2)), data)
        model = training.build_model(cfg, data)
    batch = 8
    element = tf.TensorSpec([batch * model.d_steps, *data.shape], tf.float32)
    counted = flops.profiler_flops(flops.trace_train_step(model, element))
    analytic = flops.analytic_step_flops(model, batch_size=batch)["total"]
    assert counted["incomplete"] == 0
    # The profiler's MatMul/Conv ops that run are exactly the MACs of the accounting ...
    assert counted["live_mac"] == analytic
    # ... and everything else it counts (norms, activations, losses, Adam) adds at most
    # half again at these toy widths (about 1% for the real DCGAN at width 64).
    assert analytic <= counted["live"] <= 1.5 * analytic
    # The unused gradients the tape writes are real graph ops, pruned before running.
    assert counted["all"] > counted["live"]


def test_throughput_script_runs_on_ring8(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "throughput.py"), "--variant=nsgan",
         "--dataset=ring8", "--batch_size=64", "--warmup=2", "--steps=3", "--peak_size=128",
         "--peak_repeats=1", "--peak_dtypes=float32", "--inter_op_threads=1",
         f"--json_out={out}"],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TensorFlow threads: intra-op default, inter-op 1 " in proc.stdout
    table = [l for l in proc.stdout.splitlines() if l.startswith("|")]
    assert table[0].startswith("| variant | dataset | batch | jit | steps/s | images/s |")
    assert table[2].startswith("| nsgan | ring8 | 64 | auto (off) |")
    result = json.loads(out.read_text())
    assert result["steps"] == 3 and result["steps_per_s"] > 0
    assert result["images_per_s"] == pytest.approx(64 * result["steps_per_s"])
    assert result["profiler_flops"]["live_mac"] == result["analytic_flops"]["total"]
    assert (result["intra_op_threads"], result["inter_op_threads"]) == (0, 1)


@pytest.mark.slow
def test_throughput_script_compares_batch_norm_kernels(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "throughput.py"), "--variant=dcgan",
         "--dataset=fashion_mnist", "--batch_size=8", "--warmup=1", "--steps=2",
         "--peak_size=128", "--peak_repeats=1", "--peak_dtypes=float32",
         "--batch_norm=fused,keras", f"--json_out={out}"],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    fused, plain = json.loads(out.read_text())
    assert (fused["batch_norm"], plain["batch_norm"]) == ("fused", "keras")
    # The fused kernel replaces Keras's moments ops, so the traced step differs in its
    # elementwise FLOPs, never in its convolutions and matmuls.
    assert fused["profiler_flops"]["live_mac"] == plain["profiler_flops"]["live_mac"]
    assert fused["profiler_flops"]["live"] != plain["profiler_flops"]["live"]
    bad = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "throughput.py"),
         "--batch_norm=cudnn"], cwd=tmp_path, env=ENV, capture_output=True, text=True,
        timeout=120)
    assert bad.returncode == 2 and "fused, keras" in bad.stderr


def test_profile_step_script_on_ring8(tmp_path):
    out = tmp_path / "p.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "profile_step.py"), "--variant=nsgan",
         "--dataset=ring8", "--warmup=2", "--steps=4", "--repeats=1", f"--json_out={out}"],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    profile = result["profile"]
    # One Keras step call per profiled step, and the 2-D MLPs' work is matmuls, not convs.
    assert profile["windows"] == 4
    assert profile["by_category"]["matmul"] > 0 and profile["by_category"]["convolution"] == 0
    assert 0 < profile["busy_s"] <= profile["window_s"]
    assert "| category | ms per step" in proc.stdout


def test_quality_script_trains_evaluates_and_writes_the_readme_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n<!-- QUALITY:BEGIN -->\nold\n<!-- QUALITY:END -->\ntail\n")
    work = tmp_path / "work"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "quality.py"),
               "--datasets=ring8", "--variants=nsgan", "--points_steps=20",
               "--jit_compile=false", f"--work_dir={work}", f"--readme={readme}"]
    proc = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((work / "ring8" / "nsgan.json").read_text())
    assert result["steps"] == 20 and result["num_samples"] == 2500
    assert result["variant"] == "nsgan" and result["dataset"] == "ring8"
    assert 0 <= result["modes_covered"] <= 8
    # The real-data floor: a fresh draw of the mixture covers every mode, ~98.9 % of its
    # points within 3 std (1 - exp(-4.5) for an isotropic 2-D Gaussian).
    floor = json.loads((work / "ring8" / "_real_data.json").read_text())
    assert floor["modes_covered"] == 8
    assert abs(floor["high_quality_fraction"] - (1 - np.exp(-4.5))) < 0.01
    text = readme.read_text()
    assert "old" not in text and text.startswith("# Benchmarks") and text.endswith("tail\n")
    rows = [l for l in text.splitlines() if l.startswith("| ")]
    assert rows[1].startswith("| real data (mixture draw) | — | 8 / 8 |")
    assert rows[2].startswith(f"| nsgan | 20 | {result['modes_covered']} / 8 |")
    # A second invocation reuses the stored result instead of training again.
    again = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and "nsgan on ring8" not in again.stdout
    # --report_only trains nothing, even for a variant without a stored result.
    report = subprocess.run(command[:3] + ["--variants=gan", "--report_only"] + command[4:],
                            cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0 and not (work / "ring8" / "gan.json").exists()
    assert "| nsgan | 20 |" in report.stdout


@pytest.mark.parametrize("flag, message", [
    ("--variants=nope", "--variants: unknown nope"),
    ("--variants=irgan", "irgan ranks items"),
    ("--datasets=cifar10", "--datasets: unknown cifar10"),
    ("--image_steps=0", "--image_steps must be >= 1"),
])
def test_quality_script_refuses_bad_flags_with_one_line(tmp_path, flag, message):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "quality.py"), flag,
                           f"--work_dir={tmp_path}", "--readme="],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr and not os.listdir(tmp_path)


def test_mixtures_script_runs_seeds_and_reports_mean_and_standard_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# B\n<!-- MIXTURES:BEGIN -->\nold\n<!-- MIXTURES:END -->\n"
                      "<!-- MIXTURES_SEARCH:BEGIN -->\n<!-- MIXTURES_SEARCH:END -->\ntail\n")
    work = tmp_path / "work"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "mixtures.py"),
               "--variants=nsgan,cgan", "--datasets=ring8", "--seeds=2",
               "--extra=steps=200", f"--work_dir={work}", f"--readme={readme}",
               "--summary="]
    proc = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = readme.read_text()
    assert "old" not in text and text.endswith("tail\n")
    for variant in ("nsgan", "cgan"):
        records = [json.loads((work / "ring8" / "default" / variant / f"seed{s}.json")
                              .read_text()) for s in (0, 1)]
        assert [r["seed"] for r in records] == [0, 1]
        assert all(r["steps"] == 200 and r["num_modes"] == 8 for r in records)
        modes = np.array([r["modes_covered"] for r in records], float)
        hq = np.array([100 * r["high_quality_fraction"] for r in records])
        # Mean and standard error of the mean, by numpy: std (n - 1) / sqrt(n).
        cell = (f"| {modes.mean():.1f} ± {modes.std(ddof=1) / np.sqrt(2):.1f} / 8 | "
                f"{hq.mean():.1f} ± {hq.std(ddof=1) / np.sqrt(2):.1f} |")
        row = next(l for l in text.splitlines() if l.startswith(f"| `{variant}` | default"))
        assert cell in row, (cell, row)
        assert row.split("|")[3].strip() == "2"                  # seeds
    assert "Measured on" in text and "2,500 samples per run" in text


def test_mixtures_verdicts_follow_the_targets():
    sys.path.insert(0, ROOT)
    from benchmarks import mixtures

    def row(modes, hq):
        return dict(modes=(modes, 0.0), hq=(hq, 0.0))

    assert mixtures.verdict("ring8", row(6.3, 90.0)) == "yes"
    assert mixtures.verdict("ring8", row(6.2, 99.0)) == "no"
    assert mixtures.verdict("ring8", row(8.0, 89.9)) == "no"
    assert mixtures.verdict("ring8", row(8.0, 98.0)) == "**beyond PacGAN4**"
    assert mixtures.verdict("grid25", row(25.0, 94.9)) == "yes"
    assert mixtures.verdict("grid25", row(25.0, 95.0)) == "**beyond PacGAN4**"
    assert mixtures.verdict("grid25", {}) == "diverged"


def test_mixtures_carries_rows_without_runs_and_replaces_rows_with_runs():
    """A table row whose runs are not stored is kept as it stood, marked; a stored run of
    the same dataset, setting and variant replaces it; the summary reads both."""
    sys.path.insert(0, ROOT)
    from benchmarks import mixtures

    old = ("**ring8** (target)\n\n| variant | setting | seeds | steps | modes covered | high "
           "quality % | reverse KL | train s per run | target |\n|---|---|---:|---:|---:|---:|"
           "---:|---:|---|\n"
           "| `gan` | default | 5 | 20,000 | 7.0 ± 0.4 / 8 | 91.0 ± 1.0 | 0.1 ± 0.0 | 9 | yes |\n"
           "| `wgan` | default | 1 | 20,000 | 8.0 ± 0.0 / 8 | 61.0 ± 0.0 | 0.2 ± 0.0 | 9 | no |\n")
    carried = mixtures.parse_rows(old)
    assert set(carried) == {("ring8", "default", "gan"), ("ring8", "default", "wgan")}
    assert carried[("ring8", "default", "gan")]["modes"][0] == 7.0
    record = dict(modes_covered=3, num_modes=8, high_quality_fraction=0.5, reverse_kl=1.0,
                  steps=100, train_s=2.0)
    groups = {("ring8", "default", "wgan"): [record]}
    body = mixtures.table(groups, lambda s: s == "default", carried)
    lines = [l for l in body.splitlines() if l.startswith("| `")]
    assert lines[0].startswith("| `gan` | default | 5† |")          # carried, marked
    assert lines[1].startswith("| `wgan` | default | 1 | 100 | 3.0 ± 0.0 / 8 | 50.0")
    assert mixtures.CARRIED_NOTE in body
    assert mixtures.parse_rows(body)[("ring8", "default", "gan")]["line"] == lines[0]
    summary = mixtures.summary(groups, carried)
    assert "| `gan` | 7.0 / 8 | 91.0 % |" in summary and "ring8: yes (5† seeds)" in summary
    assert "| `wgan` | 3.0 / 8 | 50.0 % |" in summary and "ring8: no (1 seed)" in summary


def _mixture_record(work, variant, seed, hq, modes, adam, optimizer="adam"):
    folder = work / "ring8" / "default" / variant
    folder.mkdir(parents=True, exist_ok=True)
    record = dict(variant=variant, dataset="ring8", seed=seed, setting="default",
                  modes_covered=modes, num_modes=8, high_quality_fraction=hq,
                  settings=dict(optimizer=optimizer))
    if adam is not None:
        record["adam"] = adam
    (folder / f"seed{seed}.json").write_text(json.dumps(record))


def test_adam_forms_pairs_seeds_of_each_form_and_reports_the_paired_difference(tmp_path):
    """The fused-vs-Keras table pairs the seeds both forms ran, reads only records of the
    form each directory is for (no `adam` field = Keras's ops, the older records), and its
    mean difference and standard error are numpy's over the per-seed differences."""
    sys.path.insert(0, ROOT)
    from benchmarks import adam_forms

    fused_dir, keras_dir = tmp_path / "fused", tmp_path / "keras"
    fused_hq, keras_hq = [0.90, 0.80, 1.00, 0.70], [0.95, 0.90, 0.90]
    for seed, hq in enumerate(fused_hq):
        _mixture_record(fused_dir, "sngan", seed, hq, 8 - seed % 2, "fused")
    _mixture_record(fused_dir, "gan", 0, 0.5, 8, None)        # older: Keras's ops, left out
    _mixture_record(fused_dir, "wgan", 0, 0.5, 8, "fused", optimizer="rmsprop")
    for seed, hq in enumerate(keras_hq):
        _mixture_record(keras_dir, "sngan", seed, hq, 8, "keras")
    _mixture_record(keras_dir, "gan", 0, 0.9, 8, "keras")
    _mixture_record(keras_dir, "wgan", 0, 0.9, 8, "keras", optimizer="rmsprop")

    fused = adam_forms.load_runs(str(fused_dir), "fused")
    keras = adam_forms.load_runs(str(keras_dir), "keras")
    assert set(fused) == {("ring8", "default", "sngan")}
    rows = adam_forms.compare(fused, keras)
    assert len(rows) == 1                                     # one group: no pooled row
    row = rows[0]
    assert row["seeds"] == [0, 1, 2]                          # seed 3 has no Keras run
    diffs = 100 * (np.array(fused_hq[:3]) - np.array(keras_hq))   # -5, -10, +10
    np.testing.assert_allclose(row["hq_diff"], (diffs.mean(), diffs.std(ddof=1) / np.sqrt(3)))
    modes = np.array([8, 7, 8]) - 8
    np.testing.assert_allclose(row["modes_diff"], (modes.mean(), modes.std(ddof=1) / np.sqrt(3)))
    assert (row["lower"], row["higher"]) == (2, 1)
    assert row["verdict"] == "no clear difference"            # |-1.7| < 2 x 6.0
    assert adam_forms.verdict(-3.0, 1.4, 10) == "fused lower"
    assert adam_forms.verdict(3.0, 1.4, 10) == "fused higher"
    assert adam_forms.verdict(-3.0, 1.6, 10) == "no clear difference"
    assert adam_forms.verdict(-3.0, 0.0, 1) == "no clear difference"
    held_out = adam_forms.compare(adam_forms.load_runs(str(fused_dir), "fused", first_seed=1),
                                  keras)
    assert held_out[0]["seeds"] == [1, 2]
    table = adam_forms.table(rows)
    assert "| ring8 | default | `sngan` | 3 | 90.0 ± 5.8 | 91.7 ± 1.7 | -1.7 ± 6.0 |" in table


def test_adam_forms_refuses_directories_without_common_runs_with_one_line(tmp_path):
    _mixture_record(tmp_path / "f", "sngan", 0, 0.9, 8, "fused")
    _mixture_record(tmp_path / "k", "cgan", 0, 0.9, 8, "keras")
    for args, message in (([f"--fused_dir={tmp_path / 'none'}"], "is not a directory"),
                          ([f"--fused_dir={tmp_path / 'f'}", f"--keras_dir={tmp_path / 'k'}"],
                           "has runs in both")):
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks",
                                                            "adam_forms.py"), "--markers=",
                               *args], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2 and message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_fid_curves_flatness_and_event_reading(tmp_path):
    """The curve reader gets back what a run's writer logged (last value of a step wins),
    and the flatness rule compares the last third's best with the best before it."""
    import tensorflow as tf

    sys.path.insert(0, ROOT)
    from benchmarks import curves as fid_curves

    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step, value in ((100, 50.0), (200, 30.0), (200, 31.0)):
            tf.summary.scalar("eval/fid@500", value, step=step)
        tf.summary.scalar("eval_ema/fid@500", 40.0, step=200)
        tf.summary.scalar("train/d_loss", 1.0, step=200)
    writer.close()
    assert fid_curves.read_curves(str(tmp_path)) == {
        "eval/fid@500": [(100, 50.0), (200, 31.0)], "eval_ema/fid@500": [(200, 40.0)]}

    # 6 points: the last third is the last 2. Best before 20, best after 19.5: 2.5 % fall.
    curve = list(enumerate([80.0, 40.0, 20.0, 25.0, 19.5, 21.0]))
    flat, fall = fid_curves.flatness(curve, 0.05)
    assert flat and abs(fall - 0.025) < 1e-12
    flat, fall = fid_curves.flatness(list(enumerate([80.0, 40.0, 20.0, 25.0, 10.0])), 0.05)
    assert not flat and abs(fall - 0.5) < 1e-12
    assert fid_curves.flatness([(0, 1.0), (1, float("nan"))], 0.05) is None


def test_fid_curves_overrides_are_parsed_and_name_the_run():
    from benchmarks import curves as fid_curves

    assert fid_curves.parse_overrides(["g_norm=none", "d_steps=2", "ema_decay=0.5",
                                       "d_spectral_norm=true"]) == {
        "g_norm": "none", "d_steps": 2, "ema_decay": 0.5, "d_spectral_norm": True}
    assert fid_curves.run_name("wgan", ["g_norm=none"]) == "wgan+g_norm=none"
    assert fid_curves.run_name("wgan", []) == "wgan"
    with pytest.raises(ValueError, match="KEY=VALUE"):
        fid_curves.parse_overrides(["g_norm"])


def test_fid_curves_trains_on_past_a_shorter_stored_record_and_keeps_the_rest():
    from benchmarks.curves import stored_record_stands

    stored = {"steps": 10000, "seed": 0}
    # A larger --steps trains on (the run resumes); the same budget, a smaller --steps,
    # another seed and a diverged run (whose record has no steps or seed) are kept, each
    # saying why.
    assert stored_record_stands(stored, 20000, 0) == ""
    assert "same budget" in stored_record_stands(stored, 10000, 0)
    assert "more than --steps=5000" in stored_record_stands(stored, 5000, 0)
    assert "seed 0, not 1" in stored_record_stands(stored, 20000, 1)
    diverged = {"variant": "wgan", "name": "wgan", "diverged": "NaN at step 300", "train_s": 9}
    assert "diverged run (NaN at step 300)" in stored_record_stands(diverged, 20000, 0)


def test_fid_curves_label_table_and_generated_sections(tmp_path):
    from benchmarks import curves

    per_class = [1.0, 0.5, 0.25, 0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7]
    results = {
        "cgan": dict(steps=10000, final=dict(
            raw=dict(fid=30.0, label_accuracy=0.405, label_accuracy_per_class=per_class),
            ema=dict(fid=28.0, label_accuracy=0.5, label_accuracy_per_class=[0.5] * 10))),
        "dcgan": dict(steps=10000, final=dict(raw=dict(fid=20.0), ema=dict(fid=19.0)))}
    rows = curves.label_table(results).splitlines()
    assert len(rows) == 4 and "dcgan" not in "".join(rows)   # header, rule, G, EMA
    assert rows[0].startswith("| run | generator | all | T-shirt/top | Trouser |")
    assert rows[0].endswith("| Bag | Ankle boot |")
    assert rows[2] == ("| `cgan` (10,000 steps) | G | 0.405 | 1.00 | 0.50 | 0.25 | 0.00 | "
                       "0.10 | 0.20 | 0.30 | 0.40 | 0.60 | 0.70 |")
    assert rows[3].startswith("| `cgan` (10,000 steps) | EMA | 0.500 | 0.50 |")
    assert curves.label_table({"dcgan": results["dcgan"]}) == ""

    page = tmp_path / "README.md"
    page.write_text("top\n<!-- T:BEGIN -->\nold\n<!-- T:END -->\nbottom\n")
    curves.write_section(str(page), "T", "new\nrows", required=True)
    assert page.read_text() == "top\n<!-- T:BEGIN -->\nnew\nrows\n<!-- T:END -->\nbottom\n"
    curves.write_section(str(page), "ABSENT", "x", required=False)      # left as it is
    assert "x" not in page.read_text()
    with pytest.raises(ValueError, match="no <!-- ABSENT:BEGIN --> / <!-- ABSENT:END -->"):
        curves.write_section(str(page), "ABSENT", "x", required=True)


def test_fid_curves_training_scalars_and_rank_correlation(tmp_path):
    """Training scalars come back from the events; Spearman's rho equals scipy's (ties
    included); each evaluation is paired with the scalar's mean over its interval."""
    import tensorflow as tf
    from scipy import stats

    sys.path.insert(0, ROOT)
    from benchmarks import curves

    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in (100, 200, 300, 400):
            tf.summary.scalar("train/wasserstein", float(step) / 100, step=step)
        tf.summary.scalar("eval/fid@500", 9.0, step=200)
    writer.close()
    assert curves.read_scalars(str(tmp_path), ("train/",)) == {
        "train/wasserstein": [(100, 1.0), (200, 2.0), (300, 3.0), (400, 4.0)]}

    rng = np.random.default_rng(0)
    for x, y in ((rng.normal(size=12), rng.normal(size=12)),
                 ([1, 2, 2, 3, 5, 5, 5], [7, 1, 3, 3, 2, 9, 4])):
        assert abs(curves.spearman(x, y) - stats.spearmanr(x, y).statistic) < 1e-12
    assert curves.spearman([1, 2], [2, 1]) is None
    assert curves.spearman([1, 1, 1], [1, 2, 3]) is None
    with pytest.raises(ValueError):
        curves.spearman([1, 2, 3], [1, 2])

    series = [(50, 10.0), (100, 8.0), (150, 6.0), (200, 4.0), (250, float("nan")),
              (300, 3.0), (400, 1.0)]
    # (-inf, 100]: 10, 8 -> 9; (100, 200]: 6, 4 -> 5; (200, 300]: 3 (NaN dropped); (300, 350]: none
    assert curves.interval_means(series, [100, 200, 300, 350]) == [9.0, 5.0, 3.0, None]
    fid = [(100, 90.0), (200, 60.0), (300, 70.0), (350, 50.0), (400, 40.0)]
    rho, n = curves.signal_correlation(series, fid)
    # pairs (9, 90), (5, 60), (3, 70), (1, 40): ranks x 4,3,2,1 and y 4,2,3,1 -> rho 0.8
    assert n == 4 and abs(rho - 0.8) < 1e-12
