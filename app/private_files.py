"""Images people upload that only some may see (licences, ticket attachments): checked and
re-encoded by Pillow, then sealed (AES-GCM, bound to a purpose) under the instance's private
folder — never under a public media path."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from flask import current_app

from app.crypto import open_text, seal_text
from app.images import reencode_image

MAX_PIXELS = 6000
MIMETYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def _folder(kind: str) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "private" / kind


def store_image(kind: str, purpose: str, data: bytes, *, max_bytes: int) -> str:
    """Keep `data` (raises app.images.ImageRefused) and return its name; `purpose` binds the
    sealed file to its owner so it cannot be read in another's name."""
    clean, extension = reencode_image(data, max_bytes=max_bytes, max_pixels=MAX_PIXELS)
    name = f"{uuid.uuid4().hex}.{extension}"
    folder = _folder(kind)
    folder.mkdir(parents=True, exist_ok=True)
    sealed = seal_text(base64.b64encode(clean).decode(), f"{purpose}:image:{name}")
    (folder / f"{name}.sealed").write_text(sealed)
    return name


def read_image(kind: str, purpose: str, name: str) -> tuple[bytes, str] | None:
    """The image in clear and its mimetype, or None when it is not there."""
    if not name or "/" in name or "\\" in name:
        return None
    path = _folder(kind) / f"{name}.sealed"
    if not path.exists():
        return None
    data = base64.b64decode(open_text(path.read_text(), f"{purpose}:image:{name}"))
    return data, MIMETYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
