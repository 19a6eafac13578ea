"""The store's privacy settings and its customers' deletion requests (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TenantModel, UtcDateTime, utcnow
from app.i18n import N_


class PrivacySettings(TenantModel):
    """One row per store: its own words for the privacy page (sanitised HTML) and how long
    personal data is kept."""

    __tablename__ = "privacy_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_html: Mapped[str] = mapped_column(Text, default="")
    # Contacts (e-mail, phone, IP, query password, top-up accounts) of orders never paid
    # (expired or cancelled) are erased this many days after the order was placed.
    unpaid_contact_days: Mapped[int] = mapped_column(Integer, default=30)
    # Customers who neither signed in nor ordered for this many months are anonymised.
    inactive_customer_months: Mapped[int] = mapped_column(Integer, default=36)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


REQUEST_STATUSES = {
    "pending": N_("Waiting for the store"),
    "completed": N_("Data deleted"),
    "rejected": N_("Refused"),
}
REQUEST_SOURCES = {
    "account": N_("Asked in their account"),
    "email": N_("Asked by e-mail"),
}


class DeletionRequest(TenantModel):
    """A customer's request to have their personal data deleted: made in their account (staff
    settle it) or received by e-mail (staff record and carry it out at once)."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_status", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(20), default="account")  # REQUEST_SOURCES
    status: Mapped[str] = mapped_column(String(20), default="pending")  # REQUEST_STATUSES
    # The customer's reason, or the staff's reference of the e-mail they received.
    note: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str] = mapped_column(String(254), default="")
    # Why the store refused (shown to the customer).
    reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def status_label(self) -> str:
        return REQUEST_STATUSES[self.status]

    @property
    def source_label(self) -> str:
        return REQUEST_SOURCES.get(self.source, self.source)
