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


POINT_COLOR = (20, 60, 160)      # dark blue
MODE_COLOR = (220, 40, 40)       # red crosses at the true mode centres
AXIS_COLOR = (200, 200, 200)     # light grey lines x = 0 and y = 0
TICK_COLOR = (110, 110, 110)     # grey ticks along the edges
FRAME_PAD = 0.25                 # `mixture_frame`: free space per side, in mode extents


def mixture_frame(modes, pad: float = FRAME_PAD) -> Tuple[float, float, float, float]:
    """A fixed square view (x_min, x_max, y_min, y_max) that frames a mixture's modes.

    Why: a plot whose axes follow the samples shows a collapsed generator as a full
    picture; framed by the known modes, a missing mode is an empty place. The square is
    centred on the modes' bounding box, with `pad` times the larger extent free on each
    side: ring8 (radius 1) gives [-1.5, 1.5]^2, grid25 ({-4..4}^2) gives [-6, 6]^2.

    Args:
        modes: [K, 2] mode centres, K >= 1.
        pad: free space on each side as a fraction of the modes' larger extent, >= 0.

    Returns:
        (x_min, x_max, y_min, y_max) as floats; a half-width of 1 for a single mode.
    """
    modes = np.asarray(modes, dtype=np.float64)
    if modes.ndim != 2 or modes.shape[1] != 2 or len(modes) == 0 or not np.all(np.isfinite(modes)):
        raise ValueError(f"`modes` must be a finite [K, 2] array with K >= 1. Received: shape={modes.shape}")
    if not pad >= 0:
        raise ValueError(f"`pad` must be >= 0. Received: pad={pad}")
    lo, hi = modes.min(axis=0), modes.max(axis=0)
    center = (lo + hi) / 2.0
    half = float(np.max(hi - lo)) / 2.0 * (1.0 + 2.0 * pad) or 1.0
    return (float(center[0] - half), float(center[0] + half),
            float(center[1] - half), float(center[1] + half))


def rasterize_points(points, *, size: int = 512, radius: int = 1, margin: float = 0.05,
                     bounds: Optional[Sequence[float]] = None, modes=None) -> np.ndarray:
    """Draws 2-D points as a scatter plot on a square RGB canvas.

    Why: a quick look at 2-D mixtures (ring8, grid25) without matplotlib. x grows to
    the right and y upwards; both axes use the same scale so circles stay round. The
    lines x = 0 and y = 0 are drawn in light grey when they are in view; on canvases of
    64 pixels or more, grey ticks along the four edges mark a round step (1, 2 or 5
    times a power of ten, 0.5 for ring8's frame, 2 for grid25's), so the scale can be
    read off. With `modes`, each true mode centre gets a small red cross, drawn under
    the points: a captured mode shows red arms around a blue blob, a missed one a clean
    red cross.

    Args:
        points: [N, 2] array of (x, y); rows with NaN or inf are skipped, and points
            outside the view are not drawn.
        size: canvas width and height in pixels, >= 2.
        radius: each point is a (2 * radius + 1)-pixel square, radius >= 0.
        margin: with neither `bounds` nor `modes`, the fraction of the data's extent
            left free on each side.
        bounds: (x_min, x_max, y_min, y_max) mapped onto the canvas edges. Default:
            `mixture_frame(modes)` when `modes` is given (fixed, whatever the samples
            do), else a square around the data.
        modes: optional [K, 2] true mode centres to mark.

    Returns:
        uint8 [size, size, 3]: white background, points in dark blue (`POINT_COLOR`),
        mode crosses in red (`MODE_COLOR`).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"`points` must have shape [N, 2]. Received: shape={points.shape}")
    if size < 2:
        raise ValueError(f"`size` must be >= 2. Received: size={size}")
    if radius < 0:
        raise ValueError(f"`radius` must be >= 0. Received: radius={radius}")
    points = points[np.all(np.isfinite(points), axis=1)]
    if modes is not None:
        modes = np.asarray(modes, dtype=np.float64)
        if modes.ndim != 2 or modes.shape[1] != 2:
            raise ValueError(f"`modes` must have shape [K, 2]. Received: shape={modes.shape}")
    if bounds is not None:
        x_min, x_max, y_min, y_max = (float(b) for b in bounds)
    elif modes is not None and len(modes):
        x_min, x_max, y_min, y_max = mixture_frame(modes)
    else:
        x_min, x_max, y_min, y_max = _square_bounds(points, margin)
    if not (x_max > x_min and y_max > y_min):
        raise ValueError(f"`bounds` must satisfy x_min < x_max and y_min < y_max. Received: bounds={bounds}")

    canvas = np.full((size, size, 3), 255, dtype=np.uint8)

    def column_of(x):
        return np.rint((np.asarray(x) - x_min) / (x_max - x_min) * (size - 1)).astype(np.int64)

    def row_of(y):
        return np.rint((y_max - np.asarray(y)) / (y_max - y_min) * (size - 1)).astype(np.int64)

    def paint(rows, cols, color):
        inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
        canvas[rows[inside], cols[inside]] = color

    if x_min <= 0.0 <= x_max:
        canvas[:, column_of(0.0)] = AXIS_COLOR
    if y_min <= 0.0 <= y_max:
        canvas[row_of(0.0), :] = AXIS_COLOR

    if size >= 64:
        tick = max(3, size // 80)
        step = _tick_step(max(x_max - x_min, y_max - y_min))
        along = np.arange(tick)
        for value in np.arange(math.ceil(x_min / step), math.floor(x_max / step) + 1) * step:
            c = np.full(tick, column_of(value))
            paint(along, c, TICK_COLOR)                 # top edge
            paint(size - 1 - along, c, TICK_COLOR)      # bottom edge
        for value in np.arange(math.ceil(y_min / step), math.floor(y_max / step) + 1) * step:
            r = np.full(tick, row_of(value))
            paint(r, along, TICK_COLOR)                 # left edge
            paint(r, size - 1 - along, TICK_COLOR)      # right edge

    if modes is not None and len(modes):
        arm = max(2, size // 48)
        offsets = np.arange(-arm, arm + 1)
        for r0, c0 in zip(row_of(modes[:, 1]), column_of(modes[:, 0])):
            paint(np.full(offsets.shape, r0), c0 + offsets, MODE_COLOR)
            paint(r0 + offsets, np.full(offsets.shape, c0), MODE_COLOR)

    cols, rows = column_of(points[:, 0]), row_of(points[:, 1])
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            paint(rows + dr, cols + dc, POINT_COLOR)
    return canvas


def _tick_step(span: float) -> float:
    """A round step (1, 2, 2.5 or 5 x 10^k) giving about 6 intervals over `span`."""
    raw = span / 6.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw * (1 - 1e-9))


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
