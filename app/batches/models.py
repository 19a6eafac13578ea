"""A batch of top-ups and its rows (store schema). A row becomes one order once the batch is
placed; what happened to it afterwards is read from that order, never copied here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

# draft (checked, awaiting the buyer's confirmation) → queued (confirmed, a job places it) →
# processing (charged: every row is a paid order) → done (every order final); or failed
# (nothing charged: a row refused at placement, the balance, the prices) or cancelled (a draft
# thrown away).
BATCH_STATUSES = ("draft", "queued", "processing", "done", "failed", "cancelled")
BATCH_LABELS = {
    "draft": N_("Awaiting confirmation"),
    "queued": N_("Queued"),
    "processing": N_("Topping up"),
    "done": N_("Finished"),
    "failed": N_("Not placed"),
    "cancelled": N_("Discarded"),
}
SOURCE_LABELS = {"upload": N_("File"), "paste": N_("Pasted lines"), "api": N_("API")}
# What became of a row: invalid / valid (a draft's check), not_placed (the batch failed or the
# row was skipped), pending, succeeded, partial, failed (its order's fate).
ROW_LABELS = {
    "invalid": N_("Invalid"),
    "valid": N_("Ready"),
    "skipped": N_("Skipped (invalid)"),
    "not_placed": N_("Not placed"),
    "pending": N_("In progress"),
    "succeeded": N_("Topped up"),
    "partial": N_("Partly topped up; the rest refunded"),
    "failed": N_("Failed; refunded to the balance"),
}


class Batch(TenantModel):
    """One batch of one customer, paid from that customer's balance (whoever started it)."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Public number (URLs, API); pages also check that the batch is the viewer's.
    batch_no: Mapped[str] = mapped_column(String(24), unique=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    source: Mapped[str] = mapped_column(String(10), default="paste")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    # Who started it: "customer" (their account), "store" (staff, by e-mail), "api" (key id).
    created_by_kind: Mapped[str] = mapped_column(String(10), default="customer")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    client_ip: Mapped[str] = mapped_column(String(45), default="")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    valid_count: Mapped[int] = mapped_column(Integer, default=0)
    # The price of the valid rows when checked (confirmed by the buyer): placement never charges
    # more than this.
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    charged_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    skip_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the batch failed (a message id and its parameters, translated when shown).
    error: Mapped[str] = mapped_column(String(200), default="")
    error_params: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # placement jobs started
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    placed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    rows: Mapped[list[BatchRow]] = relationship(
        back_populates="batch", order_by="BatchRow.row_no", cascade="all, delete-orphan"
    )


class BatchRow(TenantModel):
    """One line of the batch as given, what the check made of it, and its order once placed."""

    __tablename__ = "batch_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)  # the line (or spreadsheet row) it came from
    sku_ref: Mapped[str] = mapped_column(String(64), default="")  # as given: id or code
    account_text: Mapped[str] = mapped_column(String(400), default="")  # as given
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    sku_id: Mapped[int | None] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(120), default="")
    sku_name: Mapped[str] = mapped_column(String(120), default="")
    account_fields: Mapped[dict] = mapped_column(JSON, default=dict)  # checked, by field name
    unit_price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    order_no: Mapped[str | None] = mapped_column(String(32), index=True)
    # Empty for a valid row; else which column is wrong and why (message id + parameters).
    error_field: Mapped[str] = mapped_column(String(40), default="")
    error: Mapped[str] = mapped_column(String(200), default="")
    error_params: Mapped[dict] = mapped_column(JSON, default=dict)

    batch: Mapped[Batch] = relationship(back_populates="rows")

    @property
    def is_valid(self) -> bool:
        return not self.error
