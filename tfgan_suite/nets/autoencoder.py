"""Auto-encoder discriminators for the energy-based variants (`ebgan`, `began`).

In EBGAN and BEGAN the discriminator is an auto-encoder and a sample's energy is how
badly it is reconstructed. `AutoEncoder` keeps the encoder and the decoder apart because
EBGAN's pull-away term needs the encoder's representation S as well as the
reconstruction. The variants build it (and the generator) with `build_players`, from the
run's architecture name:

| architecture | generator | auto-encoder |
|---|---|---|
| `began` | BEGAN's (`nets.began`) | BEGAN's: 3x3 conv + ELU, h-dim embedding |
| `dcgan` | DCGAN's (`nets.dcgan`) | EBGAN's: the DCGAN discriminator's stride-2 4x4 convs (with `norm`) as encoder, the mirrored transposed convs as decoder; S = the last conv map |
| `mlp`   | the MLP generator (`nets.mlp`) | Dense encoder to an h-dim code, Dense decoder (images or 2-D points) |

Why not entries of `nets._REGISTRY`: that registry's discriminators map samples to logits
[N, 1], which every other variant relies on; an auto-encoder maps samples to samples.

Example:

>>> g, d = build_players("began", data_shape=(28, 28, 1), latent_dim=64, width=8)
>>> x = g(keras.ops.zeros((2, 64)))
>>> d(x).shape, d.encode(x).shape
(TensorShape([2, 28, 28, 1]), TensorShape([2, 64]))
"""

import math

import keras

from tfgan_suite import nets
from tfgan_suite.nets import began, dcgan

ARCHITECTURES = ("began", "dcgan", "mlp")
LEAKY_SLOPE = 0.2


class AutoEncoder(keras.Model):
    """x -> Dec(Enc(x)), with the encoder's code available as `encode(x)`.

    Args:
        encoder: keras.Model, samples [N, *data_shape] -> codes [N, ...].
        decoder: keras.Model, codes -> reconstructions [N, *data_shape].
    """

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.built = True

    def encode(self, x, training=False):
        return self.encoder(x, training=training)

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def reconstruct(self, x, training=False):
        """(codes, reconstruction) of one forward pass."""
        codes = self.encoder(x, training=training)
        return codes, self.decoder(codes, training=training)


