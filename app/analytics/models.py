"""Storefront visits per store and day (shared schema: one small row per store and day)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db import SharedModel


class StoreVisitDay(SharedModel):
    """How many storefront page views a store had on one day (in the platform's time zone)."""

    __tablename__ = "store_visit_days"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visits: Mapped[int] = mapped_column(BigInteger, default=0)
