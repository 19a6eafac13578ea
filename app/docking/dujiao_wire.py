"""The dujiao-next site-to-site Open API (`/api/v1/upstream/*`) wire format, pure: its HMAC
signature, the callback's fixed signing path, and its money and status words.

    body_md5    = md5_hex(raw body bytes)            (empty body: d41d8cd98f00b204e9800998ecf8427e)
    sign_string = METHOD "\\n" PATH "\\n" TIMESTAMP "\\n" body_md5
    signature   = hex(HMAC-SHA256(api_secret, sign_string))

PATH is the URL path only (no scheme, host or query string). Callbacks are signed the same way
with the literal path `/api/v1/upstream/callback`, whatever the callback URL's own path is.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "/api/v1/upstream"
CALLBACK_PATH = "/api/v1/upstream/callback"
KEY_HEADER = "Dujiao-Next-Api-Key"
TIMESTAMP_HEADER = "Dujiao-Next-Timestamp"
SIGNATURE_HEADER = "Dujiao-Next-Signature"
WINDOW_SECONDS = 60
DELIVERED = ("delivered", "completed", "fulfilled")
CANCELED = ("canceled", "cancelled")
CALLBACK_ACK = '{"ok":true,"message":"received"}'


def sign_string(method: str, path: str, timestamp: str, body: bytes) -> str:
    body_md5 = hashlib.md5(body or b"").hexdigest()
    return "\n".join((method.upper(), path.split("?", 1)[0], str(timestamp), body_md5))


def signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    text = sign_string(method, path, timestamp, body)
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def headers(api_key: str, secret: str, method: str, path: str, timestamp: str, body: bytes):
    return {
        KEY_HEADER: api_key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, body),
        "Content-Type": "application/json",
    }


def matches(secret: str, method: str, path: str, timestamp: str, body: bytes, given: str) -> bool:
    expected = signature(secret, method, path, timestamp, body)
    return bool(given) and hmac.compare_digest(expected, given.strip().lower())


def normal_status(status: object) -> str:
    """The receiver's mapping: delivered/completed/fulfilled → delivered, canceled/cancelled →
    canceled, anything else as it is, lower-cased."""
    text = str(status or "").strip().lower()
    if text in DELIVERED:
        return "delivered"
    if text in CANCELED:
        return "canceled"
    return text
