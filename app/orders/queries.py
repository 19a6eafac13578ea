"""Finding orders for back-office lists: one filter, used by the store and the platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select

from app.orders.models import ORDER_STATUSES, Order, OrderItem

AWAITING_DELIVERY = "awaiting_delivery"  # a pseudo-status: paid manual orders (the queue)


@dataclass(frozen=True)
class OrderFilter:
    status: str = ""
    query: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    product_id: int | None = None
    provider: str = ""

    @classmethod
    def from_args(cls, args) -> OrderFilter:
        """From a request's query string; anything unreadable is ignored, never an error."""

        def day(name):
            try:
                return date.fromisoformat(args.get(name) or "")
            except ValueError:
                return None

        status = args.get("status", "")
        return cls(
            status=status if status in ORDER_STATUSES or status == AWAITING_DELIVERY else "",
            query=(args.get("q") or "").strip()[:254],
            date_from=day("from"),
            date_to=day("to"),
            product_id=args.get("product", type=int),
            provider=(args.get("provider") or "")[:20],
        )

    def as_args(self) -> dict:
        args = {
            "status": self.status, "q": self.query, "provider": self.provider,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "product": self.product_id or "",
        }  # fmt: skip
        return {k: v for k, v in args.items() if v}


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def filtered(criteria: OrderFilter, timezone: str) -> Select:
    """SELECT orders matching `criteria` (dates are whole days in `timezone`)."""
    zone = ZoneInfo(timezone)
    statement = select(Order)
    if criteria.status == AWAITING_DELIVERY:
        statement = statement.where(
            Order.status == "paid",
            Order.id.in_(select(OrderItem.order_id).where(OrderItem.delivery_type == "manual")),
        )
    elif criteria.status:
        statement = statement.where(Order.status == criteria.status)
    if criteria.query:
        statement = statement.where(
            or_(
                Order.order_no == criteria.query,
                Order.contact_email == criteria.query.lower(),
                Order.contact_phone == criteria.query,
            )
        )
    if criteria.date_from:
        statement = statement.where(Order.created_at >= _start_of(criteria.date_from, zone))
    if criteria.date_to:
        end = _start_of(criteria.date_to + timedelta(days=1), zone)
        statement = statement.where(Order.created_at < end)
    if criteria.product_id:
        statement = statement.where(
            Order.id.in_(
                select(OrderItem.order_id).where(OrderItem.product_id == criteria.product_id)
            )
        )
    if criteria.provider:
        statement = statement.where(Order.payment_provider == criteria.provider)
    return statement
