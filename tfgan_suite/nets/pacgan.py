"""The fully connected networks of PacGAN's 2-D mixture experiments (ring8, grid25).

Why: these are the networks behind the literature's ring/grid numbers (PacGAN Table 1,
taken from ALI's toy experiment), so a run on them can be compared with the papers.
`benchmarks/PROTOCOL_2D.md` lists the rest of the protocol.

With `width=64` (the suite's default) the sizes are the paper's; `width` scales them
linearly (hidden units round(400 * width / 64) in G, round(200 * width / 64) in D):

    G  z -> 4 x [Dense(400, no bias) -> BatchNorm -> ReLU] -> Dense(2)
    D  x (2 * pack features) -> 3 x [Dense(200 * 5) -> Maxout(5)] -> Dense(1)

Packing: PacGAN's discriminator judges `pack` samples at once, concatenated along the
features. Its input is therefore (2 * pack,); ask for it with
`build_discriminator("pacgan", data_shape=(2 * pack,))`. The generator always makes
single points, data_shape (2,).

Kernels start from N(0, 0.02) and biases from 0, as in the authors' code; batch norm's
moving statistics weigh a new batch by 0.05 (Keras momentum 0.95), as there. The
discriminator has no normalisation in the paper (`norm="none"`, the suite's default for
2-D data); "batch" or "layer" act on the second and third hidden layers before the max,
and `spectral_norm` wraps every Dense, as in the other architectures.

Arguments arrive validated from `tfgan_suite.nets.build_generator` /
`build_discriminator`; call those, not this module.

Reference:
    Lin et al. "PacGAN: The power of two samples in generative adversarial networks",
    NeurIPS 2018. https://arxiv.org/abs/1712.04086 ; networks as in the authors' code,
    github.com/fjxmlzn/PacGAN, synthetic_data_experiments/*/pacgan_task.py.
    Dumoulin et al. "Adversarially Learned Inference", ICLR 2017.
"""

import keras

from tfgan_suite.nets.maxout import Maxout
from tfgan_suite.nets.spectral_norm import maybe_wrap

G_UNITS = 400
G_LAYERS = 4
D_UNITS = 200
D_LAYERS = 3
MAXOUT_PIECES = 5
INIT_STD = 0.02
BN_MOMENTUM = 0.95
BN_EPSILON = 1e-5
REFERENCE_WIDTH = 64


def _scaled(units, width):
    return max(1, round(units * width / REFERENCE_WIDTH))


def _init():
    return keras.initializers.RandomNormal(stddev=INIT_STD)


def generator(data_shape, latent_dim, width, name, batch_norm=True):
    """Builds PacGAN's generator: 4 x [Dense -> BN -> ReLU] -> Dense(2), linear output.

    Args:
        data_shape: (2,), already validated.
        latent_dim: size of z (the paper: 2).
        width: hidden-unit scale (64 gives 400 units).
        name: model name.
        batch_norm: keep the BN of each hidden layer (False: biased Dense layers instead).

    Returns:
        A functional `keras.Model` from float32 [N, latent_dim] to float32 [N, 2] in data
        coordinates.
    """
    units = _scaled(G_UNITS, width)
    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    x = z
    for i in range(1, G_LAYERS + 1):
        x = keras.layers.Dense(units, use_bias=not batch_norm, kernel_initializer=_init(),
                               name=f"hidden{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                                name=f"hidden{i}_bn")(x)
        x = keras.layers.ReLU(name=f"hidden{i}_relu")(x)
    points = keras.layers.Dense(data_shape[0], kernel_initializer=_init(), dtype="float32",
                                name="to_points")(x)
    return keras.Model(z, points, name=name)


def discriminator(data_shape, width, norm, name, spectral_norm=False):
    """Builds PacGAN's maxout discriminator on packed input.

    Args:
        data_shape: (2 * pack,), already validated; (2,) is the unpacked GAN.
        width: hidden-unit scale (64 gives 200 maxout units of 5 pieces).
        norm: "none" (the paper), "batch" or "layer" on hidden layers 2 and 3.
        name: model name.
        spectral_norm: wrap every Dense in `SpectralNormalization`.

    Returns:
        A functional `keras.Model` from float32 [N, 2 * pack] to float32 logits [N, 1].
    """
    units = _scaled(D_UNITS, width)
    inputs = keras.Input(shape=tuple(data_shape), dtype="float32", name="inputs")
    x = inputs
    for i in range(1, D_LAYERS + 1):
        normed = i > 1 and norm != "none"
        dense = keras.layers.Dense(units * MAXOUT_PIECES, use_bias=not normed,
                                   kernel_initializer=_init(), name=f"hidden{i}")
        x = maybe_wrap(dense, spectral_norm)(x)
        if normed:
            x = (keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                                 name=f"hidden{i}_batch_norm")
                 if norm == "batch" else
                 keras.layers.LayerNormalization(epsilon=BN_EPSILON, name=f"hidden{i}_layer_norm"))(x)
        x = Maxout(MAXOUT_PIECES, name=f"hidden{i}_maxout")(x)
    logits = maybe_wrap(keras.layers.Dense(1, kernel_initializer=_init(), dtype="float32",
                                           name="logits"), spectral_norm)(x)
    return keras.Model(inputs, logits, name=name)
