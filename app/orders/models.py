"""Orders live in the store's schema; `order_index` in the shared schema finds an order's store
from its number (payment callbacks arrive on the platform host)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, SharedModel, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

ORDER_STATUSES = (
    "pending_payment",
    "paid",
    "review",
    "fulfilling",
    "delivered",
    "expired",
    "cancelled",
    "failed",
    "refunded",
    "partially_refunded",
)
STATUS_LABELS = {
    "pending_payment": N_("Awaiting payment"),
    "paid": N_("Paid"),
    "review": N_("Under review"),
    "fulfilling": N_("Fulfilling"),
    "delivered": N_("Delivered"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    "failed": N_("Failed"),
    "refunded": N_("Refunded"),
    "partially_refunded": N_("Partially refunded"),
}


class OrderIndex(SharedModel):
    """order number → store, written in the same transaction as the order."""

    __tablename__ = "order_index"

    order_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Order(TenantModel):
    __tablename__ = "orders"
    __table_args__ = (
        Index("uq_orders_customer_reference", "customer_id", "client_reference", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_payment", index=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    total_cents: Mapped[int] = mapped_column(BigInteger)
    # Before the coupon (equal to total_cents without one), the coupon's code and its discount.
    subtotal_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str] = mapped_column(String(254), default="", index=True)
    contact_phone: Mapped[str] = mapped_column(String(32), default="", index=True)
    query_password_hash: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The buyer's own reference for an API order (unique per customer): placing it again
    # returns this order instead of buying twice (the docking idempotency key).
    client_reference: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(45), default="")
    # The payment that paid it (the payment itself is in the shared schema) and its provider.
    payment_no: Mapped[str | None] = mapped_column(String(40))
    payment_provider: Mapped[str] = mapped_column(String(20), default="", index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivery_emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )


class OrderItem(TenantModel):
    """A line with everything needed later snapshotted: names, prices, wholesale, cost."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(120))
    sku_name: Mapped[str] = mapped_column(String(120))
    delivery_type: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    unit_wholesale_cents: Mapped[int] = mapped_column(BigInteger)
    unit_cost_cents: Mapped[int] = mapped_column(BigInteger)
    # The coupon's share of this line (never more than its markup over wholesale).
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    account_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    # What staff filled in for a manually delivered item (encrypted; see orders.services).
    manual_delivery_sealed: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="items")

    def paid_for(self, quantity: int) -> int:
        """What the buyer paid for `quantity` of this line's units: its price less the coupon's
        share, in proportion (the whole line gives exactly what was paid for it)."""
        line_cents = self.unit_price_cents * self.quantity - (self.discount_cents or 0)
        return line_cents * quantity // self.quantity if self.quantity else 0


class OrderEvent(TenantModel):
    """The order's timeline: every status change, who made it and why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80), default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
