"""Standard Webhooks v1 signatures (HMAC-SHA256), message ids and endpoint secrets.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}` with the body exactly as sent;
the secret is shown as `whsec_` + base64 of its raw bytes, and the HMAC key is those raw bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the standard allows 24 to 64
_ID_ALPHABET = string.ascii_letters + string.digits


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """`msg_` + 27 letters and digits (160 random bits): unique, unguessable, no full stops."""
    return "msg_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(27))


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def sign(secret: str, message_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`."""
    if isinstance(body, str):
        body = body.encode()
    content = f"{message_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes | str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
