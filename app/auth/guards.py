"""View guards for the two back-offices and the storefront customer pages."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import redirect, request, url_for
from flask_login import current_user

from app.auth.two_factor import needs_enrolment

# Where an account that must use two-factor sign-in but has not set it up is sent; until it has,
# it can do nothing else (the pages listed here are the enrolment itself).
ENROLMENT_ENDPOINTS = {"store": "merchant.account", "platform": "platform.account"}
ENROLMENT_ALLOWED = {
    "merchant.account", "merchant.two_factor_start", "merchant.two_factor_confirm",
    "platform.account", "platform.two_factor_start", "platform.two_factor_confirm",
}  # fmt: skip


def login_required_for(login_kind: str, login_endpoint: str):
    """Require a signed-in account of `login_kind` ("platform", "store", "customer") here (and,
    where two-factor sign-in is required of it, that it is set up)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if (
                not current_user.is_authenticated
                or getattr(current_user, "login_kind", None) != login_kind
            ):
                return redirect(url_for(login_endpoint, next=request.full_path.rstrip("?")))
            if request.endpoint not in ENROLMENT_ALLOWED and needs_enrolment(current_user):
                return redirect(url_for(ENROLMENT_ENDPOINTS[login_kind]))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after sign-in or a language switch (no open
    redirects): "/path?query", never "//host", "/\\host", "https://host" nor a path with
    control characters or spaces (browsers drop tabs and newlines, so "/\t/host" is "//host")."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 33 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
