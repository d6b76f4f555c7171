"""Small NumPy helpers to turn samples into pictures: grids, PNG files, scatter plots.

Why: the sampling CLI and the training-time image summaries need the same few
operations, and they should work without matplotlib or Pillow (neither is a
dependency of the suite). Everything here is pure NumPy plus `zlib`.

Conventions: images are NHWC. Float images are taken to be in [0, 1] and are
converted with `round(x * 255)` clipped to [0, 255], the same rule the SavedModel's
`images_uint8` output uses; uint8 images are used as they are.
"""

import math
import struct
import zlib
from typing import Optional, Sequence, Tuple

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type by number of channels: grey, grey+alpha, RGB, RGBA.
_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def to_uint8(images) -> np.ndarray:
    """Converts images in [0, 1] (float) to uint8; uint8 input is returned unchanged.

    Args:
        images: array-like of any shape, float in [0, 1] or uint8.

    Returns:
        uint8 array of the same shape, `clip(round(images * 255), 0, 255)`.
        NaN becomes 0.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"`images` must be float in [0, 1] or uint8. Received: dtype={images.dtype}")
    scaled = np.nan_to_num(np.asarray(images, np.float64) * 255.0, nan=0.0)
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def tile_images(images, *, columns: Optional[int] = None, padding: int = 2,
                pad_value: int = 255) -> np.ndarray:
    """Tiles a batch of images into one uint8 grid image.

    The grid has `columns` columns (default `ceil(sqrt(N))`) and `ceil(N / columns)`
    rows, filled row by row. `padding` pixels of `pad_value` separate the tiles and
    frame the grid, so the result is
    `rows * (H + padding) + padding` by `columns * (W + padding) + padding` pixels.
    Cells after the last image stay `pad_value`.

    Args:
        images: [N, H, W, C] (or [N, H, W], treated as C=1), float in [0, 1] or uint8.
        columns: number of columns, >= 1.
        padding: pixels between and around tiles, >= 0.
        pad_value: grey level of the padding, 0..255.

    Returns:
        uint8 array [rows * (H + padding) + padding, columns * (W + padding) + padding, C].

    Example:
        >>> tile_images(np.zeros([10, 8, 8, 1]), padding=2).shape  # 4 columns, 3 rows
        (32, 42, 1)
    """
    images = to_uint8(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[0] < 1:
        raise ValueError(f"`images` must have shape [N, H, W, C] with N >= 1. Received: shape={images.shape}")
    n, h, w, c = images.shape
    if columns is None:
        columns = math.ceil(math.sqrt(n))
    if columns < 1:
        raise ValueError(f"`columns` must be >= 1. Received: columns={columns}")
    if padding < 0:
        raise ValueError(f"`padding` must be >= 0. Received: padding={padding}")
    if not 0 <= pad_value <= 255:
        raise ValueError(f"`pad_value` must be in [0, 255]. Received: pad_value={pad_value}")
    rows = math.ceil(n / columns)
    grid = np.full((rows * (h + padding) + padding, columns * (w + padding) + padding, c),
                   pad_value, dtype=np.uint8)
    for i in range(n):
        top = padding + (i // columns) * (h + padding)
        left = padding + (i % columns) * (w + padding)
        grid[top:top + h, left:left + w] = images[i]
    return grid


def encode_png(image) -> bytes:
    """Encodes one image as PNG bytes (8 bits per channel, no interlacing).

    Args:
        image: [H, W] or [H, W, C] with C in {1, 2, 3, 4}; float in [0, 1] or uint8.

    Returns:
        The PNG file contents.
    """
    image = to_uint8(image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[2] not in _PNG_COLOR_TYPE or 0 in image.shape:
        raise ValueError("`image` must have shape [H, W] or [H, W, C] with C in {1, 2, 3, 4} "
                         f"and H, W >= 1. Received: shape={image.shape}")
    height, width, channels = image.shape
    # Every scanline starts with its filter type; 0 means "None" (raw bytes).
    raw = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    raw[:, 1:] = image.reshape(height, width * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    return (_PNG_SIGNATURE + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def write_png(path: str, image) -> None:
    """Writes `image` (see `encode_png`) to `path` as a PNG file."""
    data = encode_png(image)
    with open(path, "wb") as f:
        f.write(data)


def rasterize_points(points, *, size: int = 512, radius: int = 1, margin: float = 0.05,
                     bounds: Optional[Sequence[float]] = None) -> np.ndarray:
    """Draws 2-D points as a scatter plot on a square RGB canvas.

    Why: a quick look at 2-D mixtures (ring8, grid25) without matplotlib. x grows to
    the right and y upwards; both axes use the same scale so circles stay round. The
    lines x = 0 and y = 0 are drawn in light grey when they are in view.

    Args:
        points: [N, 2] array of (x, y); rows with NaN or inf are skipped.
        size: canvas width and height in pixels, >= 2.
        radius: each point is a (2 * radius + 1)-pixel square, radius >= 0.
        margin: with `bounds=None`, the fraction of the data's extent left free on
            each side.
        bounds: (x_min, x_max, y_min, y_max) mapped onto the canvas edges; default:
            a square around the data.

    Returns:
        uint8 [size, size, 3]: white background, points in dark blue.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"`points` must have shape [N, 2]. Received: shape={points.shape}")
    if size < 2:
        raise ValueError(f"`size` must be >= 2. Received: size={size}")
    if radius < 0:
        raise ValueError(f"`radius` must be >= 0. Received: radius={radius}")
    points = points[np.all(np.isfinite(points), axis=1)]
    x_min, x_max, y_min, y_max = (_square_bounds(points, margin) if bounds is None
                                  else (float(b) for b in bounds))
    if not (x_max > x_min and y_max > y_min):
        raise ValueError(f"`bounds` must satisfy x_min < x_max and y_min < y_max. Received: bounds={bounds}")

    canvas = np.full((size, size, 3), 255, dtype=np.uint8)

    def column_of(x):
        return np.rint((x - x_min) / (x_max - x_min) * (size - 1)).astype(np.int64)

    def row_of(y):
        return np.rint((y_max - y) / (y_max - y_min) * (size - 1)).astype(np.int64)

    axis_grey = (200, 200, 200)
    if x_min <= 0.0 <= x_max:
        canvas[:, column_of(0.0)] = axis_grey
    if y_min <= 0.0 <= y_max:
        canvas[row_of(0.0), :] = axis_grey

    cols, rows = column_of(points[:, 0]), row_of(points[:, 1])
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            r, c = rows + dr, cols + dc
            inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
            canvas[r[inside], c[inside]] = (20, 60, 160)
    return canvas


def _square_bounds(points: np.ndarray, margin: float) -> Tuple[float, float, float, float]:
    """A square (x_min, x_max, y_min, y_max) around `points`, widened by `margin`."""
    if len(points) == 0:
        return -1.0, 1.0, -1.0, 1.0
    lo, hi = points.min(axis=0), points.max(axis=0)
    center = (lo + hi) / 2.0
    half = float(np.max(hi - lo)) / 2.0 * (1.0 + 2.0 * margin)
    if half == 0.0:
        half = 1.0
    return center[0] - half, center[0] + half, center[1] - half, center[1] + half
