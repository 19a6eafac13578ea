"""Store customer accounts (store schema): one table per store, so an e-mail is unique per store.

Also the customer's money in the store: balance top-ups (the balance itself is a ledger account,
`customer:<store>:<customer>:balance`), customer levels and the store's referral setting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.accounts import Account
from app.db import BigId, TenantModel, UtcDateTime, utcnow
from app.i18n import N_


class Customer(Account, TenantModel):
    """Someone who signed up on a store's storefront to buy and find their orders again."""

    __tablename__ = "customers"
    login_kind = "customer"

    role: Mapped[str] = mapped_column(String(20), default="customer")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # Set by the store to shut a customer out; they are signed out on their next request.
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the customer paid for orders, less refunds (recomputed on payment and refund):
    # the customer's level follows from it.
    paid_spend_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Their own invite code (`?ref=`), and the customer who invited them (set at sign-up).
    invite_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    referrer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # CRM: comma-separated tags and free notes, for the store's staff only.
    tags: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # When the customer's personal data was deleted (app/privacy): the row stays for the
    # orders and the ledger, with nothing left that names them.
    anonymised_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Marketing e-mail (app.growth.mailing): only with the customer's own yes, withdrawn by the
    # unsubscribe link in every message or on the account page.
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_opt_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def can_sign_in(self) -> bool:
        return self.is_active and not self.is_blocked

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in (self.tags or "").split(",") if tag]


TOPUP_STATUS_LABELS = {
    "pending": N_("Awaiting payment"),
    "paid": N_("Credited"),
    "failed": N_("Failed"),
}


class BalanceTopup(TenantModel):
    """A customer adding money to their balance through one of the store's payment providers.
    `topup_no` (B + date + 12 random digits) is what the payment points at."""

    __tablename__ = "balance_topups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topup_no: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # pending | paid | failed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    provider: Mapped[str] = mapped_column(String(20), default="")
    payment_no: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


LEVEL_LABELS = {
    "bronze": N_("Bronze"),
    "silver": N_("Silver"),
    "gold": N_("Gold"),
    "diamond": N_("Diamond"),
}


class CustomerLevel(TenantModel):
    """A customer level: reached at `threshold_cents` of paid spend, `discount_bp` off retail."""

    __tablename__ = "customer_levels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    threshold_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)


class CustomerProgram(TenantModel):
    """The store's customer referral setting (one row): the share of an invitee's paid order
    that the inviting customer earns, in basis points of the order's total (0: off)."""

    __tablename__ = "customer_program"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_bp: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
