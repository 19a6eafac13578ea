"""Every call to a store's compatible docking endpoints, for the store's audit (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigId, TenantModel, UtcDateTime, utcnow


class DockingCall(TenantModel):
    """One request to `/shared/...`: who (the key id as claimed, the customer once verified),
    from where, what, and how it ended. Never the body (the acg protocol carries the secret in
    it); card keys never either."""

    __tablename__ = "docking_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    protocol: Mapped[str] = mapped_column(String(20), default="acg_faka")
    endpoint: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40), default="", index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str] = mapped_column(String(45), default="")
    request_no: Mapped[str] = mapped_column(String(64), default="")
    order_no: Mapped[str] = mapped_column(String(32), default="")
    # "ok", "replayed" (a known request_no answered with its order), "refused" (a business
    # refusal, e.g. 余额不足) or "denied" (not authenticated: unknown id, bad signature, address).
    outcome: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(String(200), default="")