def build_players(architecture, *, data_shape, latent_dim, width=64, hidden=64,
                  norm="none", g_norm=None):
    """The generator and the auto-encoder discriminator of an energy-based variant.

    Args:
        architecture: one of `ARCHITECTURES` (see the module's table).
        data_shape: one example's shape: (H, W, C) with H == W in (28, 32, 64) and C in
            (1, 3); or (2,) for points (mlp only).
        latent_dim: size of z.
        width: base channel count n (hidden units of the MLP scale with it).
        hidden: size h of the embedding (began, mlp); the dcgan auto-encoder has no
            fully connected bottleneck, as in EBGAN's.
        norm: normalisation of the dcgan auto-encoder's hidden layers: "batch", "layer"
            or "none" (began and mlp have none, as in the papers).
        g_norm: the generator's normalisation (`nets.build_generator`'s `norm`; BEGAN's
            generator has none, so it accepts only None or "none").

    Returns:
        (generator, AutoEncoder)

    Raises:
        nets.ArchitectureError: an unknown architecture, a data shape it cannot build or
            a non-positive size.
    """
    if architecture not in ARCHITECTURES:
        raise nets.ArchitectureError(
            f"the energy-based variants (began, ebgan) build auto-encoder discriminators "
            f"for architecture began, dcgan or mlp; got {architecture!r}")
    for arg, value in (("latent_dim", latent_dim), ("width", width), ("hidden", hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise nets.ArchitectureError(
                f"`{arg}` must be a positive integer; got {arg}={value!r}")
    if norm not in nets.NORMS:
        raise nets.ArchitectureError(f"norm must be one of {', '.join(nets.NORMS)}; "
                                     f"got {norm!r}")
    data_shape = tuple(int(d) for d in data_shape)
    if architecture == "mlp":
        generator = nets.build_generator("mlp", data_shape=data_shape,
                                         latent_dim=latent_dim, width=width, norm=g_norm)
        return generator, mlp_autoencoder(data_shape, width, hidden)
    _check_image_shape(architecture, data_shape)
    if architecture == "began":
        nets.check_g_norm("began", data_shape, g_norm)
        generator = began.generator(data_shape, latent_dim, width, "generator")
        autoencoder = AutoEncoder(began.encoder(data_shape, width, hidden),
                                  began.decoder(data_shape, width, hidden),
                                  name="discriminator")
        return generator, autoencoder
    generator = nets.build_generator("dcgan", data_shape=data_shape,
                                     latent_dim=latent_dim, width=width, norm=g_norm)
    return generator, dcgan_autoencoder(data_shape, width, norm)


def _check_image_shape(architecture, shape):
    if shape == (2,):
        raise nets.ArchitectureError(
            f"the {architecture} auto-encoder is convolutional; got 2-D points {shape}: "
            "pass --architecture=mlp")
    if (len(shape) != 3 or shape[0] != shape[1] or shape[0] not in nets.IMAGE_SIZES
            or shape[2] not in nets.IMAGE_CHANNELS):
        raise nets.ArchitectureError(
            f"the {architecture} auto-encoder supports 28x28, 32x32 and 64x64 images with "
            f"1 or 3 channels; got {shape}: pass --image_size=28, 32 or 64")


def dcgan_autoencoder(data_shape, width, norm):
    """EBGAN's convolutional auto-encoder, in the DCGAN discriminator's layout.

        encoder: x -> Conv4x4(n, s2) LReLU -> (b-1) x [Conv4x4(2^i n, s2) -> norm -> LReLU]
        decoder: -> (b-1) x [ConvT4x4(channels halving, s2) -> norm -> LReLU]
                 -> ConvT4x4(C, s2, linear, float32)

    b = 2 stride-2 blocks at 28x28 (28 -> 14 -> 7), 3 at 32x32, 4 at 64x64; the code S
    is the encoder's last map (7x7x2n at 28x28). EBGAN's LSUN/CelebA model is this stack
    with b = 3 and n = 64 (Zhao et al. 2017, appendix).
    """
    size, _, channels = data_shape
    blocks = dcgan._num_blocks(size)
    init = dcgan._kernel_init

    def norm_layer(name):
        if norm == "batch":
            return dcgan._batch_norm(name)
        return keras.layers.LayerNormalization(axis=(1, 2, 3), epsilon=dcgan.BN_EPSILON,
                                               name=name)

    images = keras.Input(shape=tuple(data_shape), dtype="float32", name="images")
    x, filters = images, width
    for i in range(1, blocks + 1):
        normed = i > 1 and norm != "none"
        x = keras.layers.Conv2D(filters, dcgan.KERNEL_SIZE, strides=2, padding="same",
                                use_bias=not normed, kernel_initializer=init(),
                                name=f"enc_down{i}")(x)
        if normed:
            x = norm_layer(f"enc_down{i}_{norm}_norm")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"enc_down{i}_lrelu")(x)
        if i < blocks:
            filters *= 2
    encoder = keras.Model(images, x, name="encoder")

    codes = keras.Input(shape=tuple(x.shape[1:]), dtype="float32", name="codes")
    y = codes
    for i in range(1, blocks):
        filters //= 2
        y = keras.layers.Conv2DTranspose(filters, dcgan.KERNEL_SIZE, strides=2,
                                         padding="same", use_bias=norm == "none",
                                         kernel_initializer=init(), name=f"dec_up{i}")(y)
        if norm != "none":
            y = norm_layer(f"dec_up{i}_{norm}_norm")(y)
        y = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"dec_up{i}_lrelu")(y)
    y = keras.layers.Conv2DTranspose(channels, dcgan.KERNEL_SIZE, strides=2, padding="same",
                                     kernel_initializer=init(), dtype="float32",
                                     name="dec_to_image")(y)
    decoder = keras.Model(codes, y, name="decoder")
    return AutoEncoder(encoder, decoder, name="discriminator")


def mlp_autoencoder(data_shape, width, hidden):
    """A fully connected auto-encoder, for 2-D points and (as a baseline) images.

        points: x -> Dense(2w) LReLU -> Dense(2w) LReLU -> Dense(h)       | mirrored
        images: x -> Flatten -> Dense(8w) LReLU -> Dense(4w) LReLU -> Dense(h) | mirrored

    The decoder mirrors the encoder and ends linear (then reshaped to the image).
    """
    units = (8 * width, 4 * width) if len(data_shape) == 3 else (2 * width, 2 * width)
    inputs = keras.Input(shape=tuple(data_shape), dtype="float32", name="inputs")
    x = keras.layers.Flatten(name="enc_flatten")(inputs) if len(data_shape) == 3 else inputs
    for i, n in enumerate(units, start=1):
        x = keras.layers.Dense(n, name=f"enc_hidden{i}")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"enc_hidden{i}_lrelu")(x)
    code = keras.layers.Dense(hidden, dtype="float32", name="enc_code")(x)
    encoder = keras.Model(inputs, code, name="encoder")

    codes = keras.Input(shape=(hidden,), dtype="float32", name="codes")
    y = codes
    for i, n in enumerate(reversed(units), start=1):
        y = keras.layers.Dense(n, name=f"dec_hidden{i}")(y)
        y = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"dec_hidden{i}_lrelu")(y)
    y = keras.layers.Dense(math.prod(data_shape), dtype="float32", name="dec_output")(y)
    y = keras.layers.Reshape(tuple(data_shape), dtype="float32", name="dec_reshape")(y)
    decoder = keras.Model(codes, y, name="decoder")
    return AutoEncoder(encoder, decoder, name="discriminator")
