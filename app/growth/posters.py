"""Share posters (推广海报): a PNG with the store's branding, a product's picture and price, and
a QR code of a link that carries the sharer's referral code.

A poster is drawn with Pillow from a `PosterSpec` (everything it shows) and kept as a file under
`instance/posters/<store>/<digest of the spec>.png`: the same inputs are drawn once, any change
(price, name, colours, template, link) makes a new file, and old files are swept after
POSTER_TTL_DAYS. Chinese text needs a CJK font: POSTER_FONT if set, else Noto Sans CJK from the
Debian package fonts-noto-cjk (found with fc-list); without one the poster is still drawn, with
Pillow's own font (latin only) and a warning in the log.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
from flask import current_app
from PIL import Image, ImageDraw, ImageFont, ImageOps

from app.i18n import N_, translate
from app.images import media_root
from app.theming.css import legible, readable_on

log = logging.getLogger(__name__)

POSTER_SIZE = (750, 1200)
QR_SIZE = 264
MARGIN = 40
RENDER_VERSION = "2"  # bump when the drawing changes, so cached files are drawn again
LAYOUTS = {
    "card": N_("Card: a coloured header, the picture on the page colour"),
    "bold": N_("Bold: everything on the accent colour"),
    "minimal": N_("Minimal: white, the accent for the price only"),
}
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-{weight}.ttc",
)


@dataclass(frozen=True)
class PosterTemplate:
    """How a poster is laid out: a built-in layout, or a platform template (a layout with a
    background picture and text colour) from the campaign assets library."""

    key: str  # "builtin:<layout>" | "asset:<id>"
    label: str
    layout: str
    background: str = ""  # media path
    text_colour: str = ""


@dataclass(frozen=True)
class PosterSpec:
    store_name: str
    accent: str
    page: str
    surface: str
    text: str
    logo: str  # media path or ""
    headline: str
    title: str
    price: str
    image: str  # media path or ""
    url: str
    caption: str
    template: PosterTemplate

    def digest(self) -> str:
        data = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(f"{RENDER_VERSION}:{data}".encode()).hexdigest()[:40]


def builtin_templates() -> list[PosterTemplate]:
    return [
        PosterTemplate(f"builtin:{layout}", translate(label), layout)
        for layout, label in LAYOUTS.items()
    ]


# -- fonts ---------------------------------------------------------------------------------------


def _fc_list() -> list[str]:
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]


@lru_cache(maxsize=4)
def font_path(bold: bool = False, configured: str = "") -> str | None:
    """A CJK font file: the configured one, Noto Sans CJK where Debian puts it, or any font
    fc-list knows for Chinese (bold preferred for headings). None: there is none."""
    if configured and Path(configured).is_file():
        return configured
    weight = "Bold" if bold else "Regular"
    for pattern in KNOWN_FONTS:
        candidate = pattern.format(weight=weight)
        if Path(candidate).is_file():
            return candidate
    found = _fc_list()
    preferred = [f for f in found if ("Bold" in f) == bold and "Sans" in f]
    return (preferred or found or [None])[0]


@lru_cache(maxsize=64)
def _font(path: str | None, size: int) -> ImageFont.ImageFont:
    if path is None:
        log.warning("no CJK font found (install fonts-noto-cjk or set POSTER_FONT)")
        return ImageFont.load_default(size)
    index = 0
    if path.endswith(".ttc"):  # a collection: take its Simplified Chinese face
        for i in range(10):
            try:
                face = ImageFont.truetype(path, size, index=i)
            except OSError:
                break
            if " SC" in " ".join(face.getname()):
                index = i
                break
    return ImageFont.truetype(path, size, index=index)


def font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    return _font(font_path(bold, current_app.config.get("POSTER_FONT") or ""), size)


# -- drawing -------------------------------------------------------------------------------------


def qr_image(url: str, size: int = QR_SIZE) -> Image.Image:
    """Black on white, medium error correction, a quiet zone of 2 modules, scaled crisply."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=8)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    return image.resize((size, size), Image.Resampling.NEAREST)


def _open_media(path: str) -> Image.Image | None:
    if not path:
        return None
    target = (media_root() / path).resolve()
    if not target.is_relative_to(media_root().resolve()) or not target.is_file():
        return None
    try:
        with Image.open(target) as picture:
            picture.load()
            return picture.convert("RGBA")
    except (OSError, Image.DecompressionBombError):
        log.warning("poster picture %s could not be read", path)
        return None


def _wrap(draw: ImageDraw.ImageDraw, text: str, face, width: int, lines: int) -> list[str]:
    """Wrap by character (Chinese has no spaces), at most `lines` lines, the last with …."""
    out, current = [], ""
    for char in text.replace("\n", " "):
        if draw.textlength(current + char, font=face) <= width:
            current += char
            continue
        out.append(current)
        current = char.lstrip()
        if len(out) == lines:
            break
    if len(out) < lines and current:
        out.append(current)
    if len(out) == lines and "".join(out) != text.replace("\n", " "):
        last = out[-1]
        while last and draw.textlength(last + "…", font=face) > width:
            last = last[:-1]
        out[-1] = last + "…"
    return out


