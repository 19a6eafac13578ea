"""Sign-in sessions for accounts (platform, store staff, store customers), bound to their site."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, session
from flask_login import UserMixin, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.passwords import PasswordMixin
from app.db import UtcDateTime, utcnow
from app.extensions import db, login_manager
from app.web.site import claim_session_for_site, current_site
from tenants.context import get_current_tenant, require_tenant
from tenants.resolver import PLATFORM, STORE

HANDOFF_MAX_AGE_SECONDS = 120


class Account(PasswordMixin, UserMixin):
    """Columns and login ids shared by PlatformUser, StaffUser and Customer (ids say which kind)."""

    login_kind: str

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="staff")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def can_sign_in(self) -> bool:
        """Whether this account may sign in and stay signed in (models add their own bars)."""
        return self.is_active

    def get_id(self) -> str:
        if self.login_kind in STORE_LOGIN_KINDS:
            return f"{self.login_kind}:{require_tenant().id}:{self.id}"
        return f"{self.login_kind}:{self.id}"  # platform staff or a supplier, on the apex


# Login kinds whose accounts live in a store's schema: its staff and its customers. Each kind is
# its own identity (own table, own id prefix), so one can never pass for the other.
STORE_LOGIN_KINDS = ("store", "customer")


# Login kinds on the apex: platform staff and suppliers (each its own table and id prefix).
PLATFORM_LOGIN_KINDS = ("platform", "supplier")


def _platform_account_model(kind: str):
    from app.platform.models import PlatformUser
    from app.supplier_portal.models import SupplierUser

    return {"platform": PlatformUser, "supplier": SupplierUser}[kind]


def _store_account_model(kind: str):
    from app.customers.models import Customer
    from app.merchant.models import StaffUser

    return {"store": StaffUser, "customer": Customer}[kind]


@login_manager.user_loader
def load_account(login_id: str):
    kind, _, rest = login_id.partition(":")
    site = current_site()
    user = None
    if kind in PLATFORM_LOGIN_KINDS and site.kind == PLATFORM:
        user = db.session.get(_platform_account_model(kind), int(rest))
    elif kind == "viewer" and site.kind == STORE:
        from app.auth import viewer

        tenant = get_current_tenant()
        return viewer.load(rest, tenant.id if tenant is not None else None)
    elif kind in STORE_LOGIN_KINDS and site.kind == STORE:
        tenant_id, _, user_id = rest.partition(":")
        tenant = get_current_tenant()
        if tenant is not None and tenant_id == str(tenant.id):
            user = db.session.get(_store_account_model(kind), int(user_id))
    if user is None or not user.can_sign_in:
        return None
    if hasattr(user, "session_model"):
        # Staff and platform sign-ins are recorded: a revoked (or unrecorded) one is signed out.
        from app.auth import sessions

        row = sessions.current_row(user, session.get(sessions.SESSION_KEY))
        if row is None:
            return None
        sessions.touch(row)
    return user


def authenticate(model, email: str, password: str):
    """The active account with this e-mail and password, or None (same work either way)."""
    from sqlalchemy import select

    user = db.session.scalar(select(model).where(model.email == (email or "").strip().lower()))
    if user is None:
        # Spend the same time as a real check so timing does not reveal which e-mails exist.
        PasswordMixin.check_password(_DUMMY, password or "x")
        return None
    if not user.can_sign_in or not user.check_password(password):
        return None
    return user


def sign_in(user) -> None:
    session.clear()  # nothing from before sign-in survives it
    login_user(user)
    claim_session_for_site()
    if hasattr(user, "session_model"):
        from flask import request

        from app.auth import sessions
        from app.net import client_ip

        session[sessions.SESSION_KEY] = sessions.open_session(
            user, user_agent=request.headers.get("User-Agent", ""), ip=client_ip()
        )
    user.last_login_at = utcnow()
    db.session.commit()


# -- the second step of a two-factor sign-in -------------------------------------------------------

PENDING_KEY = "_2fa_pending"
PENDING_MAX_AGE_SECONDS = 300


def start_two_factor(user, next_url: str) -> None:
    """Password checked: remember who is signing in until they enter their code (5 minutes)."""
    session.clear()
    claim_session_for_site()
    session[PENDING_KEY] = {"id": user.get_id(), "at": utcnow().timestamp(), "next": next_url}


def pending_two_factor():
    """(account, next url) of the sign-in waiting for its code here, or (None, None)."""
    from tenants.context import get_current_tenant

    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, None
    if utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_MAX_AGE_SECONDS:
        session.pop(PENDING_KEY, None)
        return None, None
    kind, _, rest = str(pending.get("id", "")).partition(":")
    site = current_site()
    user = None
    if kind == "platform" and site.kind == PLATFORM:
        from app.platform.models import PlatformUser

        user = db.session.get(PlatformUser, int(rest))
    elif kind == "store" and site.kind == STORE:
        tenant_id, _, user_id = rest.partition(":")
        tenant = get_current_tenant()
        if tenant is not None and tenant_id == str(tenant.id):
            user = db.session.get(_store_account_model(kind), int(user_id))
    if user is None or not user.can_sign_in:
        return None, None
    return user, pending.get("next") or ""


def sign_out() -> None:
    logout_user()
    session.clear()


# -- handing a freshly opened store's owner from the apex to their store host ---------------------


def _handoff_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="store-owner-handoff")


def handoff_token(tenant_id: int, user_id: int, last_login_at=None) -> str:
    """A short-lived, single-use token that signs the owner in on their store's own host."""
    stamp = last_login_at.isoformat() if last_login_at else ""
    return _handoff_serializer().dumps({"t": tenant_id, "u": user_id, "s": stamp})


def redeem_handoff(token: str):
    """The staff account the token is for, if it is fresh, for this store and unused; else None."""
    from app.merchant.models import StaffUser

    try:
        data = _handoff_serializer().loads(token, max_age=HANDOFF_MAX_AGE_SECONDS)
    except BadSignature:
        return None
    tenant = get_current_tenant()
    if tenant is None or data.get("t") != tenant.id:
        return None
    user = db.session.get(StaffUser, data.get("u"))
    if user is None or not user.is_active:
        return None
    stamp = user.last_login_at.isoformat() if user.last_login_at else ""
    if stamp != data.get("s"):
        return None  # already used: signing in moved last_login_at
    return user


class _Dummy(PasswordMixin):
    password_hash = "scrypt:32768:8:1$dummysaltdummysa$" + "0" * 128


_DUMMY = _Dummy()
