"""The Actor of the current request, for views that record audit events."""

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
