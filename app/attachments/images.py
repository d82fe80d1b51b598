"""Images, opened with Pillow: a check that the content is the image it claims to be, within a
pixel budget (a small file may decode to gigabytes: a decompression bomb), and its thumbnail."""
from __future__ import annotations

import io
import warnings
from typing import BinaryIO

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import AttachmentRefused
from .sniff import GIF, JPEG, PNG, WEBP

# At most this many pixels (width × height). Phone cameras make 12–50 megapixel JPEGs, which
# Pillow decodes at 1/8 of the size for a thumbnail; other formats decode in full (4 bytes a pixel).
MAX_PIXELS = 25_000_000
MAX_JPEG_PIXELS = 80_000_000  # (below Pillow's own bomb warning, 89 megapixels)
THUMBNAIL_SIZE = 320  # pixels, the longer side
MAX_THUMBNAIL_BYTES = 256 * 1024
_FORMATS = {PNG: "PNG", JPEG: "JPEG", GIF: "GIF", WEBP: "WEBP"}


def thumbnail(stream: BinaryIO, content_type: str, name: str) -> bytes:
    """A JPEG preview of at most THUMBNAIL_SIZE a side (b"" when it would be larger than
    MAX_THUMBNAIL_BYTES); AttachmentRefused when the content is not a readable image of
    `content_type` or has more than MAX_PIXELS pixels."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[_FORMATS[content_type]]) as image:
                width, height = image.size
                limit = MAX_JPEG_PIXELS if content_type == JPEG else MAX_PIXELS
                if width * height > limit:
                    raise AttachmentRefused(_(
                        "“%(name)s” is %(width)s × %(height)s pixels; at most %(max)s megapixels are accepted.",
                        name=name, width=width, height=height, max=limit // 1_000_000))
                image.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))  # JPEG: decode at a fraction of the size
                image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))  # decodes the first frame
                preview = ImageOps.exif_transpose(image)
        if preview.mode in ("RGBA", "LA", "PA") or "transparency" in preview.info:
            preview = preview.convert("RGBA")
            background = Image.new("RGB", preview.size, "white")
            background.paste(preview, mask=preview.getchannel("A"))
            preview = background
        else:
            preview = preview.convert("RGB")
        out = io.BytesIO()
        preview.save(out, "JPEG", quality=80, optimize=True)
    except AttachmentRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRefused(_(
            "“%(name)s” would be too large once decoded (at most %(max)s megapixels are accepted).",
            name=name, max=MAX_PIXELS // 1_000_000)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, MemoryError):
        raise AttachmentRefused(_("“%(name)s” could not be read as an image: it may be damaged.", name=name)) from None
    finally:
        stream.seek(0)
    data = out.getvalue()
    return data if len(data) <= MAX_THUMBNAIL_BYTES else b""
