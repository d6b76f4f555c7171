"""Fully connected generator and discriminator, for 2-D points and for images.

For 2-D mixtures (ring8, grid25) a small MLP of two hidden layers of 128 units
is a common quick network of the mode-collapse literature; the networks behind
PacGAN's ring/grid table (deeper, batch norm, maxout) are `pacgan.py`. For images it is the fully connected GAN of Goodfellow et al.,
laid out as in PyTorch-GAN's `gan.py`: a baseline that shows what convolutions
buy.

`width` scales the hidden units linearly; the default `width=64` gives the
sizes of the references:

    points:  G z -> 2w -> 2w -> 2           D 2 -> 2w -> 2w -> 1
    images:  G z -> 4w -> 8w -> 16w -> HWC  D HWC -> 8w -> 4w -> 1

Kernels keep Keras' default Glorot-uniform initialisation (the references use
their framework's default too); the N(0, 0.02) of DCGAN would start a linear
2-D generator with all samples collapsed near the origin.

Arguments arrive validated from `tfgan_suite.nets.build_generator` /
`build_discriminator`; call those, not this module.

Reference:
    Goodfellow et al. "Generative Adversarial Nets", NeurIPS 2014.
    https://arxiv.org/abs/1406.2661
    github.com/eriklindernoren/PyTorch-GAN/blob/master/implementations/gan/gan.py
"""

import math

import keras

from tfgan_suite.nets.spectral_norm import maybe_wrap

LEAKY_SLOPE = 0.2
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def _batch_norm(name):
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name
    )


def _norm_layer(norm, name):
    if norm == "batch":
        return _batch_norm(name)
    return keras.layers.LayerNormalization(axis=-1, epsilon=BN_EPSILON, name=name)


def _is_image(data_shape):
    return len(data_shape) == 3


def generator(data_shape, latent_dim, width, name, batch_norm=True):
    """Builds the fully connected generator.

    Points (data_shape == (2,)):

        z -> Dense(2w) -> ReLU -> Dense(2w) -> ReLU -> Dense(2, float32)

    Images (data_shape == (H, W, C)):

        z -> 3 x [Dense(4w, 8w, 16w; no bias) -> BN -> LeakyReLU(0.2)]
          -> Dense(H*W*C, tanh, float32) -> Reshape(H, W, C)

    (`batch_norm=False`: the image generator's Dense layers have biases and no BN.)

    Args:
        data_shape: (2,) or (H, W, C), already validated.
        latent_dim: size of z.
        width: hidden-unit scale (64 gives the reference sizes).
        name: model name.
        batch_norm: keep the image generator's batch norm (the points one has none).

    Returns:
        A functional `keras.Model` mapping float32 [N, latent_dim] to float32
        [N, *data_shape]: linear data coordinates for points, [-1, 1] for
        images.
    """
    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    x = z
    if not _is_image(data_shape):
        for i in (1, 2):
            x = keras.layers.Dense(2 * width, activation="relu", name=f"hidden{i}")(x)
        points = keras.layers.Dense(data_shape[0], dtype="float32", name="to_points")(x)
        return keras.Model(z, points, name=name)

    for i, units in enumerate((4 * width, 8 * width, 16 * width), start=1):
        x = keras.layers.Dense(units, use_bias=not batch_norm, name=f"hidden{i}")(x)
        if batch_norm:
            x = _batch_norm(f"hidden{i}_bn")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"hidden{i}_lrelu")(x)
    x = keras.layers.Dense(
        math.prod(data_shape), activation="tanh", dtype="float32", name="to_pixels"
    )(x)
    # float32 here too: under a mixed policy a default Reshape would cast the
    # tanh output back to the compute dtype.
    images = keras.layers.Reshape(tuple(data_shape), dtype="float32", name="to_image")(x)
    return keras.Model(z, images, name=name)


def discriminator(data_shape, width, norm, name, spectral_norm=False):
    """Builds the fully connected discriminator.

    Points:  x -> Dense(2w) -> LReLU -> Dense(2w) -> norm -> LReLU -> Dense(1)
    Images:  x -> Flatten -> Dense(8w) -> LReLU -> Dense(4w) -> norm -> LReLU
               -> Dense(1)

    LReLU is LeakyReLU(0.2); the logits layer is linear and float32. As in the
    DCGAN discriminator, `norm` acts on every hidden layer except the first,
    and a Dense followed by a normalisation has no bias. `norm="none"` gives
    exactly the reference stacks.

    Args:
        data_shape: (2,) or (H, W, C), already validated.
        width: hidden-unit scale (64 gives the reference sizes).
        norm: "batch", "layer" (over the features) or "none".
        name: model name.
        spectral_norm: wrap every Dense in `SpectralNormalization` (layer
            names get a `_sn` suffix).

    Returns:
        A functional `keras.Model` mapping [N, *data_shape] to float32 logits
        [N, 1].
    """
    inputs = keras.Input(shape=tuple(data_shape), dtype="float32", name="inputs")
    if _is_image(data_shape):
        x = keras.layers.Flatten(name="flatten")(inputs)
        units = (8 * width, 4 * width)
    else:
        x = inputs
        units = (2 * width, 2 * width)
    for i, n in enumerate(units, start=1):
        normed = i > 1 and norm != "none"
        x = maybe_wrap(keras.layers.Dense(n, use_bias=not normed, name=f"hidden{i}"),
                       spectral_norm)(x)
        if normed:
            x = _norm_layer(norm, f"hidden{i}_{norm}_norm")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"hidden{i}_lrelu")(x)
    logits = maybe_wrap(keras.layers.Dense(1, dtype="float32", name="logits"),
                        spectral_norm)(x)
    return keras.Model(inputs, logits, name=name)
