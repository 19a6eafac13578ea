"""Catalog tables in the shared schema. Money is integer minor units plus a currency code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import SharedModel, UtcDateTime, utcnow
from app.i18n import N_

DELIVERY_TYPES = ("card_key", "direct_topup", "manual")
DELIVERY_LABELS = {
    "card_key": N_("Card key"),
    "direct_topup": N_("Direct top-up"),
    "manual": N_("Manual delivery"),
}
SUPPLIER_STATUSES = ("active", "suspended")
DEFAULT_TIER = "standard"
BASE_CURRENCY = "CNY"


class Supplier(SharedModel):
    """Who feeds the catalog: card keys or a top-up API. The platform's own stock is one too."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    is_platform: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # How we order from it (app.suppliers.connectors): "" for stock we hold (card keys, manual).
    connector: Mapped[str] = mapped_column(String(20), default="")
    connector_settings_sealed: Mapped[str] = mapped_column(Text, default="")
    # Circuit breaker (app.suppliers.breaker): closed → open after repeated failures → half_open
    # (one probe) → closed again on success.
    breaker_state: Mapped[str] = mapped_column(String(10), default="closed")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    breaker_opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    balance_cents: Mapped[int | None] = mapped_column(BigInteger)
    balance_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set when the last catalog sync (app.suppliers.sync) got no usable answer: the supplier is
    # taken to be down and its goods are not offered until a sync succeeds again.
    catalog_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    catalog_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Category(SharedModel):
    """A node of the category tree (e.g. 游戏点卡 > 腾讯)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    icon: Mapped[str] = mapped_column(String(40), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.position"
    )
    products: Mapped[list[Product]] = relationship(back_populates="category")


class Product(SharedModel):
    """A product (商品) with its delivery type; customers pick one of its SKUs."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint(
            "delivery_type IN ('card_key', 'direct_topup', 'manual')", name="delivery_type"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description_md: Mapped[str] = mapped_column(Text, default="")
    # Rendered from description_md and sanitised once, when saved.
    description_html: Mapped[str] = mapped_column(Text, default="")
    image_path: Mapped[str | None] = mapped_column(String(200))
    delivery_type: Mapped[str] = mapped_column(String(20))
    # Direct top-ups: [{"name": "qq", "label": "QQ号", "regex": "^[1-9][0-9]{4,11}$", "example": …}]
    input_schema: Mapped[list] = mapped_column(JSON, default=list)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Risk control: gift cards and the like, resold at once by fraudsters; new customers may
    # buy only a little of them in their first order (app.risk).
    is_high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(back_populates="products")
    skus: Mapped[list[Sku]] = relationship(
        back_populates="product", order_by="Sku.position, Sku.id", cascade="all, delete-orphan"
    )


class Sku(SharedModel):
    """A face value (面值) of a product, with its platform prices. `cost_cents` never leaves the
    platform side: store-facing code reads SKUs through pricing views that do not carry it."""

    __tablename__ = "skus"
    __table_args__ = (
        CheckConstraint("face_value_cents >= 0", name="face_value_not_negative"),
        CheckConstraint("wholesale_cents >= 0", name="wholesale_not_negative"),
        CheckConstraint("cost_cents >= 0", name="cost_not_negative"),
        CheckConstraint("min_quantity >= 1 AND max_quantity >= min_quantity", name="quantities"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3), default=BASE_CURRENCY)
    face_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # The wholesale price of the default tier; other plan tiers in SkuTierPrice.
    wholesale_cents: Mapped[int] = mapped_column(BigInteger)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    min_quantity: Mapped[int] = mapped_column(Integer, default=1)
    max_quantity: Mapped[int] = mapped_column(Integer, default=100)
    # Risk control: at most this many units per buyer (contact or account) over 24 hours.
    daily_quantity_max: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True
    )
    supplier_sku_code: Mapped[str] = mapped_column(String(64), default="")
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=100)
    # Set when available stock fell below the threshold and the alert went out; cleared on
    # restock, so each crossing alerts once.
    low_stock_alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="skus")
    supplier: Mapped[Supplier | None] = relationship()
    tier_prices: Mapped[list[SkuTierPrice]] = relationship(
        back_populates="sku", cascade="all, delete-orphan"
    )


class SkuTierPrice(SharedModel):
    """A lower (or higher) wholesale price of a SKU for stores on a given plan tier."""

    __tablename__ = "sku_tier_prices"
    __table_args__ = (
        UniqueConstraint("sku_id", "tier"),
        CheckConstraint("wholesale_cents >= 0", name="wholesale_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(String(30))
    wholesale_cents: Mapped[int] = mapped_column(BigInteger)

    sku: Mapped[Sku] = relationship(back_populates="tier_prices")
