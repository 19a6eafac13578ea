"""The device id of a buyer: a long-lived first-party cookie that the storefront sets, signed so
that nobody can make up someone else's id (an API client passes its own instead, see
checkout_device_id). The risk rules count orders per device as they do per IP and contact."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, Signer

COOKIE = "kameng_device"
MAX_AGE_SECONDS = 2 * 365 * 24 * 3600
_SALT = "kameng-device-id"


def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt=_SALT)


def new_cookie(secret_key: str) -> tuple[str, str]:
    """A new device: (its id, the signed cookie value)."""
    device_id = secrets.token_urlsafe(16)
    return device_id, _signer(secret_key).sign(device_id).decode()


def from_cookie(value: str | None, secret_key: str) -> str:
    """The device id in a cookie value, or "" if there is none or it is not ours."""
    if not value or len(value) > 200:
        return ""
    try:
        return _signer(secret_key).unsign(value).decode()
    except (BadSignature, UnicodeDecodeError):
        return ""


def client_device_id(client: str, value: str) -> str:
    """A device id supplied by a client (an API caller's own), kept apart from the cookie ids
    and from other clients' ids: "api:<client>:<value>" (at most 120 characters)."""
    value = "".join(ch for ch in (value or "") if ch.isprintable()).strip()
    return f"api:{client}:{value}"[:120] if value else ""
