"""A store's webhook endpoints and every message sent to them (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

# Events a store can subscribe to, and the one the "send test event" button sends.
EVENT_LABELS = {
    "order.paid": N_("Order paid"),
    "order.delivered": N_("Order delivered"),
    "order.failed": N_("Order failed"),
    "order.refunded": N_("Order refunded"),
    "order.partially_refunded": N_("Order partially refunded"),
}
EVENT_TYPES = tuple(EVENT_LABELS)
TEST_EVENT = "webhook.test"

DELIVERY_STATUS_LABELS = {
    "pending": N_("Pending"),
    "succeeded": N_("Delivered"),
    "failed": N_("Failed"),
}


class WebhookEndpoint(TenantModel):
    """A URL of the store's that receives the events it subscribed to, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)
    # "whsec_…" sealed with app.crypto under a purpose naming the store and this endpoint.
    secret_sealed: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A store customer's own endpoint (set over the API) for the events of their orders only;
    # NULL for the store's endpoints, which receive every order's events.
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(TenantModel):
    """One message to one endpoint: the exact body sent, and how its attempts went. Retries and
    resends reuse `message_id` (the `webhook-id` header), so receivers can de-duplicate."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The retry sweep: pending messages whose next attempt is due.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str] = mapped_column(Text)  # JSON, byte for byte what is signed and sent
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|succeeded|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_response: Mapped[str] = mapped_column(Text, default="")  # the first 2 KB of the answer
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()
