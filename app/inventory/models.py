"""Card keys and their import batches (shared schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, SharedModel, UtcDateTime, utcnow
from app.i18n import N_

KEY_STATUSES = ("available", "reserved", "sold", "void")
KEY_STATUS_LABELS = {
    "available": N_("Available"),
    "reserved": N_("Reserved"),
    "sold": N_("Sold"),
    "void": N_("Void"),
}


class CardKeyBatch(SharedModel):
    """One import: who, when, from where, and what came of each line."""

    __tablename__ = "card_key_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="RESTRICT"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # paste | upload | cli | supplier
    filename: Mapped[str] = mapped_column(String(200), default="")
    imported_by: Mapped[str] = mapped_column(String(254), default="")
    added: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    # Line numbers and reasons, capped (see services.MAX_REPORTED_LINES).
    report: Mapped[str] = mapped_column(Text, default="")
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CardKey(SharedModel):
    """A card key (卡密). The secret is AES-GCM encrypted; `secret_hmac` de-duplicates it across
    the whole inventory without decrypting; `masked` is the only form back-office views show."""

    __tablename__ = "card_keys"
    # (sku_id, status, id): reservations take the oldest available keys of a SKU straight off it.
    __table_args__ = (Index("ix_card_keys_sku_id_status_id", "sku_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="RESTRICT"))
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("card_key_batches.id", ondelete="RESTRICT"), index=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    secret_hmac: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    masked: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="available")
    # "<tenant id>:<order no>" once reserved; cleared when a reservation is released.
    order_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    reserved_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sold_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    batch: Mapped[CardKeyBatch] = relationship()


class KeyAccessLog(SharedModel):
    """Every reveal and export of secrets: who saw which keys, when and why."""

    __tablename__ = "key_access_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(20))  # reveal | export
    sku_id: Mapped[int | None] = mapped_column(Integer)
    key_count: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
