"""Who is calling: a signed request checked against the store's API keys.

Checks, in order: the store offers the API; the four headers are there; the timestamp is within
±5 minutes; the nonce is well formed; the key exists and is not revoked; the signature matches
the exact request; the nonce was not seen in the last 10 minutes (remembered only after the
signature matched, so nobody can spend another caller's nonces); the caller's address is allowed;
the key's customer may order. Free of Flask request state: the view passes the request in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.api import signing
from app.api.keys import find_key, ip_allowed, key_secret
from app.api.models import ApiKey
from app.api.problems import ApiProblem
from app.billing import entitled
from app.cache import cache
from app.customers.models import Customer
from app.db import utcnow
from app.extensions import db
from tenants.context import TenantRef

WINDOW_SECONDS = 300
NONCE_TTL_SECONDS = 2 * WINDOW_SECONDS + 60  # longer than any timestamp still accepted
LAST_USED_EVERY = timedelta(minutes=1)  # how often last_used_at is written


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # as received (case-insensitive lookups via get_header)
    body: bytes
    client_ip: str

    def header(self, name: str) -> str:
        return (self.headers.get(name) or "").strip()


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    customer: Customer

    def require(self, scope: str) -> None:
        if scope not in (self.key.scopes or ()):
            raise ApiProblem("insufficient-scope", f"This request needs the {scope!r} scope.")


def authenticate(store: TenantRef, request: SignedRequest, now: datetime | None = None) -> Caller:
    if not entitled(store, "api_access"):
        raise ApiProblem("api-not-enabled", "The store's plan does not include API access.")
    key_id = request.header(signing.KEY_HEADER)
    stamp = request.header(signing.TIMESTAMP_HEADER)
    nonce = request.header(signing.NONCE_HEADER)
    given = request.header(signing.SIGNATURE_HEADER)
    if not (key_id and stamp and nonce and given):
        missing = [
            name
            for name, value in (
                (signing.KEY_HEADER, key_id),
                (signing.TIMESTAMP_HEADER, stamp),
                (signing.NONCE_HEADER, nonce),
                (signing.SIGNATURE_HEADER, given),
            )
            if not value
        ]
        raise ApiProblem("missing-credentials", f"Missing header(s): {', '.join(missing)}.")
    now = now or utcnow()
    if not stamp.isdecimal() or abs(now.timestamp() - int(stamp)) > WINDOW_SECONDS:
        raise ApiProblem(
            "stale-request",
            f"{signing.TIMESTAMP_HEADER} must be Unix seconds within {WINDOW_SECONDS} s of "
            "our clock.",
            server_time=int(now.timestamp()),
        )
    if not signing.nonce_is_wellformed(nonce):
        raise ApiProblem(
            "invalid-nonce",
            f"{signing.NONCE_HEADER} must be {signing.NONCE_MIN}–{signing.NONCE_MAX} characters "
            "of A–Z, a–z, 0–9, '-' and '_'.",
        )
    key = find_key(key_id)
    if key is None or not key.is_active:
        raise ApiProblem("invalid-key")
    text = signing.canonical(
        request.method, request.path, request.query, stamp, nonce, request.body
    )
    if not signing.matches(key_secret(store, key), text, given):
        raise ApiProblem(
            "invalid-signature", "Sign the exact method, path, query, timestamp, nonce and body."
        )
    if not cache().add(f"api:nonce:{store.id}:{key.key_id}:{nonce}", 1, NONCE_TTL_SECONDS):
        raise ApiProblem("replayed-request", "Use a new nonce for every request.")
    if not ip_allowed(key, request.client_ip):
        raise ApiProblem("ip-not-allowed", f"{request.client_ip} is not in the key's allowlist.")
    customer = db.session.get(Customer, key.customer_id)
    if customer is None or not customer.can_sign_in:
        raise ApiProblem("account-disabled")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        key.last_used_at = now
        db.session.commit()
    return Caller(key=key, customer=customer)
