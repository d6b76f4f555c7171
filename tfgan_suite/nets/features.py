"""A discriminator's hidden conv activations as one feature vector per image (linear probe).

Why: DCGAN's section 5.1 reads a trained discriminator as a feature extractor: the
activations of every conv layer, max-pooled to a 4x4 spatial grid, flattened and
concatenated, feed a linear classifier. `conv_block_features` builds that map from a
discriminator of the `dcgan` architecture (its blocks end in layers named
`down{i}_lrelu`, `tfgan_suite.nets.dcgan`), or from a model holding one as a sub-model
(BiGAN's joint D(x, z): its x-path). The map shares the discriminator's layers and
weights; it copies nothing.

For 28x28 images and width w: block 1 is 14x14xw, block 2 is 7x7x2w; each is max-pooled
to 4x4 (windows and strides of ceil(side / 4), TensorFlow's "same" padding: 14 is
padded to 16 with one row each side, 7 to 8 with one after), so the features are 16 * 3w values
(3,072 for w = 64). The paper's ImageNet D had four blocks and 28,672 features.

Example:
    >>> d = build_discriminator("dcgan", data_shape=(28, 28, 1))
    >>> conv_block_features(d)(tf.zeros([2, 28, 28, 1])).shape
    TensorShape([2, 3072])

Reference:
    Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep Convolutional
    GANs", ICLR 2016, section 5.1.
"""

import math
from typing import Optional

import keras

GRID = 4
_BLOCK = "down{}_lrelu"


def find_conv_body(model: keras.Model) -> Optional[keras.Model]:
    """`model` itself, or its first nested sub-model, that holds the layer `down1_lrelu`;
    None when there is none (an MLP, an auto-encoder D)."""
    names = {layer.name for layer in model.layers}
    if _BLOCK.format(1) in names:
        return model
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found = find_conv_body(layer)
            if found is not None:
                return found
    return None


def conv_block_features(model: keras.Model, grid: int = GRID,
                        name: str = "d_features") -> Optional[keras.Model]:
    """The map image -> concatenated grid-max-pooled activations of every conv block.

    Args:
        model: a discriminator (or a model holding one, see `find_conv_body`).
        grid: side of the pooled grid per block (DCGAN: 4).
        name: the returned model's name.

    Returns:
        A functional `keras.Model` from the body's image input [N, H, W, C] (the data's
        own range, [-1, 1]) to float32 [N, F], or None when `model` has no conv body.
    """
    body = find_conv_body(model)
    if body is None:
        return None
    names = {layer.name for layer in body.layers}
    blocks = []
    while _BLOCK.format(len(blocks) + 1) in names:
        blocks.append(body.get_layer(_BLOCK.format(len(blocks) + 1)).output)
    inner = keras.Model(body.inputs[0], blocks, name=f"{name}_blocks")
    images = keras.Input(shape=tuple(body.inputs[0].shape[1:]), dtype="float32",
                         name="images")
    activations = inner(images)
    if not isinstance(activations, (list, tuple)):
        activations = [activations]
    pooled = []
    for i, a in enumerate(activations, start=1):
        window = max(1, math.ceil(a.shape[1] / grid))
        p = keras.layers.MaxPooling2D(window, strides=window, padding="same",
                                      name=f"block{i}_pool")(a)
        pooled.append(keras.layers.Flatten(name=f"block{i}_flat")(p))
    features = (keras.layers.Concatenate(name="concat", dtype="float32")(pooled)
                if len(pooled) > 1 else pooled[0])
    return keras.Model(images, features, name=name)
