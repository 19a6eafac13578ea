"""Two-factor sign-in (TOTP, RFC 6238) and single-use recovery codes, for staff and platform
accounts. The secret is sealed at rest; recovery codes are kept only as keyed fingerprints."""

from __future__ import annotations

import base64
import io
import secrets
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app
from sqlalchemy import JSON, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto import keyring, open_text, seal_text
from app.db import UtcDateTime, utcnow
from app.i18n import N_

RECOVERY_CODE_COUNT = 10
SEAL_PURPOSE = "totp-secret"
# A code from the previous or next 30-second step is accepted too (clocks drift).
VALID_WINDOW = 1


class TwoFactorMixin:
    """Columns of an account that can use two-factor sign-in."""

    # Set while enrolling (not yet confirmed) and once enabled; None: never started or disabled.
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The last time step a code was accepted for: the same code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Fingerprints of the unused recovery codes.
    recovery_codes: Mapped[list | None] = mapped_column(JSON)

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class TwoFactorError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.field = "code"
        self.message = message


def is_required(user) -> bool:
    """Whether this account must use two-factor sign-in (owners, unless configured off)."""
    return user.role == "owner" and bool(current_app.config.get("REQUIRE_OWNER_TWO_FACTOR", True))


def needs_enrolment(user) -> bool:
    return hasattr(user, "totp_enabled_at") and is_required(user) and not user.has_two_factor


def _purpose(user) -> str:
    return f"{SEAL_PURPOSE}:{user.login_kind}:{user.id}"


def _secret(user) -> str:
    return open_text(user.totp_secret_sealed, _purpose(user))


def start_enrolment(user) -> str:
    """A new secret for the account (kept until confirmed); returns it. Refused when enabled."""
    if user.has_two_factor:
        raise TwoFactorError(N_("Two-factor sign-in is already on."))
    secret = pyotp.random_base32()
    user.totp_secret_sealed = seal_text(secret, _purpose(user))
    return secret


def pending_secret(user) -> str | None:
    """The secret being enrolled (not yet confirmed), or None."""
    if user.has_two_factor or not user.totp_secret_sealed:
        return None
    return _secret(user)


def provisioning_uri(user, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_svg(text: str) -> str:
    """The QR code of `text` as an inline SVG element."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]


def _accept_totp(user, secret: str, code: str) -> bool:
    """Whether `code` is valid now and newer than the last accepted one (then remember it)."""
    code = "".join(ch for ch in (code or "") if ch.isdecimal())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    step_now = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = step_now + offset
        if secrets.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # replayed
            user.totp_last_step = step
            return True
    return False


def _fingerprint(code: str) -> str:
    normal = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    digest = keyring().fingerprint(f"recovery-code:{normal}".encode())
    return base64.b64encode(digest).decode()


def _new_recovery_codes(user) -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(5)).decode().lower()
        codes.append(f"{raw[:4]}-{raw[4:]}")
    user.recovery_codes = [_fingerprint(code) for code in codes]
    return codes


def confirm_enrolment(user, code: str) -> list[str]:
    """Turn two-factor on if `code` matches the pending secret; returns the recovery codes (shown
    once). The caller commits."""
    secret = pending_secret(user)
    if secret is None:
        raise TwoFactorError(N_("Start again: scan a new QR code."))
    if not _accept_totp(user, secret, code):
        raise TwoFactorError(N_("That code is not right. Enter the 6 digits your app shows now."))
    user.totp_enabled_at = utcnow()
    return _new_recovery_codes(user)


def verify(user, code: str) -> str | None:
    """How `code` signs this account in: "totp", "recovery" (that code is now used up) or None."""
    if not user.has_two_factor:
        return None
    if _accept_totp(user, _secret(user), code):
        return "totp"
    fingerprint = _fingerprint(code)
    remaining = list(user.recovery_codes or [])
    if len((code or "").strip()) >= 8 and fingerprint in remaining:
        remaining.remove(fingerprint)
        user.recovery_codes = remaining
        return "recovery"
    return None


def regenerate_recovery_codes(user, code: str) -> list[str]:
    if not _accept_totp(user, _secret(user), code):
        raise TwoFactorError(N_("That code is not right. Enter the 6 digits your app shows now."))
    return _new_recovery_codes(user)


def disable(user, code: str) -> None:
    """Turn two-factor off; needs a current code (an authenticator code or a recovery code)."""
    if not user.has_two_factor:
        raise TwoFactorError(N_("Two-factor sign-in is not on."))
    if verify(user, code) is None:
        raise TwoFactorError(N_("That code is not right. Enter the 6 digits your app shows now."))
    if is_required(user):
        raise TwoFactorError(N_("Owners must keep two-factor sign-in on."))
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.recovery_codes = None


def remaining_recovery_codes(user) -> int:
    return len(user.recovery_codes or [])


def reset(user) -> None:
    """Clear the factor of someone who lost their phone and their recovery codes (an operator,
    after checking who asks); they set it up again at their next sign-in. The caller commits."""
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = None
