"""BEGAN's networks: a convolutional auto-encoder (the discriminator) and a generator.

The layout of Berthelot et al. (2017), figure 1: 3x3 convolutions with ELU, two per
block; the encoder halves the resolution between blocks with a stride-2 3x3 convolution
and widens linearly (n, 2n, 3n, ... filters); a fully connected layer maps to (and from)
the h-dimensional embedding; the decoder doubles the resolution with nearest-neighbour
upsampling and keeps n filters. The generator has the decoder's structure (its own
weights), from z instead of the embedding.

Sizes: the decoder and the generator start from a 7x7 map at 28x28 (two upsamplings),
8x8 at 32x32 (two) and 8x8 at 64x64 (three); the encoder mirrors that.

Departures from the paper, both deliberate:
- The generator ends in tanh, so that its samples are in [-1, 1] like every generator
  of the suite (the export contract maps [-1, 1] to [0, 1]); the paper's output is linear
  and clipped for display. The decoder's output stays linear.
- No skip connections (the paper's optional "h0" injections into every block).

Layer names carry the network's prefix (`enc_`, `dec_`, `gen_`), so that the variable
paths of the discriminator and the generator never collide.

Arguments arrive validated from `tfgan_suite.nets.autoencoder`; call that, not this
module.

Reference:
    Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative Adversarial
    Networks", arXiv:1703.10717, 2017, section 3.5 and figure 1.
"""

import keras

# Side of the first decoder/generator map and number of 2x upsamplings, per image side.
START_SIZE = {28: 7, 32: 8, 64: 8}
UPSAMPLINGS = {28: 2, 32: 2, 64: 3}
KERNEL_SIZE = 3


def _conv(filters, name, strides=1, activation="elu", dtype=None):
    return keras.layers.Conv2D(filters, KERNEL_SIZE, strides=strides, padding="same",
                               activation=activation, name=name, dtype=dtype)


def _upsampling_stack(x, data_shape, width, prefix, output_activation):
    """The decoder/generator body from a flat vector: Dense -> map -> blocks -> image."""
    size, _, channels = data_shape
    start, ups = START_SIZE[size], UPSAMPLINGS[size]
    x = keras.layers.Dense(start * start * width, name=f"{prefix}_project")(x)
    x = keras.layers.Reshape((start, start, width), name=f"{prefix}_project_reshape")(x)
    for block in range(ups + 1):
        x = _conv(width, f"{prefix}_block{block}_conv1")(x)
        x = _conv(width, f"{prefix}_block{block}_conv2")(x)
        if block < ups:
            x = keras.layers.UpSampling2D(2, interpolation="nearest",
                                          name=f"{prefix}_up{block + 1}")(x)
    return _conv(channels, f"{prefix}_to_image", activation=output_activation,
                 dtype="float32")(x)


def generator(data_shape, latent_dim, width, name):
    """Builds BEGAN's generator.

        z [N, latent_dim] -> Dense(s*s*n) -> Reshape(s, s, n)
        -> (u+1) x [Conv3x3(n) ELU -> Conv3x3(n) ELU -> (NN upsample x2, except last)]
        -> Conv3x3(C, tanh, float32)

    with (s, u) = (7, 2) at 28x28, (8, 2) at 32x32, (8, 3) at 64x64 and n = `width`.

    Returns:
        A functional `keras.Model` mapping float32 [N, latent_dim] to [N, H, W, C] in
        [-1, 1].
    """
    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    images = _upsampling_stack(z, data_shape, width, "gen", "tanh")
    return keras.Model(z, images, name=name)


def encoder(data_shape, width, hidden, name="encoder"):
    """Builds the encoder of BEGAN's auto-encoder.

        x [N, H, W, C] -> Conv3x3(n) ELU
        -> block i = 1 .. u+1: Conv3x3(i n) ELU -> Conv3x3(i n) ELU
                               -> (Conv3x3((i+1) n, stride 2) ELU, except last)
        -> Flatten -> Dense(h)                                    # the embedding

    Returns:
        A functional `keras.Model` mapping [N, H, W, C] to float32 [N, hidden].
    """
    size = data_shape[0]
    ups = UPSAMPLINGS[size]
    images = keras.Input(shape=tuple(data_shape), dtype="float32", name="images")
    x = _conv(width, "enc_stem")(images)
    for block in range(1, ups + 2):
        x = _conv(block * width, f"enc_block{block}_conv1")(x)
        x = _conv(block * width, f"enc_block{block}_conv2")(x)
        if block <= ups:
            x = _conv((block + 1) * width, f"enc_down{block}", strides=2)(x)
    x = keras.layers.Flatten(name="enc_flatten")(x)
    embedding = keras.layers.Dense(hidden, dtype="float32", name="enc_embedding")(x)
    return keras.Model(images, embedding, name=name)


def decoder(data_shape, width, hidden, name="decoder"):
    """Builds the decoder of BEGAN's auto-encoder: the generator's layout from the
    embedding, with a linear output.

    Returns:
        A functional `keras.Model` mapping float32 [N, hidden] to float32 [N, H, W, C].
    """
    h = keras.Input(shape=(hidden,), dtype="float32", name="embedding")
    images = _upsampling_stack(h, data_shape, width, "dec", None)
    return keras.Model(h, images, name=name)
