"""Uploaded images: checked with Pillow and re-encoded, so metadata and anything smuggled after
the image data is dropped. Callers choose the limits and the words of the refusal."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from flask import current_app
from PIL import Image, UnidentifiedImageError

IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


class ImageRefused(ValueError):
    """Why an upload is not an acceptable image: "size", "format", "pixels" or "unreadable"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def reencode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> tuple[bytes, str]:
    """The image re-encoded in its own format and its file extension; ImageRefused otherwise."""
    if len(data) > max_bytes:
        raise ImageRefused("size")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            if image_format not in IMAGE_FORMATS:
                raise ImageRefused("format")
            if max(image.size) > max_pixels:
                raise ImageRefused("pixels")
            image.load()
            if image_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format=image_format)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ImageRefused("unreadable") from None
    return out.getvalue(), IMAGE_FORMATS[image_format]


def media_root() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "media"


def store_media(folder: str, data: bytes, extension: str) -> str:
    """Write `data` under media/<folder>/ with a random name; returns the media path."""
    relative = f"{folder}/{uuid.uuid4().hex}.{extension}"
    target = media_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative
