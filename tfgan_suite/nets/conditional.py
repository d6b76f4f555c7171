"""Class-conditional generator G(z, y) and discriminator D(x, y) for `cgan`.

Both wrap the suite's unconditional networks (`dcgan` for 28/32/64 images, `mlp` for images
or 2-D points), so a conditional model has exactly the layers of its unconditional twin
plus a label embedding:

    G(z, y):  [z, embed_G(y)] -> unconditional generator with latent size
              latent_dim + embedding_dim. (Mirza & Osindero feed one-hot y; a learned
              embedding of one-hot y is a linear map of it, in fewer units.)

    D(x, y), conditioning="concat":
        images: embed_D(y) [N, E] broadcast to E constant feature maps [N, H, W, E] and
                concatenated to the image channels, so the first convolution already
                sees both (as in the conditional DCGANs of the literature).
        points: [x, embed_D(y)] -> the MLP discriminator on 2 + E input features.
        Conditioning only at the logits would make D(x, y) = f(x) + g(y), which cannot
        tell which x belongs to which y; joining at the input avoids that.

    D(x, y), conditioning="projection" (Miyato & Koyama 2018):
        D(x, y) = psi(phi(x)) + <embed_D(y), phi(x)>, with phi the unconditional
        discriminator up to its last hidden features (flattened conv features for
        dcgan, the last hidden layer for mlp), psi its linear logits layer and embed_D a
        [num_classes, dim(phi)] embedding. The paper's generator uses conditional batch
        norm; here G concatenates the embedding to z in both modes (simpler, and the MLP
        generator for points has no batch norm to condition). The official code
        (pfnet-research/sngan_projection, dis_models/snresnet_32.py) sum-pools phi over
        space and spectrally normalises the (Glorot-initialised) embedding; we project the
        flattened features of the suite's own discriminators, initialise the embedding
        N(0, 1/dim(phi)) and leave it unnormalised (`spectral_norm` wraps D's Conv2D/Dense
        layers only).

    Mirza & Osindero's MNIST nets (no official code) map y through a hidden layer of its own
    in both G and D before joining it with z or x; we join the embedding at the input.

Reference:
    Mirza & Osindero, "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014.
    Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018.
"""

import math

import keras

from tfgan_suite import nets

CONDITIONINGS = ("concat", "projection")


def _check(architecture, data_shape, num_classes, embedding_dim):
    spec = nets._lookup(architecture)
    data_shape = nets._check_data_shape(architecture, spec, data_shape)
    nets._check_positive("num_classes", num_classes)
    nets._check_positive("embedding_dim", embedding_dim)
    return spec, data_shape


def _label_input():
    return keras.Input(shape=(), dtype="int32", name="label")


def build_generator(architecture, *, data_shape, latent_dim, num_classes, embedding_dim=16,
                    width=64, norm=None, name="generator"):
    """Builds G(z, y): the unconditional generator fed with [z, embed(y)].

    Args:
        architecture: "dcgan" or "mlp" (see `tfgan_suite.nets`).
        data_shape: (H, W, C) images or (2,) points.
        latent_dim: size of z.
        num_classes: number of labels; y must lie in [0, num_classes).
        embedding_dim: size E of the learned label embedding (N(0, 1) initialised, so a
            label starts as strong as E coordinates of z).
        width: network width, as for the unconditional generator.
        norm: the body's normalisation, as for the unconditional generator.
        name: model name.

    Returns:
        A functional `keras.Model` mapping [z float32 [N, latent_dim], label int32 [N]]
        to float32 [N, *data_shape] (images in [-1, 1] through tanh, points linear).

    Raises:
        ArchitectureError: for a bad architecture, shape or size.

    Example:
        >>> g = build_generator("mlp", data_shape=(2,), latent_dim=8, num_classes=8)
        >>> g([tf.zeros([4, 8]), tf.constant([0, 1, 2, 3])]).shape
        TensorShape([4, 2])
    """
    _check(architecture, data_shape, num_classes, embedding_dim)
    body = nets.build_generator(architecture, data_shape=data_shape,
                                latent_dim=latent_dim + embedding_dim, width=width,
                                norm=norm, name=f"{name}_body")
    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    label = _label_input()
    embedded = keras.layers.Embedding(
        num_classes, embedding_dim, embeddings_initializer=keras.initializers.RandomNormal(
            stddev=1.0), name="label_embedding")(label)
    x = keras.layers.Concatenate(name="z_and_label")([z, embedded])
    return keras.Model([z, label], body(x), name=name)


