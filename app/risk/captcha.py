"""A self-hosted captcha (no outside service): a few distorted characters drawn with Pillow.

The session keeps only a keyed digest of the answer (Flask's session cookie is signed, not
encrypted), and an answer is good for one try.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets

from flask import current_app
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ALPHABET = "ACDEFHJKMNPRTUVWXY34679"  # no look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B)
LENGTH = 5
SESSION_KEY = "risk_captcha"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def _digest(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"captcha:{code.strip().upper()}".encode(), hashlib.sha256).hexdigest()


def issue(session) -> bytes:
    """A new challenge: its digest into the session, its picture (PNG) out."""
    code = new_code()
    session[SESSION_KEY] = _digest(code)
    return picture(code)


def solved(session, answer: str) -> bool:
    """Whether `answer` matches the last picture shown; the challenge is used up either way."""
    expected = session.pop(SESSION_KEY, None)
    if not expected or not answer:
        return False
    return hmac.compare_digest(expected, _digest(answer))


def picture(code: str) -> bytes:
    width, height = 40 * len(code) + 20, 64
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for _ in range(6):  # noise lines under the text
        points = [(secrets.randbelow(width), secrets.randbelow(height)) for _ in range(2)]
        draw.line(points, fill=(150 + secrets.randbelow(80),) * 3, width=2)
    for index, char in enumerate(code):
        glyph = Image.new("RGBA", (48, 56), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((6, 2), char, font=font, fill=(30, 30, 90))
        glyph = glyph.rotate(secrets.randbelow(41) - 20, resample=Image.BICUBIC, expand=False)
        image.paste(glyph, (10 + index * 40, 4 + secrets.randbelow(6)), glyph)
    image = image.filter(ImageFilter.SMOOTH)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
