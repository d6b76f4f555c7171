"""Square-crop and resize uint8 images, shared by the TFDS and folder sources."""

import tensorflow as tf


def resize_uint8(images, size: int) -> tf.Tensor:
    """Centre-crops images to a square and resizes them to `size` x `size`.

    A GAN needs every image at one square size. Cropping the centre square
    first keeps the aspect ratio (faces are not squashed); area interpolation
    is used when shrinking (it averages instead of aliasing), bilinear when
    enlarging. The result is rounded and clipped back to uint8.

    Args:
        images: uint8 tensor `[H, W, C]` or `[N, H, W, C]`.
        size: side length of the output, >= 1.

    Returns:
        uint8 tensor `[size, size, C]` or `[N, size, size, C]`. Images that are
        already `size` x `size` are returned unchanged.
    """
    if size < 1:
        raise ValueError(f"`size` must be >= 1. Received: size={size}")
    images = tf.convert_to_tensor(images)
    height, width = images.shape[-3], images.shape[-2]
    if height == size and width == size:
        return images
    dyn = tf.shape(images)
    height, width = dyn[-3], dyn[-2]
    side = tf.minimum(height, width)
    images = tf.image.crop_to_bounding_box(
        images, (height - side) // 2, (width - side) // 2, side, side
    )
    resized = tf.cond(
        side > size,
        lambda: tf.image.resize(images, [size, size], method="area"),
        lambda: tf.image.resize(images, [size, size], method="bilinear"),
    )
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
