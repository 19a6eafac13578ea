"""Store staff accounts (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.accounts import Account
from app.db import TenantModel, UtcDateTime, utcnow

STAFF_ROLES = ("owner", "admin", "staff")


class StaffUser(Account, TenantModel):
    """Someone who runs a store: its owner, admins and staff."""

    __tablename__ = "staff_users"
    login_kind = "store"


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
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
