"""`--instance_noise` reaches the discriminator of every variant that feeds it samples.

A spy on D (on McGAN's feature network Phi, which is what the step feeds) records the sample
input of every call during one eager `train_step`, and a spy on G records the fakes it
makes in training mode. With sigma_0 > 0 at step 1 of instance_noise_steps = 2 the
annealed std is sigma_t = sigma_0 (1 - 1/2) = sigma_0 / 2, and:
- some D input is the real batch plus noise: residual mean ~ 0 and std ~ sigma_t;
- every fake G made reaches D the same way (noise on real data only would let D tell them
  apart by the noise alone);
- no D input is exactly the real batch or a fake (none skips the noise).
With sigma_0 = 0 the real batch and every fake reach D unchanged, bit for bit.

Tolerance: each residual has BATCH x 2 = 512 elements; the draws are stateless (the test
is deterministic), and for 512 N(0, s^2) draws the sample std has a relative standard error
1/sqrt(2 * 512) = 3.1% and the mean a standard error s / sqrt(512) = 0.044 s, so the
bounds below (12% and 0.2 s) are about 4 standard errors.

irgan (recommendation lists, no samples) is left out; began and ebgan (auto-encoder
discriminators) refuse the setting, which is checked too.
"""

import numpy as np
import pytest

from tests import helpers
from tfgan_suite import config as config_lib
from tfgan_suite import data as data_lib
from tfgan_suite import training, variants
from tfgan_suite.variants.mcgan import FeatureMatchingCritic

BATCH = 256
SIGMA0 = 0.5
STD_RTOL, MEAN_ATOL = 0.12, 0.2
REFUSING = ("began", "ebgan")
NOISY = sorted(set(variants.REGISTRY) - set(REFUSING) - {"irgan"})


def config(name, sigma0, data):
    return training.fit_to_data(training.resolve_config(dict(
        variant=name, width=8, batch_size=BATCH, d_steps=1, seed=3, export=False,
        instance_noise=sigma0, instance_noise_steps=2)), data)


def record_calls(network, sink, *, outputs):
    """Wraps `network.call` to append its sample input (or, with `outputs`, its output of
    a training-mode call) to `sink` as numpy."""
    original = network.call

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        if outputs:
            if kwargs.get("training", args[1] if len(args) > 1 else None):
                sink.append(np.asarray(result))
        else:
            x = args[0]
            sink.append(np.asarray(x[0] if isinstance(x, (list, tuple)) else x))
        return result

    network.call = spy


def one_spied_step(name, sigma0):
    """(real batch, D's sample inputs, G's training-mode outputs) of step 1."""
    data = helpers.tiny_points(n=2 * BATCH)
    cfg = config(name, sigma0, data)
    model = training.build_model(cfg, data)
    d = model.discriminator
    d_inputs, fakes = [], []
    record_calls(d.features if isinstance(d, FeatureMatchingCritic) else d, d_inputs,
                 outputs=False)
    record_calls(model.generator, fakes, outputs=True)
    element = next(iter(data_lib.make_dataset(data, batch_size=BATCH, batches_per_step=1,
                                              seed=cfg.seed, with_labels=model.conditional)))
    real = np.asarray(element[0] if isinstance(element, tuple) else element)
    model.step.assign(1)
    np.testing.assert_allclose(float(model.instance_noise_std()), sigma0 / 2)
    model.train_step(element)   # eager: the spies see concrete values
    assert d_inputs and fakes
    return real, d_inputs, fakes


def is_noised(x, source, std):
    residual = x.astype(np.float64) - source
    return (x.shape == source.shape and abs(residual.mean()) < MEAN_ATOL * std
            and abs(residual.std() - std) < STD_RTOL * std)


def test_every_sample_variant_is_covered():
    assert set(NOISY) | set(REFUSING) | {"irgan"} == set(variants.REGISTRY)
    assert "wgan" in NOISY


@pytest.mark.parametrize("name", NOISY)
def test_annealed_instance_noise_reaches_d(name):
    real, d_inputs, fakes = one_spied_step(name, SIGMA0)
    std = SIGMA0 / 2
    assert any(is_noised(x, real, std) for x in d_inputs), (
        f"{name}: no D input is the real batch plus N(0, {std}^2) noise")
    for k, fake in enumerate(fakes):
        assert any(is_noised(x, fake, std) for x in d_inputs), (
            f"{name}: G's fake batch #{k} does not reach D with N(0, {std}^2) noise")
    for x in d_inputs:
        assert not any(x.shape == s.shape and np.array_equal(x, s) for s in [real, *fakes]), (
            f"{name}: a sample batch reaches D without noise")


@pytest.mark.parametrize("name", NOISY)
def test_without_instance_noise_d_sees_the_samples_unchanged(name):
    real, d_inputs, fakes = one_spied_step(name, 0.0)
    for source in [real, *fakes]:
        assert any(x.shape == source.shape and np.array_equal(x, source) for x in d_inputs)


@pytest.mark.parametrize("name", REFUSING)
def test_auto_encoder_variants_refuse_instance_noise(name):
    data = helpers.tiny_images(n=16)
    cfg = training.fit_to_data(training.resolve_config(dict(
        variant=name, width=8, batch_size=8, instance_noise=SIGMA0, export=False)), data)
    with pytest.raises(config_lib.ConfigError, match="instance_noise") as error:
        training.build_model(cfg, data)
    assert name in str(error.value)
