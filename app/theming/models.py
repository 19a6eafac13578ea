"""A store's theme revisions (store schema): its one draft, its published look, the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TenantModel, UtcDateTime, utcnow

REVISION_STATES = ("draft", "published", "retired")


class ThemeRevision(TenantModel):
    """A pack and its setting values. At most one `draft` (what staff edit and preview) and one
    `published` (what customers see); earlier published revisions are kept `retired`, so the
    store can roll back to one (which publishes a copy of it)."""

    __tablename__ = "theme_revisions"
    __table_args__ = (
        Index(
            "uq_theme_revisions_state_live",
            "state",
            unique=True,
            postgresql_where=text("state <> 'retired'"),
            sqlite_where=text("state <> 'retired'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack: Mapped[str] = mapped_column(String(40))
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    # The revision this one restores (a rollback), for the history shown to staff.
    restored_from: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
