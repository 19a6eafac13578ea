"""Read-only impersonation: a platform admin looks at a store's back-office as its staff see it,
changing nothing. The platform console issues a one-minute, single-use token (audited); the
store host turns it into a "viewer" sign-in that lasts VIEWER_MINUTES and may only read."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.db import utcnow

TOKEN_MAX_AGE_SECONDS = 60
VIEWER_MINUTES = 30
VIEWER_ROLE = "viewer"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="store-viewer")


def viewer_token(tenant_id: int, platform_user_id: int) -> str:
    return _serializer().dumps({"t": tenant_id, "p": platform_user_id, "n": secrets.token_hex(8)})


@dataclass
class Viewer:
    """A platform admin in a store's back-office, read-only (not a stored account)."""

    tenant_id: int
    platform_user_id: int
    email: str
    name: str
    until: int  # unix seconds

    login_kind = "store"
    role = VIEWER_ROLE
    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_viewer = True
    can_sign_in = True

    @property
    def id(self) -> str:
        return f"platform:{self.platform_user_id}"

    def get_id(self) -> str:
        return f"viewer:{self.tenant_id}:{self.platform_user_id}:{self.until}"


def redeem(token: str, tenant_id: int) -> Viewer | None:
    """The viewer a fresh, unused token for this store stands for; else None."""
    from app.cache import cache
    from app.extensions import db
    from app.platform.models import PlatformUser

    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except BadSignature:
        return None
    if data.get("t") != tenant_id:
        return None
    if not cache().add(f"viewer-token:{data.get('n')}", 1, TOKEN_MAX_AGE_SECONDS * 2):
        return None  # used once already
    admin = db.session.get(PlatformUser, data.get("p"))
    if admin is None or not admin.is_active:
        return None
    until = int((utcnow() + timedelta(minutes=VIEWER_MINUTES)).timestamp())
    return Viewer(tenant_id, admin.id, admin.email, admin.name, until)


def load(rest: str, tenant_id: int | None) -> Viewer | None:
    """The viewer of a session's login id "<tenant>:<platform user>:<until>", while valid."""
    from app.extensions import db
    from app.platform.models import PlatformUser

    try:
        store_id, admin_id, until = (int(part) for part in rest.split(":"))
    except ValueError:
        return None
    if store_id != tenant_id or until < utcnow().timestamp():
        return None
    admin = db.session.get(PlatformUser, admin_id)
    if admin is None or not admin.is_active:
        return None
    return Viewer(store_id, admin.id, admin.email, admin.name, until)
