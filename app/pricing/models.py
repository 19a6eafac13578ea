"""A store's own pricing and listing choices (store schema). SKU, product and category ids point
at shared catalog rows by plain id (no cross-schema foreign keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TenantModel, UtcDateTime, utcnow


class PriceRule(TenantModel):
    """A markup rule at one level: the whole store (target 0), a category, a product or a SKU."""

    __tablename__ = "price_rules"
    __table_args__ = (
        UniqueConstraint("scope", "target_id"),
        CheckConstraint("scope IN ('store', 'category', 'product', 'sku')", name="scope"),
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)  # basis points (percent) or cents (fixed)
    rounding: Mapped[str] = mapped_column(String(10), default="none")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ProductListing(TenantModel):
    """How the store shows a shared product: hidden or not, its own title, text and order."""

    __tablename__ = "product_listings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, unique=True)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
