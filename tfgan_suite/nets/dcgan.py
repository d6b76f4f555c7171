"""DCGAN generator and discriminator (Radford et al., 2016).

The generator projects z to a small spatial map and doubles the resolution with
stride-2 transposed convolutions while halving the channels; the discriminator
mirrors it with stride-2 convolutions. Every choice the paper and its reference
code make is kept: N(0, 0.02) kernels, batch-norm gamma ~ N(1, 0.02), ReLU in G,
LeakyReLU(0.2) in D, no normalisation on G's output layer or on D's first layer,
tanh output.

Arguments arrive validated from `tfgan_suite.nets.build_generator` /
`build_discriminator`; call those, not this module.

Reference:
    Radford, Metz, Chintala. "Unsupervised Representation Learning with Deep
    Convolutional Generative Adversarial Networks", ICLR 2016.
    https://arxiv.org/abs/1511.06434 and github.com/Newmu/dcgan_code.
"""

import keras

from tfgan_suite.nets.batch_norm import FusedBatchNormalization
from tfgan_suite.nets.spectral_norm import maybe_wrap

# Side of the map the generator's Dense layer projects to, per image side. Each
# stride-2 block doubles it: 7 -> 14 -> 28, 4 -> 8 -> 16 -> 32, 4 -> ... -> 64.
START_SIZE = {28: 7, 32: 4, 64: 4}

KERNEL_SIZE = 4
LEAKY_SLOPE = 0.2
# DCGAN's reference TF code: batch norm momentum 0.9, epsilon 1e-5.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def _kernel_init():
    # A fresh instance per layer: one shared Keras 3 initializer carries one
    # fixed seed, so every layer using it would get identical weights.
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _batch_norm(name):
    return FusedBatchNormalization(
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02),
        name=name,
    )


def _num_blocks(image_size):
    """Number of stride-2 resolution changes between the start map and the image."""
    blocks, side = 0, START_SIZE[image_size]
    while side < image_size:
        side *= 2
        blocks += 1
    return blocks


def generator(data_shape, latent_dim, width, name, batch_norm=True):
    """Builds the DCGAN generator.

    Layer stack for n = number of stride-2 blocks (2 for 28x28, 3 for 32x32,
    4 for 64x64) and s = start size (7 for 28x28, 4 otherwise):

        z [N, latent_dim]
        -> Dense(s*s*width*2**(n-1), no bias) -> Reshape(s, s, .) -> BN -> ReLU
        -> (n-1) x [Conv2DTranspose(channels halving, 4, stride 2, same,
                    no bias) -> BN -> ReLU]
        -> Conv2DTranspose(C, 4, stride 2, same, tanh, float32)

    The last hidden block has `width` channels (DCGAN's ngf). Without batch norm
    (`batch_norm=False`, the no-BN generator of WGAN-GP's section 5) every BN is
    dropped and the Dense and hidden transposed convolutions get biases instead.

    Args:
        data_shape: (H, W, C), already validated.
        latent_dim: size of z.
        width: channels of the last hidden block.
        name: model name.
        batch_norm: keep DCGAN's batch norm after the projection and each hidden block.

    Returns:
        A functional `keras.Model` mapping float32 [N, latent_dim] to float32
        [N, H, W, C] in [-1, 1].
    """
    size, _, channels = data_shape
    start, blocks = START_SIZE[size], _num_blocks(size)
    filters = width * 2 ** (blocks - 1)

    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    x = keras.layers.Dense(
        start * start * filters,
        use_bias=not batch_norm,
        kernel_initializer=_kernel_init(),
        name="project",
    )(z)
    x = keras.layers.Reshape((start, start, filters), name="project_reshape")(x)
    if batch_norm:
        x = _batch_norm("project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    for i in range(1, blocks):
        filters //= 2
        x = keras.layers.Conv2DTranspose(
            filters,
            KERNEL_SIZE,
            strides=2,
            padding="same",
            use_bias=not batch_norm,
            kernel_initializer=_kernel_init(),
            name=f"up{i}",
        )(x)
        if batch_norm:
            x = _batch_norm(f"up{i}_bn")(x)
        x = keras.layers.ReLU(name=f"up{i}_relu")(x)
    images = keras.layers.Conv2DTranspose(
        channels,
        KERNEL_SIZE,
        strides=2,
        padding="same",
        activation="tanh",
        kernel_initializer=_kernel_init(),
        dtype="float32",
        name="to_image",
    )(x)
    return keras.Model(z, images, name=name)


def _norm_layer(norm, name):
    if norm == "batch":
        return _batch_norm(name)
    # Statistics over (H, W, C) of each example, as in WGAN-GP's critic: no
    # coupling between examples, so the per-sample gradient penalty is valid.
    return keras.layers.LayerNormalization(axis=(1, 2, 3), epsilon=BN_EPSILON, name=name)


def discriminator(data_shape, width, norm, name, spectral_norm=False):
    """Builds the DCGAN discriminator.

    Layer stack (n as for the generator; channels width, 2*width, ...):

        x [N, H, W, C]
        -> Conv2D(width, 4, stride 2, same) -> LeakyReLU(0.2)         # no norm
        -> (n-1) x [Conv2D(channels doubling, 4, stride 2, same)
                    -> norm -> LeakyReLU(0.2)]
        -> Flatten -> Dense(1, float32)                               # logits

    The spatial side halves each layer: 28 -> 14 -> 7, 32 -> 16 -> 8 -> 4,
    64 -> 32 -> 16 -> 8 -> 4. Convolutions followed by a normalisation with its
    own offset (batch, layer) have no bias.

    Args:
        data_shape: (H, W, C), already validated.
        width: channels of the first conv layer (DCGAN's ndf).
        norm: "batch", "layer" (over H, W, C per example) or "none".
        name: model name.
        spectral_norm: wrap every Conv2D and the logits Dense in
            `SpectralNormalization` (layer names get a `_sn` suffix).

    Returns:
        A functional `keras.Model` mapping [N, H, W, C] to float32 logits [N, 1].
    """
    size = data_shape[0]
    blocks = _num_blocks(size)

    images = keras.Input(shape=tuple(data_shape), dtype="float32", name="images")
    x = maybe_wrap(keras.layers.Conv2D(
        width,
        KERNEL_SIZE,
        strides=2,
        padding="same",
        kernel_initializer=_kernel_init(),
        name="down1",
    ), spectral_norm)(images)
    x = keras.layers.LeakyReLU(LEAKY_SLOPE, name="down1_lrelu")(x)
    filters = width
    for i in range(2, blocks + 1):
        filters *= 2
        x = maybe_wrap(keras.layers.Conv2D(
            filters,
            KERNEL_SIZE,
            strides=2,
            padding="same",
            use_bias=norm == "none",
            kernel_initializer=_kernel_init(),
            name=f"down{i}",
        ), spectral_norm)(x)
        if norm != "none":
            x = _norm_layer(norm, f"down{i}_{norm}_norm")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"down{i}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logits = maybe_wrap(keras.layers.Dense(
        1, kernel_initializer=_kernel_init(), dtype="float32", name="logits"
    ), spectral_norm)(x)
    return keras.Model(images, logits, name=name)
