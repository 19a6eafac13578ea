"""View guards for the two back-offices and the storefront customer pages."""

from __future__ import annotations

from functools import wraps

from flask import redirect, request, url_for
from flask_login import current_user


def login_required_for(login_kind: str, login_endpoint: str):
    """Require a signed-in account of `login_kind` ("platform", "store", "customer") here."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if (
                not current_user.is_authenticated
                or getattr(current_user, "login_kind", None) != login_kind
            ):
                return redirect(url_for(login_endpoint, next=request.full_path.rstrip("?")))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
