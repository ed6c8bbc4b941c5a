"""Open any image file as 8-bit RGB, or say precisely why it cannot be used.

Every path that reads pixels (scanning, training, inference, thumbnails) goes through
`load_rgb`, so a file that is rejected in one place is rejected everywhere for the same reason.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp"})

# A microscope field of view is a few megapixels; anything far beyond is a mistake or an attack.
MAX_PIXELS = 64_000_000
MIN_SIDE = 16

# PIL's own guard warns below 2x its limit and raises above it; we check the header ourselves
# and want one clear message instead of a warning on stderr.
Image.MAX_IMAGE_PIXELS = None


class ImageError(Exception):
    """A file that cannot be used as an image, with the reason in plain words."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def is_image_name(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def load_rgb(path: Path | str) -> Image.Image:
    """Decode `path` fully into an upright 8-bit RGB image.

    Raises ImageError naming the file and the reason for anything unusable: missing,
    unreadable, empty, not an image, truncated, too large or too small.
    """
    path = Path(path)
    try:
        stream = open_regular_file(path)
    except OSError as error:
        raise ImageError(path, describe_os_error(error)) from None
    try:
        with stream:
            if os.fstat(stream.fileno()).st_size == 0:
                raise ImageError(path, "the file is empty (0 bytes)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = Image.open(stream)
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        path,
                        f"the image is too large ({width}x{height} pixels; "
                        f"the limit is {MAX_PIXELS // 1_000_000} megapixels)",
                    )
                if min(width, height) < MIN_SIDE:
                    raise ImageError(
                        path,
                        f"the image is too small ({width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed)",
                    )
                image.load()
                return _to_rgb(ImageOps.exif_transpose(image))
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(path, "not an image, or an image format that is not supported") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        message = str(error) or type(error).__name__
        if "truncated" in message or isinstance(error, EOFError):
            message = "the image data is truncated (incomplete file)"
        else:
            message = f"the image data is corrupt ({message})"
        raise ImageError(path, message) from None
    except MemoryError:
        raise ImageError(path, "not enough memory to decode this image") from None


def open_regular_file(path: Path):
    """Open for reading without blocking: a named pipe would wait forever for a writer, so the
    file is opened non-blocking, checked to be a regular file, and only then read."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def describe_os_error(error: OSError) -> str:
    """Why a file or folder cannot be opened, in plain words."""
    if isinstance(error, FileNotFoundError):
        return "the file does not exist (moved or deleted?)"
    if isinstance(error, PermissionError):
        return "permission denied: the file cannot be read"
    if isinstance(error, IsADirectoryError):
        return "this is a folder, not an image file"
    if error.errno == errno.ELOOP:
        return "a symbolic link that leads back to itself (a link loop)"
    if error.errno == errno.EINVAL and error.strerror == "not a regular file":
        return "not a regular file (a pipe, device or socket), so it is not read"
    if error.errno == errno.ENAMETOOLONG:
        return "the file name is too long for this system"
    return f"the file cannot be read ({error.strerror or error})"


def _to_rgb(image: Image.Image) -> Image.Image:
    """Bring every PIL mode to 8-bit RGB; transparency is laid over black like slide background."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return Image.fromarray(_high_depth_to_8bit(np.asarray(image)), "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _high_depth_to_8bit(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels.astype(np.float64)
    top = pixels.max(initial=0.0)
    # 16-bit data is scaled by its full range, so a dim image stays dim; floats by their maximum.
    scale = 65535.0 if top > 255 else (top if 0 < top <= 1.0 else 255.0)
    return np.clip(pixels * (255.0 / scale), 0, 255).astype(np.uint8)
