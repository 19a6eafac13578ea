"""Audit events (shared schema, append only: nothing in the code updates or deletes them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigId, SharedModel, UtcDateTime, utcnow


class AuditEvent(SharedModel):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # "platform" (console staff), "store" (store staff), "customer", "supplier" or "system".
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    # The store the action concerns (None: platform-wide).
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Dotted verb, e.g. "withdrawal.approve", "order.refund", "staff.invite".
    action: Mapped[str] = mapped_column(String(60), index=True)
    # What was acted on, e.g. "order:K8F3…", "withdrawal:12".
    target: Mapped[str] = mapped_column(String(120), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str] = mapped_column(String(45), default="")
