"""Tests for tfgan_suite.nets: shapes, layer stacks, initialisation, errors, XLA.

Expected values are written out by hand from the papers' layer tables, not read
back from the code under test.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import nets
from tfgan_suite.nets import autoencoder
from tfgan_suite.nets.batch_norm import FusedBatchNormalization

IMAGE_SHAPES = [(s, s, c) for s in (28, 32, 64) for c in (1, 3)]
SMALL = 8  # width for shape tests: cheap to build, same topology


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="module")
def dcgan28_g():
    """The reference-size DCGAN generator for 28x28x1: width 64, latent 64."""
    keras.utils.set_random_seed(7)
    return nets.build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=64, width=64)


def _layers(model, cls):
    """Layers of exactly type `cls`; for batch norm, also the fused subclass the image nets use."""
    if cls is keras.layers.BatchNormalization:
        return [layer for layer in model.layers if isinstance(layer, cls)]
    return [layer for layer in model.layers if type(layer) is cls]


def _norm_layers(model):
    return [l for l in model.layers
            if isinstance(l, (keras.layers.BatchNormalization, keras.layers.LayerNormalization))]


# ---------------------------------------------------------------- registry


def test_registry_and_defaults():
    assert nets.ARCHITECTURES == ("dcgan", "mlp", "pacgan")
    assert nets.default_architecture("image") == "dcgan"
    assert nets.default_architecture("points") == "mlp"
    assert issubclass(nets.ArchitectureError, ValueError)


# ------------------------------------------------------------------ shapes


@pytest.mark.parametrize("architecture", ["dcgan", "mlp"])
@pytest.mark.parametrize("data_shape", IMAGE_SHAPES)
def test_image_shapes_and_range(architecture, data_shape):
    g = nets.build_generator(architecture, data_shape=data_shape, latent_dim=16, width=SMALL)
    d = nets.build_discriminator(architecture, data_shape=data_shape, width=SMALL)
    # Large z pushes pre-activations far out, so a missing tanh would leave [-1, 1].
    z = 50.0 * np.random.default_rng(0).standard_normal((3, 16)).astype("float32")
    x = g(z, training=True)
    assert tuple(x.shape) == (3, *data_shape)
    assert x.dtype == tf.float32
    x = x.numpy()
    assert np.all(np.abs(x) <= 1.0)
    assert np.std(x) > 1e-3  # not a constant image
    logits = d(x, training=True)
    assert tuple(logits.shape) == (3, 1)
    assert logits.dtype == tf.float32


def test_points_shapes_linear_output():
    g = nets.build_generator("mlp", data_shape=(2,), latent_dim=4, width=SMALL)
    d = nets.build_discriminator("mlp", data_shape=(2,), width=SMALL, norm="none")
    z = 100.0 * np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    x = g(z)
    assert tuple(x.shape) == (5, 2) and x.dtype == tf.float32
    # Linear output in data coordinates: not squashed into [-1, 1].
    assert np.max(np.abs(x.numpy())) > 1.0
    assert tuple(d(x).shape) == (5, 1)
    # Raw logits: a linear last layer, no sigmoid.
    assert keras.activations.serialize(d.layers[-1].activation) == "linear"
    assert keras.activations.serialize(g.layers[-1].activation) == "linear"


def test_last_layers_are_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        for architecture, shape in [("dcgan", (32, 32, 3)), ("mlp", (28, 28, 1)), ("mlp", (2,))]:
            g = nets.build_generator(architecture, data_shape=shape, latent_dim=8, width=SMALL)
            d = nets.build_discriminator(architecture, data_shape=shape, width=SMALL)
            x = g(np.zeros((2, 8), "float32"))
            assert x.dtype == tf.float32, (architecture, shape)
            assert d(x).dtype == tf.float32, (architecture, shape)
            assert g.layers[-1].dtype_policy.compute_dtype == "float32"
            assert d.layers[-1].dtype_policy.compute_dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


# ------------------------------------------------------------ dcgan stacks

# With width w = 8: G's last hidden block has w channels, earlier ones 2w, 4w;
# D's first conv has w channels, then 2w, 4w, 8w.
G_PROGRESSION = {
    28: ((7, 7, 16), [(14, 14, 8), (28, 28, "C")]),
    32: ((4, 4, 32), [(8, 8, 16), (16, 16, 8), (32, 32, "C")]),
    64: ((4, 4, 64), [(8, 8, 32), (16, 16, 16), (32, 32, 8), (64, 64, "C")]),
}
D_PROGRESSION = {
    28: [(14, 14, 8), (7, 7, 16)],
    32: [(16, 16, 8), (8, 8, 16), (4, 4, 32)],
    64: [(32, 32, 8), (16, 16, 16), (8, 8, 32), (4, 4, 64)],
}


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_generator_progression(size, channels):
    g = nets.build_generator("dcgan", data_shape=(size, size, channels), latent_dim=10, width=SMALL)
    start, ups = G_PROGRESSION[size]
    expected = [tuple(channels if d == "C" else d for d in s) for s in ups]
    reshape = _layers(g, keras.layers.Reshape)
    assert [tuple(r.output.shape[1:]) for r in reshape] == [start]
    convt = _layers(g, keras.layers.Conv2DTranspose)
    assert [tuple(l.output.shape[1:]) for l in convt] == expected
    for layer in convt:
        assert layer.strides == (2, 2) and layer.kernel_size == (4, 4)
        assert layer.padding == "same"
    # BN after the projection and after every ConvT but the output one.
    assert len(_layers(g, keras.layers.BatchNormalization)) == len(convt)
    assert g.layers[-1] is convt[-1]
    assert keras.activations.serialize(convt[-1].activation) == "tanh"
    # No bias before batch norm, a bias on the output layer.
    assert not _layers(g, keras.layers.Dense)[0].use_bias
    assert [l.use_bias for l in convt] == [False] * (len(convt) - 1) + [True]


@pytest.mark.parametrize("size", [28, 32, 64])
def test_dcgan_discriminator_strides(size):
    d = nets.build_discriminator("dcgan", data_shape=(size, size, 3), width=SMALL)
    convs = _layers(d, keras.layers.Conv2D)
    assert [tuple(l.output.shape[1:]) for l in convs] == D_PROGRESSION[size]
    for layer in convs:
        assert layer.strides == (2, 2) and layer.kernel_size == (4, 4)
    leaky = _layers(d, keras.layers.LeakyReLU)
    assert len(leaky) == len(convs)
    assert all(math.isclose(l.negative_slope, 0.2) for l in leaky)
    logits = d.layers[-1]
    assert isinstance(logits, keras.layers.Dense) and logits.units == 1
    assert keras.activations.serialize(logits.activation) == "linear"
    assert isinstance(d.layers[-2], keras.layers.Flatten)


def test_dcgan28_layer_stacks():
    g = nets.build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=10, width=SMALL)
    d = nets.build_discriminator("dcgan", data_shape=(28, 28, 1), width=SMALL)
    L = keras.layers
    assert [type(l) for l in g.layers] == [
        L.InputLayer, L.Dense, L.Reshape, FusedBatchNormalization, L.ReLU,
        L.Conv2DTranspose, FusedBatchNormalization, L.ReLU, L.Conv2DTranspose]
    assert [type(l) for l in d.layers] == [
        L.InputLayer, L.Conv2D, L.LeakyReLU,
        L.Conv2D, FusedBatchNormalization, L.LeakyReLU, L.Flatten, L.Dense]


# -------------------------------------------------------------- mlp stacks


def _dense_units(model):
    return [l.units for l in _layers(model, keras.layers.Dense)]


def test_mlp_sizes_at_reference_width():
    g = nets.build_generator("mlp", data_shape=(2,), latent_dim=3, width=64)
    d = nets.build_discriminator("mlp", data_shape=(2,), width=64)
    assert _dense_units(g) == [128, 128, 2]
    assert _dense_units(d) == [128, 128, 1]
    assert all(keras.activations.serialize(l.activation) == "relu"
               for l in _layers(g, keras.layers.Dense)[:-1])
    g = nets.build_generator("mlp", data_shape=(28, 28, 1), latent_dim=3, width=64)
    d = nets.build_discriminator("mlp", data_shape=(28, 28, 1), width=64)
    assert _dense_units(g) == [256, 512, 1024, 784]
    assert len(_layers(g, keras.layers.BatchNormalization)) == 3
    assert len(_layers(g, keras.layers.LeakyReLU)) == 3
    assert _dense_units(d) == [512, 256, 1]
    assert len(_layers(d, keras.layers.BatchNormalization)) == 1
    # Half the width halves every hidden layer.
    g = nets.build_generator("mlp", data_shape=(32, 32, 3), latent_dim=3, width=32)
    assert _dense_units(g) == [128, 256, 512, 32 * 32 * 3]


# ---------------------------------------------------------- initialisation


def test_dcgan_kernel_init_is_normal_0_02(dcgan28_g):
    kernel = dcgan28_g.get_layer("project").kernel.numpy().ravel()
    n = kernel.size
    assert n == 64 * 7 * 7 * 128
    sigma = 0.02
    # 6 standard errors: mean SE = sigma/sqrt(n), std SE ~ sigma/sqrt(2n).
    assert abs(kernel.mean()) < 6 * sigma / math.sqrt(n)
    assert abs(kernel.std() - sigma) < 6 * sigma / math.sqrt(2 * n)
    # Not truncated: a truncated normal at 2 sigma has no values beyond 2 sigma
    # (a normal has about 4.55% of them).
    assert abs(np.mean(np.abs(kernel) > 2 * sigma) - 0.0455) < 0.003


def test_dcgan_bn_gamma_init(dcgan28_g):
    gamma = dcgan28_g.get_layer("project_bn").gamma.numpy()
    n = gamma.size
    assert n == 128
    assert abs(gamma.mean() - 1.0) < 6 * 0.02 / math.sqrt(n)
    assert abs(gamma.std() - 0.02) < 6 * 0.02 / math.sqrt(2 * n)


def test_layers_draw_independent_kernels():
    # One shared Keras initializer instance carries one seed: every layer would
    # get the same draw. Equal-shaped kernels must differ.
    d = nets.build_discriminator("dcgan", data_shape=(64, 64, 3), width=SMALL, norm="none")
    g = nets.build_generator("dcgan", data_shape=(64, 64, 3), latent_dim=8, width=SMALL)
    k1 = d.get_layer("down1").kernel.numpy().ravel()[:50]
    k2 = g.get_layer("to_image").kernel.numpy().ravel()[:50]
    k3 = g.get_layer("up3").kernel.numpy().ravel()[:50]
    assert not np.allclose(k1, k2) and not np.allclose(k2, k3)


# ---------------------------------------------------------- normalisation


@pytest.mark.parametrize("architecture,shape", [
    ("dcgan", (28, 28, 1)), ("dcgan", (64, 64, 3)), ("mlp", (32, 32, 3)), ("mlp", (2,))])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_discriminator_norm(architecture, shape, norm):
    d = nets.build_discriminator(architecture, data_shape=shape, width=SMALL, norm=norm)
    hidden = _layers(d, keras.layers.Conv2D if architecture == "dcgan" else keras.layers.Dense)
    if architecture == "mlp":
        hidden = hidden[:-1]  # drop the logits layer
    # The first hidden layer feeds LeakyReLU directly, never a normalisation.
    first = d.layers.index(hidden[0])
    assert isinstance(d.layers[first + 1], keras.layers.LeakyReLU)
    bn = _layers(d, keras.layers.BatchNormalization)
    ln = _layers(d, keras.layers.LayerNormalization)
    expected = len(hidden) - 1
    assert (len(bn), len(ln)) == {"batch": (expected, 0), "layer": (0, expected),
                                  "none": (0, 0)}[norm]
    for layer in hidden[1:]:  # each normalised layer sits right after its conv/dense
        following = d.layers[d.layers.index(layer) + 1]
        assert (following in bn + ln) == (norm != "none")
        assert layer.use_bias == (norm == "none")
    # Layer norm statistics per example over all features: (H, W, C) for convs,
    # as in WGAN-GP's critic; the features of a Dense output for the mlp.
    expected_axes = ([1, 2, 3],) if architecture == "dcgan" else ([1], [-1])
    assert all(sorted(np.atleast_1d(l.axis).tolist()) in expected_axes for l in ln)


def test_layer_norm_critic_treats_examples_independently():
    # The reason for norm="layer": a gradient penalty is per example, so the
    # critic's output for one example must not depend on the rest of the batch.
    x = np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    d = nets.build_discriminator("dcgan", data_shape=(28, 28, 1), width=SMALL, norm="layer")
    np.testing.assert_allclose(d(x, training=True)[:1], d(x[:1], training=True),
                               rtol=1e-4, atol=1e-5)
    d = nets.build_discriminator("dcgan", data_shape=(28, 28, 1), width=SMALL, norm="batch")
    assert not np.allclose(d(x, training=True)[:1], d(x[:2], training=True)[:1], atol=1e-5)


@pytest.mark.parametrize("architecture,shape", [
    ("dcgan", (28, 28, 1)), ("dcgan", (64, 64, 3)), ("mlp", (28, 28, 1)), ("pacgan", (2,))])
def test_generator_without_batch_norm(architecture, shape):
    # g_norm="none" (WGAN-GP section 5's no-BN generator): same layers minus every BN,
    # and each layer that BN followed gets the bias BN's offset stood in for.
    with_bn = nets.build_generator(architecture, data_shape=shape, latent_dim=8, width=SMALL)
    without = nets.build_generator(architecture, data_shape=shape, latent_dim=8, width=SMALL,
                                   norm="none")
    bn_names = [l.name for l in _layers(with_bn, keras.layers.BatchNormalization)]
    assert bn_names and not _norm_layers(without)
    assert [l.name for l in without.layers] == [l.name for l in with_bn.layers
                                                if l.name not in bn_names]
    # the nearest layer with weights before each BN (dcgan: a Reshape sits between)
    followed = {next(p.name for p in reversed(with_bn.layers[:i]) if hasattr(p, "use_bias"))
                for i, l in enumerate(with_bn.layers) if l.name in bn_names}
    assert len(followed) == len(bn_names)
    for layer in without.layers:
        if layer.name in followed:
            assert layer.use_bias and not with_bn.get_layer(layer.name).use_bias
    assert without(tf.zeros([3, 8])).shape == (3,) + shape
    # an explicit "batch" builds exactly the default network
    explicit = nets.build_generator(architecture, data_shape=shape, latent_dim=8, width=SMALL,
                                    norm="batch")
    assert [l.name for l in explicit.layers] == [l.name for l in with_bn.layers]


def test_generator_without_batch_norm_treats_examples_independently():
    # What dropping BN is for: in training mode a BN generator's output for one z depends
    # on the rest of the batch; without BN it must not.
    z = np.random.default_rng(2).normal(size=(4, 8)).astype("float32")
    g = nets.build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=8, width=SMALL,
                             norm="none")
    np.testing.assert_allclose(g(z, training=True)[:1], g(z[:1], training=True),
                               rtol=1e-4, atol=1e-6)
    g = nets.build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=8, width=SMALL)
    assert not np.allclose(g(z, training=True)[:1], g(z[:2], training=True)[:1], atol=1e-4)


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("call,needles", [
    (lambda: nets.build_generator("resnet", data_shape=(28, 28, 1), latent_dim=8),
     ["resnet", "'dcgan'", "'mlp'"]),
    (lambda: nets.build_discriminator("DCGAN", data_shape=(28, 28, 1)),
     ["'dcgan'", "'mlp'"]),
    (lambda: nets.build_generator("dcgan", data_shape=(48, 48, 3), latent_dim=8),
     ["28x28, 32x32 and 64x64", "1 or 3 channels", "(48, 48, 3)", "--image_size"]),
    (lambda: nets.build_discriminator("mlp", data_shape=(32, 28, 1)),
     ["28x28, 32x32 and 64x64", "(32, 28, 1)"]),
    (lambda: nets.build_discriminator("dcgan", data_shape=(32, 32, 4)),
     ["1 or 3 channels", "(32, 32, 4)"]),
    (lambda: nets.build_generator("dcgan", data_shape=(2,), latent_dim=8),
     ["--architecture=mlp"]),
    (lambda: nets.build_discriminator("dcgan", data_shape=(2,)),
     ["--architecture=mlp"]),
    (lambda: nets.build_generator("mlp", data_shape=(3,), latent_dim=8),
     ["2-D points (2,)", "(3,)"]),
    (lambda: nets.build_generator("mlp", data_shape=(28, 28), latent_dim=8),
     ["28x28", "(28, 28)"]),
    (lambda: nets.build_discriminator("dcgan", data_shape=(28, 28, 1), norm="group"),
     ["'batch'", "'layer'", "'none'", "'group'"]),
    (lambda: nets.build_discriminator("mlp", data_shape=(2,), norm=None),
     ["'batch'", "'layer'", "'none'"]),
    (lambda: nets.build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=0),
     ["latent_dim", "positive"]),
    (lambda: nets.build_discriminator("dcgan", data_shape=(28, 28, 1), width=2.5),
     ["width", "positive"]),
    (lambda: nets.build_generator("mlp", data_shape=28, latent_dim=8),
     ["data_shape", "tuple"]),
    (lambda: nets.default_architecture("audio"), ["'image'", "'points'", "audio"]),
    (lambda: nets.build_generator("dcgan", data_shape=(28, 28, 1), latent_dim=8,
                                  norm="layer"), ["g_norm", "'batch'", "'none'", "'layer'"]),
    (lambda: nets.build_generator("mlp", data_shape=(2,), latent_dim=8, norm="batch"),
     ["mlp", "(2,)", "no batch norm", "'none'"]),
    (lambda: autoencoder.build_players("began", data_shape=(28, 28, 1), latent_dim=8,
                                       g_norm="batch"), ["began", "no batch norm"]),
    # pacgan: 2-D points only, its discriminator also on M packed points
    (lambda: nets.build_generator("pacgan", data_shape=(28, 28, 1), latent_dim=8),
     ["pacgan", "2-D points (2,)", "(28, 28, 1)", "--architecture=dcgan or mlp"]),
    (lambda: nets.build_discriminator("pacgan", data_shape=(32, 32, 3)),
     ["pacgan", "packed points (2 * M,)", "(32, 32, 3)"]),
    (lambda: nets.build_generator("pacgan", data_shape=(8,), latent_dim=2),
     ["single 2-D points", "(8,)", "discriminator"]),
    (lambda: nets.build_discriminator("pacgan", data_shape=(3,)), ["(3,)", "(2 * M,)"]),
    (lambda: nets.build_discriminator("mlp", data_shape=(4,)), ["(4,)"]),
])
def test_errors_name_the_accepted_values(call, needles):
    with pytest.raises(nets.ArchitectureError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


# --------------------------------------------------------------------- XLA


@pytest.mark.parametrize("architecture,shape", [("dcgan", (28, 28, 1)), ("mlp", (2,))])
def test_jit_forward_backward(architecture, shape):
    g = nets.build_generator(architecture, data_shape=shape, latent_dim=8, width=SMALL)
    d = nets.build_discriminator(architecture, data_shape=shape, width=SMALL)
    variables = g.trainable_variables + d.trainable_variables

    @tf.function(jit_compile=True)
    def step(z):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softplus(-d(g(z, training=True), training=True)))
        return loss, tape.gradient(loss, variables)

    loss, grads = step(tf.random.stateless_normal((4, 8), seed=(1, 2)))
    assert np.isfinite(loss.numpy())
    assert all(grad is not None for grad in grads)
    assert all(np.all(np.isfinite(grad.numpy())) for grad in grads)
    assert any(np.any(grad.numpy() != 0) for grad in grads[: len(g.trainable_variables)])


# ------------------------------------------------------- parameter counts


def test_dcgan28_generator_parameter_count(dcgan28_g):
    latent, w = 64, 64
    project = latent * (7 * 7 * 2 * w)      # Dense 64 -> 7*7*128, no bias
    project_bn = 4 * (2 * w)                 # gamma, beta, moving mean, moving var
    up1 = 4 * 4 * (2 * w) * w                # ConvT 128 -> 64, kernel 4x4, no bias
    up1_bn = 4 * w
    to_image = 4 * 4 * w * 1 + 1             # ConvT 64 -> 1 with bias
    total = project + project_bn + up1 + up1_bn + to_image
    assert total == 534_273
    assert dcgan28_g.count_params() == total
    trainable = total - 2 * (2 * w) - 2 * w  # moving statistics are not trained
    assert sum(int(np.prod(v.shape)) for v in dcgan28_g.trainable_variables) == trainable