def _paste_fit(canvas: Image.Image, picture: Image.Image, box: tuple[int, int, int, int], cover):
    left, top, right, bottom = box
    size = (right - left, bottom - top)
    fitted = ImageOps.fit(picture, size) if cover else ImageOps.contain(picture, size)
    x = left + (size[0] - fitted.width) // 2
    y = top + (size[1] - fitted.height) // 2
    canvas.paste(fitted, (x, y), fitted if fitted.mode == "RGBA" else None)


def render_poster(spec: PosterSpec) -> bytes:
    """The poster as PNG bytes (750 × 1200)."""
    width, height = POSTER_SIZE
    layout = spec.template.layout if spec.template.layout in LAYOUTS else "card"
    if layout == "bold":
        page, ink = spec.accent, readable_on(spec.accent)
        price_colour = ink
    elif layout == "minimal":
        page, ink = "#ffffff", legible(spec.text, "#ffffff")
        price_colour = legible(spec.accent, "#ffffff", 3.0)
    else:
        page, ink = spec.page, legible(spec.text, spec.page)
        price_colour = legible(spec.accent, spec.page, 3.0)
    if spec.template.text_colour:
        ink = spec.template.text_colour
    canvas = Image.new("RGB", POSTER_SIZE, page)
    background = _open_media(spec.template.background)
    if background is not None:
        _paste_fit(canvas, background, (0, 0, width, height), cover=True)
    draw = ImageDraw.Draw(canvas)

    # Header: logo and store name (on the accent colour for the card layout).
    header_bottom = 130
    name_colour = ink
    if layout == "card":
        draw.rectangle((0, 0, width, header_bottom), fill=spec.accent)
        name_colour = readable_on(spec.accent)
    x = MARGIN
    logo = _open_media(spec.logo)
    if logo is not None:
        _paste_fit(canvas, logo, (x, 25, x + 80, 105), cover=False)
        x += 100
    name_font = font(40, bold=True)
    name = _wrap(draw, spec.store_name, name_font, width - x - MARGIN, 1)
    draw.text((x, header_bottom // 2), name[0] if name else "", font=name_font,
              fill=name_colour, anchor="lm")  # fmt: skip

    # The picture: the product's image, or the store's name large.
    box = (MARGIN, header_bottom + 30, width - MARGIN, header_bottom + 30 + 460)
    picture = _open_media(spec.image)
    if layout != "bold" or picture is not None:
        draw.rounded_rectangle(box, radius=24, fill=spec.surface if layout == "card" else page)
    if picture is not None:
        _paste_fit(canvas, picture, (box[0] + 10, box[1] + 10, box[2] - 10, box[3] - 10), False)
    else:
        big = font(72, bold=True)
        lines = _wrap(draw, spec.title or spec.store_name, big, box[2] - box[0] - 60, 3)
        middle = (box[1] + box[3]) // 2 - (len(lines) - 1) * 45
        for i, line in enumerate(lines):
            fill = legible(spec.accent, spec.surface) if layout != "bold" else ink
            draw.text((width // 2, middle + i * 90), line, font=big, fill=fill, anchor="mm")

    # Title, price, headline.
    y = box[3] + 36
    title_font = font(40, bold=True)
    for line in _wrap(draw, spec.title, title_font, width - 2 * MARGIN, 2):
        draw.text((MARGIN, y), line, font=title_font, fill=ink)
        y += 54
    if spec.price:
        draw.text((MARGIN, y + 6), spec.price, font=font(60, bold=True), fill=price_colour)
        y += 90

    # The QR code on a white square (scanners need the contrast), bottom right.
    qr_left, qr_top = width - MARGIN - QR_SIZE, height - MARGIN - QR_SIZE - 40
    draw.rounded_rectangle(
        (qr_left - 12, qr_top - 12, qr_left + QR_SIZE + 12, qr_top + QR_SIZE + 12),
        radius=16, fill="#ffffff",
    )  # fmt: skip
    canvas.paste(qr_image(spec.url), (qr_left, qr_top))
    small = font(24)
    draw.text((qr_left + QR_SIZE // 2, qr_top + QR_SIZE + 36), spec.caption, font=small,
              fill=ink, anchor="mm")  # fmt: skip
    text_width = qr_left - 2 * MARGIN - 12
    lines = _wrap(draw, spec.headline, font(34, bold=True), text_width, 3)
    y = max(qr_top + 20, y + 24)
    for line in lines:
        draw.text((MARGIN, y), line, font=font(34, bold=True), fill=ink)
        y += 48
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


# -- the cache -----------------------------------------------------------------------------------


def poster_root() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "posters"


def poster_file(store_id: int, spec: PosterSpec) -> Path:
    """The poster's file, drawn now if these inputs were never drawn (or were swept)."""
    target = poster_root() / str(store_id) / f"{spec.digest()}.png"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
    partial.write_bytes(render_poster(spec))
    os.replace(partial, target)  # atomic: two requests drawing at once both end with one file
    return target


def purge_posters(older_than_days: int, now: float | None = None) -> int:
    """Remove poster files not drawn for `older_than_days` (they are drawn again on demand)."""
    root = poster_root()
    if not root.is_dir():
        return 0
    cutoff = (now or time.time()) - older_than_days * 86400
    removed = 0
    for path in root.glob("*/*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
