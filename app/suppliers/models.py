"""Supplier offers (shared schema): which suppliers can fulfil a SKU, at what cost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import SharedModel, UtcDateTime, utcnow


class SupplierOffer(SharedModel):
    """A supplier's product for one of our SKUs. Routing tries active offers by priority (lower
    first), then cost; a failed top-up moves on to the next offer."""

    __tablename__ = "supplier_offers"
    __table_args__ = (UniqueConstraint("sku_id", "supplier_id", name="uq_supplier_offers_sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True
    )
    supplier_sku_code: Mapped[str] = mapped_column(String(64))
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the supplier's own catalog said at the last sync (app.suppliers.sync): an offer out
    # of stock there is not routed to; a failed sync changes nothing.
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # An offer imported from the supplier's catalog (app.suppliers.imports) sets its SKU's price:
    # each sync makes the SKU's cost the offer's cost and its wholesale price that cost plus
    # this markup (basis points), rounded upwards by `wholesale_rounding`. None: it does not.
    wholesale_markup_bp: Mapped[int | None] = mapped_column(Integer)
    wholesale_rounding: Mapped[str] = mapped_column(String(10), default="none")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
