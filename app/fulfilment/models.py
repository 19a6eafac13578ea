"""Top-ups (shared schema: the platform talks to suppliers for every store, and the sweeper,
supplier callbacks and scorecards look across stores)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, SharedModel, UtcDateTime, utcnow
from app.i18n import N_

# queued → submitted → processing → success | failed; unknown (no usable answer) is resolved by
# querying our reference, never by ordering again.
TOPUP_STATUSES = ("queued", "submitted", "processing", "unknown", "success", "failed")
FINAL = frozenset({"success", "failed"})
TOPUP_LABELS = {
    "queued": N_("Queued"),
    "submitted": N_("Sent to supplier"),
    "processing": N_("Supplier processing"),
    "unknown": N_("Checking with supplier"),
    "success": N_("Topped up"),
    "failed": N_("Failed"),
}


class Topup(SharedModel):
    """One order item to top up. `reference` (topup_no + attempt) is the supplier's idempotency
    key for the current attempt; trying another supplier starts a new attempt."""

    __tablename__ = "topups"
    __table_args__ = (Index("ix_topups_status_next_check_at", "status", "next_check_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topup_no: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    order_no: Mapped[str] = mapped_column(String(32), index=True)
    order_item_id: Mapped[int] = mapped_column(BigInteger)
    sku_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    face_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    account_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    tried_supplier_ids: Mapped[list] = mapped_column(JSON, default=list)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(48), unique=True)
    supplier_order_id: Mapped[str] = mapped_column(String(80), default="")
    delivered_quantity: Mapped[int] = mapped_column(Integer, default=0)
    checks: Mapped[int] = mapped_column(Integer, default=0)  # queries and retries so far
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set in the transaction that decided the order (delivered / refunded): a final top-up
    # without it is an order the sweeper must still finish (a worker died in between).
    order_settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    calls: Mapped[list[TopupCall]] = relationship(order_by="TopupCall.id")

    @property
    def tried(self) -> list[int]:
        return list(self.tried_supplier_ids or [])


class TopupCall(SharedModel):
    """Every exchange with a supplier about a top-up (redacted), for the timeline and scorecards."""

    __tablename__ = "topup_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topup_id: Mapped[int] = mapped_column(ForeignKey("topups.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(12))  # place | query | callback
    reference: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[str] = mapped_column(String(20))  # a supplier state, or "transport_error"
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    request_log: Mapped[str] = mapped_column(Text, default="")
    response_log: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