def build_discriminator(architecture, *, data_shape, num_classes, conditioning="concat",
                        embedding_dim=16, width=64, norm="batch", spectral_norm=False,
                        name="discriminator"):
    """Builds D(x, y) with concat or projection conditioning (see the module docstring).

    Args:
        architecture: "dcgan" or "mlp".
        data_shape: (H, W, C) images or (2,) points.
        num_classes: number of labels.
        conditioning: "concat" or "projection".
        embedding_dim: size E of the label embedding joined to the input ("concat"
            only; the projection embedding has the size of D's features).
        width, norm, spectral_norm: as for the unconditional discriminator.
        name: model name.

    Returns:
        A functional `keras.Model` mapping [x [N, *data_shape], label int32 [N]] to
        float32 logits [N, 1].

    Raises:
        ArchitectureError: for a bad architecture, shape, size, norm or conditioning.
    """
    spec, data_shape = _check(architecture, data_shape, num_classes, embedding_dim)
    if conditioning not in CONDITIONINGS:
        raise nets.ArchitectureError(
            f"conditioning must be one of {', '.join(CONDITIONINGS)}; got {conditioning!r}")
    # Validates width, norm and spectral_norm with the suite's messages.
    nets._check_positive("width", width)
    if norm not in nets.NORMS:
        raise nets.ArchitectureError(f"norm must be one of {nets.NORMS}; got {norm!r}")
    x = keras.Input(shape=data_shape, dtype="float32", name="x")
    label = _label_input()

    if conditioning == "concat":
        embedded = keras.layers.Embedding(
            num_classes, embedding_dim, embeddings_initializer=keras.initializers.RandomNormal(
                stddev=1.0), name="label_embedding")(label)
        if len(data_shape) == 3:  # E constant maps next to the image channels
            height, width_px, channels = data_shape
            maps = keras.layers.Reshape((1, 1, embedding_dim), name="label_maps")(embedded)
            maps = keras.layers.UpSampling2D((height, width_px), name="label_broadcast")(maps)
            joined = keras.layers.Concatenate(axis=-1, name="x_and_label")([x, maps])
            body_shape = (height, width_px, channels + embedding_dim)
        else:
            joined = keras.layers.Concatenate(name="x_and_label")([x, embedded])
            body_shape = (data_shape[0] + embedding_dim,)
        body = spec.discriminator(body_shape, width, norm, f"{name}_body",
                                  spectral_norm=spectral_norm)
        return keras.Model([x, label], body(joined), name=name)

    body = spec.discriminator(data_shape, width, norm, f"{name}_body",
                              spectral_norm=spectral_norm)
    logits_layer = body.layers[-1]
    features = keras.Model(body.inputs, logits_layer.input, name=f"{name}_features")
    phi = features(x)
    feature_dim = int(phi.shape[-1])
    # Scale 1/sqrt(dim(phi)): the projection term starts of the order of the logits.
    projection = keras.layers.Embedding(
        num_classes, feature_dim, embeddings_initializer=keras.initializers.RandomNormal(
            stddev=1.0 / math.sqrt(feature_dim)), name="label_projection")(label)
    inner = keras.layers.Dot(axes=1, dtype="float32", name="projection")([projection, phi])
    logits = keras.layers.Add(dtype="float32", name="logits_plus_projection")(
        [logits_layer(phi), inner])
    return keras.Model([x, label], logits, name=name)
