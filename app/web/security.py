"""Security headers on every response."""

from __future__ import annotations

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'self'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
)


def add_security_headers(response):
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        if name not in headers:
            headers.add(name, value)
    seconds = current_app.config.get("HSTS_SECONDS") or 0
    if seconds and request.is_secure:  # browsers ignore it over plain HTTP anyway
        headers.setdefault("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains")
    return response


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask builds the cookie signer on every request; build it once per secret key."""

    def get_signing_serializer(self, app):
        key = app.secret_key
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != key:
            cached = (key, super().get_signing_serializer(app))
            self._serializer = cached
        return cached[1]


def init_app(app) -> None:
    app.session_interface = CachedSerializerSessionInterface()
    app.after_request(add_security_headers)
