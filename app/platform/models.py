"""Platform staff accounts (shared schema)."""

from __future__ import annotations

from app.auth.accounts import Account
from app.db import SharedModel

PLATFORM_ROLES = ("owner", "staff")


class PlatformUser(Account, SharedModel):
    """Someone who operates the platform console."""

    __tablename__ = "platform_users"
    login_kind = "platform"
