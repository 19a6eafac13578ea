"""Export files built in the background (shared schema, so one periodic job purges them all)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import SharedModel, UtcDateTime, utcnow

EXPORT_STATUSES = ("queued", "running", "done", "failed", "expired")
EXPORT_FORMATS = ("csv", "xlsx")


class OrderExport(SharedModel):
    """One requested export: its filter, its progress and, when done, its file (instance folder)."""

    __tablename__ = "order_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    # Unguessable public id used in URLs (the numeric id is never shown).
    token: Mapped[str] = mapped_column(String(32), unique=True)
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    file_format: Mapped[str] = mapped_column(String(10))
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)  # OrderFilter.as_args()
    status: Mapped[str] = mapped_column(String(20), default="queued")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
