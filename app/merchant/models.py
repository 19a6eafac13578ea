"""Store staff accounts, their sign-in sessions and invitations (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.accounts import Account
from app.auth.sessions import SignInSessionMixin
from app.auth.two_factor import TwoFactorMixin
from app.db import TenantModel, UtcDateTime, utcnow
from app.i18n import N_

# What each role may do is in app/merchant/permissions.py.
STAFF_ROLES = ("owner", "admin", "support", "finance")
ROLE_LABELS = {
    "owner": N_("Owner"),
    "admin": N_("Administrator"),
    "support": N_("Customer support"),
    "finance": N_("Finance"),
}


class StaffSession(SignInSessionMixin, TenantModel):
    """One sign-in of a staff member (listed and revocable on /admin/account)."""

    __tablename__ = "staff_sessions"


class StaffUser(TwoFactorMixin, Account, TenantModel):
    """Someone who runs a store: its owners, admins, customer support and finance staff."""

    __tablename__ = "staff_users"
    login_kind = "store"
    session_model = StaffSession

    role: Mapped[str] = mapped_column(String(20), default="support")


class StaffInvitation(TenantModel):
    """An e-mailed invitation to join the store's staff with a role (single use, 7 days)."""

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20))
    invited_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StoreSettings(TenantModel):
    """The store's own words on its storefront (one row per store; more settings join later)."""

    __tablename__ = "store_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tagline: Mapped[str] = mapped_column(String(200), default="")
    announcement: Mapped[str] = mapped_column(Text, default="")
    # Show exact stock counts to customers (otherwise: in stock / low / sold out).
    show_stock_counts: Mapped[bool] = mapped_column(Boolean, default=False)
    # Checkout: the enabled platform providers this store offers (empty: all of them), how long
    # an unpaid order holds its stock, and how many unpaid orders one buyer may keep open.
    payment_providers: Mapped[list] = mapped_column(JSON, default=list)
    order_expiry_minutes: Mapped[int] = mapped_column(Integer, default=15)
    max_unpaid_per_ip: Mapped[int] = mapped_column(Integer, default=3)
    max_unpaid_per_contact: Mapped[int] = mapped_column(Integer, default=3)
    # Identity and contacts shown on the storefront (the store's name itself is `tenants.name`).
    logo: Mapped[str] = mapped_column(String(200), default="")  # a media path
    support_qq: Mapped[str] = mapped_column(String(20), default="")
    support_wechat: Mapped[str] = mapped_column(String(40), default="")
    support_telegram: Mapped[str] = mapped_column(String(40), default="")
    support_email: Mapped[str] = mapped_column(String(254), default="")
    seo_title: Mapped[str] = mapped_column(String(70), default="")
    seo_description: Mapped[str] = mapped_column(String(200), default="")
    # Off: only signed-in customers may check out. Query password for guests: required,
    # optional or off (then guests find orders through e-mailed links only).
    guest_checkout: Mapped[bool] = mapped_column(Boolean, default=True)
    query_password_policy: Mapped[str] = mapped_column(String(10), default="optional")
    # Risk: the store's own limits, applied only where stricter than the platform's (None: the
    # platform's), and orders above `risk_review_over_cents` held for the store's own review.
    risk_order_max_cents: Mapped[int | None] = mapped_column(BigInteger)
    risk_daily_max_cents: Mapped[int | None] = mapped_column(BigInteger)
    risk_per_minute: Mapped[int | None] = mapped_column(Integer)
    risk_per_hour: Mapped[int | None] = mapped_column(Integer)
    risk_review_over_cents: Mapped[int | None] = mapped_column(BigInteger)
    risk_challenge_per_minute: Mapped[int | None] = mapped_column(Integer)  # captcha from here
    # The first order of a new customer on high-risk products, and units of one SKU per order
    # and per buyer per day (stricter than the platform's only).
    risk_new_customer_cap_cents: Mapped[int | None] = mapped_column(BigInteger)
    risk_quantity_per_order: Mapped[int | None] = mapped_column(Integer)
    risk_quantity_per_day: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
