"""The Actor of the current request, and `audit()` for views that record an admin action."""

from __future__ import annotations

from flask_login import current_user

from app.audit.services import Actor
from app.net import client_ip


def current_actor() -> Actor:
    ip = client_ip()
    if not current_user.is_authenticated:
        return Actor("system", ip=ip)
    kind = current_user.login_kind
    return Actor(kind, current_user.id, current_user.email, ip)


def audit(action: str, *, target: str = "", before: dict | None = None, after: dict | None = None):
    """Record `action` by the current request's actor, in the store bound to the request (if
    any), inside the caller's transaction (the caller commits)."""
    from app.audit.services import record
    from tenants.context import get_current_tenant

    store = get_current_tenant()
    return record(
        action,
        actor=current_actor(),
        tenant_id=store.id if store is not None else None,
        target=target,
        before=before,
        after=after,
    )
