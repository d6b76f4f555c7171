"""Encoder E(x) -> z and joint discriminator D(x, z) for `bigan` / `ali`.

Both reuse the suite's discriminator bodies (`dcgan` for 28/32/64 images, `mlp` for images
or 2-D points) as their x-path, so BiGAN runs on any data the unconditional variants run on:

    E(x):     x -> discriminator body up to its last hidden features -> Dense(latent_dim)
              (the mean); with `stochastic=True` also Dense(latent_dim) -> log sigma.
              Batch norm in the conv body for images (as BiGAN's encoder); none for 2-D
              points.
    D(x, z):  x-path: discriminator body up to its last hidden features (d_norm and
              spectral norm as for the unconditional D);
              z-path: 2 x [Dense -> LeakyReLU(0.2)];
              joint:  concat -> Dense -> LeakyReLU(0.2) -> Dense(1) logits.

Layer sizes follow BiGAN's "x, z and joint pathways" (Donahue et al., Appendix C) scaled
to the suite's `width` (w = 64 by default):

    images: z-path 8w, 8w (512); joint 8w (512)       (BiGAN: 1024 units, fully connected)
    points: z-path 2w, 2w (128); joint 2w (128)        (as the 2-D MLP's hidden layers)

ALI (Dumoulin et al.) adds dropout in every D pathway; we do not (the suite's
discriminators have none either).

Reference:
    Donahue, Kraehenbuehl, Darrell, "Adversarial Feature Learning", ICLR 2017.
    Dumoulin et al., "Adversarially Learned Inference", ICLR 2017.
"""

import keras

from tfgan_suite import nets
from tfgan_suite.nets.spectral_norm import maybe_wrap

LEAKY_SLOPE = 0.2
# Initial log sigma of the stochastic encoder: sigma = exp(-2.5) ~ 0.08, so E(x) starts
# informative rather than drowned in N(0, 1) noise. BiGAN's code biases its predicted log
# variance the same way (train_gan.py, --log_var_bias=-5, i.e. log sigma = -2.5).
LOG_SIGMA_BIAS = -2.5


def _features(architecture, data_shape, width, norm, spectral_norm, name):
    """The unconditional discriminator of `architecture` without its logits layer."""
    spec = nets._lookup(architecture)
    data_shape = nets._check_data_shape(architecture, spec, data_shape)
    nets._check_positive("width", width)
    if norm not in nets.NORMS:
        raise nets.ArchitectureError(f"norm must be one of {nets.NORMS}; got {norm!r}")
    body = spec.discriminator(data_shape, width, norm, f"{name}_body",
                              spectral_norm=spectral_norm)
    return data_shape, keras.Model(body.inputs, body.layers[-1].input, name=f"{name}_features")


def build_encoder(architecture, *, data_shape, latent_dim, width=64, stochastic=False,
                  name="encoder"):
    """Builds E(x): data (as G produces it) -> z, or -> (mean, log sigma).

    Args:
        architecture: "dcgan" or "mlp" (see `tfgan_suite.nets`).
        data_shape: (H, W, C) images in [-1, 1] or (2,) points.
        latent_dim: size of z.
        width: network width, as for the discriminator of `architecture`.
        stochastic: ALI's reparametrised encoder: two heads, mean and log sigma.
        name: model name.

    Returns:
        A functional `keras.Model` mapping [N, *data_shape] to float32 z [N, latent_dim]
        (deterministic), or to [mean, log_sigma], each float32 [N, latent_dim].

    Example:
        >>> build_encoder("mlp", data_shape=(2,), latent_dim=8)(tf.zeros([4, 2])).shape
        TensorShape([4, 8])
    """
    nets._check_positive("latent_dim", latent_dim)
    norm = "batch" if len(tuple(data_shape)) == 3 else "none"
    data_shape, features = _features(architecture, data_shape, width, norm, False, name)
    x = keras.Input(shape=data_shape, dtype="float32", name="x")
    h = features(x)
    mean = keras.layers.Dense(latent_dim, dtype="float32", name="z_mean")(h)
    if not stochastic:
        return keras.Model(x, mean, name=name)
    log_sigma = keras.layers.Dense(
        latent_dim, bias_initializer=keras.initializers.Constant(LOG_SIGMA_BIAS),
        dtype="float32", name="z_log_sigma")(h)
    return keras.Model(x, [mean, log_sigma], name=name)


def build_joint_discriminator(architecture, *, data_shape, latent_dim, width=64,
                              norm="batch", spectral_norm=False, name="discriminator"):
    """Builds D(x, z), the logit that (x, z) came from the encoder side (x real, z = E(x)).

    Args:
        architecture: "dcgan" or "mlp".
        data_shape: (H, W, C) images or (2,) points.
        latent_dim: size of z.
        width: network width (x-path as the unconditional D; z and joint paths scale
            with it, see the module docstring).
        norm: normalisation of the x-path ("batch", "layer" or "none").
        spectral_norm: wrap every Conv2D/Dense of all three paths.
        name: model name.

    Returns:
        A functional `keras.Model` mapping [x [N, *data_shape], z [N, latent_dim]] to
        float32 logits [N, 1].
    """
    nets._check_positive("latent_dim", latent_dim)
    data_shape, x_features = _features(architecture, data_shape, width, norm, spectral_norm,
                                       f"{name}_x")
    units = 8 * width if len(data_shape) == 3 else 2 * width
    x = keras.Input(shape=data_shape, dtype="float32", name="x")
    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    hz = z
    for i in (1, 2):
        hz = maybe_wrap(keras.layers.Dense(units, name=f"z_hidden{i}"), spectral_norm)(hz)
        hz = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"z_hidden{i}_lrelu")(hz)
    h = keras.layers.Concatenate(name="x_and_z")([x_features(x), hz])
    h = maybe_wrap(keras.layers.Dense(units, name="joint_hidden"), spectral_norm)(h)
    h = keras.layers.LeakyReLU(LEAKY_SLOPE, name="joint_hidden_lrelu")(h)
    logits = maybe_wrap(keras.layers.Dense(1, dtype="float32", name="logits"),
                        spectral_norm)(h)
    return keras.Model([x, z], logits, name=name)
