"""How an API request is signed: HMAC-SHA256 over method, path and query, timestamp, nonce and
the body's SHA-256. Pure functions, shared by the server and the Python client (app.api.client).

    KAMENG-HMAC-SHA256\\n{METHOD}\\n{path[?query]}\\n{timestamp}\\n{nonce}\\n{hex sha256(body)}

The signature is the lower-case hex HMAC-SHA256 of that text under the key's secret, sent with
the key id, timestamp (Unix seconds) and nonce in the headers below.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

ALGORITHM = "KAMENG-HMAC-SHA256"
KEY_HEADER = "X-Kameng-Key"
TIMESTAMP_HEADER = "X-Kameng-Timestamp"
NONCE_HEADER = "X-Kameng-Nonce"
SIGNATURE_HEADER = "X-Kameng-Signature"
NONCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
NONCE_MIN, NONCE_MAX = 16, 64


def canonical(method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    target = f"{path}?{query}" if query else path
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((ALGORITHM, method.upper(), target, timestamp, nonce, digest))


def signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def matches(secret: str, text: str, given: str) -> bool:
    return hmac.compare_digest(signature(secret, text), given.strip().lower())


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def nonce_is_wellformed(nonce: str) -> bool:
    return NONCE_MIN <= len(nonce) <= NONCE_MAX and set(nonce) <= NONCE_CHARS


def sign_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers that authenticate one request."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce()
    text = canonical(method, path, query, stamp, nonce, body)
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: stamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, text),
    }
