"""Supplier accounts, their applications and their cost-price proposals (shared schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.accounts import Account
from app.db import SharedModel, UtcDateTime, utcnow
from app.i18n import N_

REVIEW_STATUSES = {
    "pending": N_("Under review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}


class SupplierUser(Account, SharedModel):
    """Someone who signs in to the supplier portal; linked to a supplier once approved."""

    __tablename__ = "supplier_users"
    login_kind = "supplier"

    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="SET NULL"), index=True
    )


class SupplierApplication(SharedModel):
    """A request to supply the platform, reviewed in the console; the newest one counts."""

    __tablename__ = "supplier_applications"
    __table_args__ = (Index("ix_supplier_applications_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("supplier_users.id", ondelete="CASCADE"), index=True
    )
    company_name: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40))
    goods: Mapped[str] = mapped_column(Text)  # what they would supply, in their words
    website: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def status_label(self) -> str:
        return REVIEW_STATUSES[self.status]


class CostProposal(SharedModel):
    """A supplier's proposed cost price for one of its SKUs; the platform approves it."""

    __tablename__ = "supplier_cost_proposals"
    __table_args__ = (Index("ix_supplier_cost_proposals_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), index=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"))
    current_cost_cents: Mapped[int] = mapped_column(BigInteger)
    proposed_cost_cents: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(254))
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def status_label(self) -> str:
        return REVIEW_STATUSES[self.status]
