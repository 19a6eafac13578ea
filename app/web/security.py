"""Security headers on every response: a Content-Security-Policy that allows only the site's
own assets, no framing by other sites (nor by the site itself, except the theme editor's
preview), no MIME sniffing, a strict referrer policy, and HSTS on HTTPS when configured.

No page has inline scripts, styles or event handlers (tests/test_security.py reads every
template to keep it so), so the policy needs neither nonces nor 'unsafe-inline' — nonces would
not work anyway with the whole-page cache, which stores one HTML body for many visitors.
`form-action` is left out on purpose: checkout forms post here and are then redirected to the
payment gateway, and browsers apply `form-action` to that redirect."""

from __future__ import annotations

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors {frame_ancestors}"
    )


CONTENT_SECURITY_POLICY = content_security_policy()
PREVIEW_CONTENT_SECURITY_POLICY = content_security_policy("'self'")

# What every response carries (the page cache's middleware sends these with its hits).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
)
# The theme editor (/admin/theme) shows the storefront in a frame of its own: these endpoints,
# and storefront pages seen by a staff member with preview turned on, may be framed by the
# same site only.
FRAMEABLE_ENDPOINTS = frozenset({"merchant.theme_preview", "merchant.theme_preview_off"})


def _is_theme_preview() -> bool:
    if request.endpoint in FRAMEABLE_ENDPOINTS:
        return True
    # Only a visitor with a session cookie can be previewing; looking at the session of
    # anyone else would add `Vary: Cookie` to responses that do not depend on it.
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False
    from app.storefront.appearance import PREVIEW_KEY, is_previewing

    return bool(session.get(PREVIEW_KEY)) and is_previewing()


def add_security_headers(response):
    headers = response.headers
    frameable = _is_theme_preview()
    for name, value in SECURITY_HEADERS:
        if frameable and name == "Content-Security-Policy":
            value = PREVIEW_CONTENT_SECURITY_POLICY
        elif frameable and name == "X-Frame-Options":
            value = "SAMEORIGIN"
        if name not in headers:
            headers.add(name, value)
    seconds = current_app.config.get("HSTS_SECONDS") or 0
    if seconds and request.is_secure:  # browsers ignore it over plain HTTP anyway
        headers.setdefault("Strict-Transport-Security", hsts_value(seconds))
    return response


def hsts_value(seconds: int) -> str:
    return f"max-age={seconds}; includeSubDomains"


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
