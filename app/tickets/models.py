"""Tickets and their messages (store schema); escalations listed for the platform (shared)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import SharedModel, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

STATUSES = {
    "open": N_("Waiting for the store"),
    "answered": N_("Answered"),
    "resolved": N_("Resolved"),
    "rejected": N_("Closed without a fix"),
}
CLOSED = ("resolved", "rejected")
RESOLUTIONS = {
    "replacement": N_("Replacement key"),
    "refund": N_("Refund"),
    "rejected": N_("Rejected"),
}
# Who bears the cost of a replacement or of a refund's lost shares.
FAULTS = {
    "none": N_("Nobody: shared as the sale was"),
    "store": N_("The store"),
    "supplier": N_("The supplier (charged back)"),
    "platform": N_("The platform"),
}
AUTHORS = ("customer", "store", "platform", "system")


class Ticket(TenantModel):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_due", "status", "first_response_due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(20), unique=True)
    order_no: Mapped[str] = mapped_column(String(32), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    contact: Mapped[str] = mapped_column(String(254))  # where replies are announced
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    first_response_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(String(20))
    fault: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id", cascade="all, delete-orphan"
    )

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def resolution_label(self) -> str:
        return RESOLUTIONS.get(self.resolution or "", "")

    @property
    def fault_label(self) -> str:
        return FAULTS.get(self.fault or "", "")

    def response_overdue(self, now: datetime) -> bool:
        return (
            self.first_responded_at is None
            and not self.is_closed
            and now > self.first_response_due_at
        )


class TicketMessage(TenantModel):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_kind: Mapped[str] = mapped_column(String(20))  # AUTHORS
    author: Mapped[str] = mapped_column(String(254), default="")
    body: Mapped[str] = mapped_column(Text)
    attachment: Mapped[str | None] = mapped_column(String(60))  # a private image's name
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")


class TicketEscalation(SharedModel):
    """A ticket escalated to the platform: the platform's queue across stores."""

    __tablename__ = "ticket_escalations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_no"),
        Index("ix_ticket_escalations_open", "closed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    ticket_no: Mapped[str] = mapped_column(String(20))
    order_no: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    escalated_by: Mapped[str] = mapped_column(String(20))  # customer | store
    escalated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
