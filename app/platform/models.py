"""Platform staff accounts and their sign-in sessions (shared schema)."""

from __future__ import annotations

from app.auth.accounts import Account
from app.auth.sessions import SignInSessionMixin
from app.auth.two_factor import TwoFactorMixin
from app.db import SharedModel

PLATFORM_ROLES = ("owner", "staff")


class PlatformSession(SignInSessionMixin, SharedModel):
    """One sign-in of a platform account (listed and revocable on /platform/account)."""

    __tablename__ = "platform_sessions"


class PlatformUser(TwoFactorMixin, Account, SharedModel):
    """Someone who operates the platform console."""

    __tablename__ = "platform_users"
    login_kind = "platform"
    session_model = PlatformSession
