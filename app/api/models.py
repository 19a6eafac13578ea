"""API keys of a store's customers, and the answers kept for idempotent requests (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigId, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

SCOPE_LABELS = {
    "read": N_("Read (products, balance, orders)"),
    "order": N_("Order (place and cancel orders, webhook settings)"),
    # The acg-faka protocol sends the secret itself in every request and cannot expire one:
    # a key takes part in it only when asked to (docs/api.md, decisions.md).
    "acg_faka": N_("acg-faka docking (异次元对接: catalog, balance, orders; unsigned by time)"),
}
SCOPES = tuple(SCOPE_LABELS)


class ApiKey(TenantModel):
    """A customer's key: `key_id` is public and names the key in every request; the secret is
    shown once and kept sealed (HMAC needs it back, so it cannot be hashed — decisions.md)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    # The secret sealed with app.crypto under a purpose naming the store and the key id.
    secret_sealed: Mapped[str] = mapped_column(Text)
    # The secret's last four characters, so its owner can tell keys apart.
    secret_hint: Mapped[str] = mapped_column(String(8), default="")
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    # Addresses or networks (CIDR) allowed to use the key; empty: any.
    allowed_ips: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(TenantModel):
    """One `Idempotency-Key` of one API key: claimed before the work, then the answer kept for
    24 hours. The same key with the same request gets the same answer; another request, 409."""

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (
        Index("uq_api_idempotent_requests_key", "api_key_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: what "the same request" means.
    request_hash: Mapped[str] = mapped_column(String(64))
    # None while the first request is still working on it.
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
