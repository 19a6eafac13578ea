"""The store's dashboard figures for a period, computed from the orders and the ledger.

Definitions (the tests recompute each one independently):
- paid orders: orders whose `paid_at` falls in the period (whatever happened to them since);
- sales: the sum of those orders' totals;
- store profit: the store's share in the ledger — the entries on the store's own accounts in its
  `order_paid` and `refund` transactions posted in the period (refunds count when they happen);
- conversion: paid orders / storefront visits in the period;
- average order: sales / paid orders, rounded half up to the cent.
Periods are whole days in the platform's time zone: today, the last 7 days, the last 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.analytics.visits import visits_between
from app.db import utcnow
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from app.ledger.parties import store as store_party
from app.orders.models import Order, OrderItem

PERIODS = {"today": 1, "7d": 7, "30d": 30}
PROFIT_KINDS = ("order_paid", "refund")
TOP_PRODUCTS = 5


@dataclass(frozen=True)
class Bucket:
    start: datetime
    label: str
    sales_cents: int = 0
    profit_cents: int = 0


@dataclass(frozen=True)
class TopProduct:
    product_id: int
    name: str
    quantity: int
    sales_cents: int


@dataclass
class Alerts:
    low_stock: list[dict] = field(default_factory=list)
    failed_topups: int = 0
    awaiting_delivery: int = 0
    tickets_waiting: int = 0  # tickets waiting for the store's first answer
    tickets_overdue: int = 0  # of which past their first-answer time

    @property
    def any(self) -> bool:
        return bool(
            self.low_stock or self.failed_topups or self.awaiting_delivery or self.tickets_waiting
        )


@dataclass
class Dashboard:
    period: str
    currency: str
    start: datetime
    end: datetime
    sales_cents: int
    profit_cents: int
    paid_orders: int
    visits: int
    average_order_cents: int
    top_products: list[TopProduct]
    buckets: list[Bucket]
    alerts: Alerts

    @property
    def conversion(self) -> Decimal | None:
        """Percent of visits that became a paid order, one decimal; None without visits."""
        if not self.visits:
            return None
        return (Decimal(self.paid_orders) * 100 / Decimal(self.visits)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


def period_bounds(period: str, timezone: str, now: datetime | None = None):
    """(start, end, first day, last day) of `period`, ending now."""
    zone = ZoneInfo(timezone)
    now = now or utcnow()
    last_day = now.astimezone(zone).date()
    first_day = last_day - timedelta(days=PERIODS[period] - 1)
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    return start, now, first_day, last_day


def average_cents(total_cents: int, count: int) -> int:
    if not count:
        return 0
    return int((Decimal(total_cents) / count).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _paid_in(start: datetime, end: datetime, currency: str):
    return (
        Order.paid_at.is_not(None),
        Order.paid_at >= start,
        Order.paid_at < end,
        Order.currency == currency,
    )


def profit_entries(tenant_id: int, start: datetime, end: datetime, currency: str):
    """(posted at, amount the store gained) of every ledger line that makes its profit."""
    party = store_party(tenant_id)
    rows = db.session.execute(
        select(LedgerTransaction.created_at, LedgerEntry.amount_cents)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            LedgerTransaction.tenant_id == tenant_id,
            LedgerTransaction.kind.in_(PROFIT_KINDS),
            LedgerTransaction.created_at >= start,
            LedgerTransaction.created_at < end,
            LedgerAccount.code.in_((party.pending, party.available, party.owed)),
            LedgerEntry.currency == currency,
        )
    )
    return [(at, -int(amount)) for at, amount in rows]  # credits to the store are negative


def top_products(start: datetime, end: datetime, currency: str) -> list[TopProduct]:
    line_total = OrderItem.quantity * OrderItem.unit_price_cents
    rows = db.session.execute(
        select(
            OrderItem.product_id,
            func.max(OrderItem.product_name),
            func.sum(OrderItem.quantity),
            func.sum(line_total).label("sales"),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(*_paid_in(start, end, currency))
        .group_by(OrderItem.product_id)
        .order_by(func.sum(line_total).desc(), OrderItem.product_id)
        .limit(TOP_PRODUCTS)
    )
    return [TopProduct(pid, name, int(qty), int(sales)) for pid, name, qty, sales in rows]


def _buckets(period: str, start: datetime, first_day: date, zone: ZoneInfo) -> list[Bucket]:
    if period == "today":  # by hour
        return [Bucket(start + timedelta(hours=h), f"{h:02d}") for h in range(24)]
    days = PERIODS[period]
    return [
        Bucket(
            datetime.combine(first_day + timedelta(days=i), time.min, tzinfo=zone),
            (first_day + timedelta(days=i)).strftime("%m-%d"),
        )
        for i in range(days)
    ]


def _fill(buckets: list[Bucket], sales, profits) -> list[Bucket]:
    """Sum (time, cents) rows into the buckets they fall in."""
    starts = [b.start for b in buckets]
    sales_sum = [0] * len(buckets)
    profit_sum = [0] * len(buckets)

    def index(at: datetime) -> int:
        position = 0
        for i, begin in enumerate(starts):
            if at >= begin:
                position = i
        return position

    for at, cents in sales:
        sales_sum[index(at)] += cents
    for at, cents in profits:
        profit_sum[index(at)] += cents
    return [Bucket(b.start, b.label, sales_sum[i], profit_sum[i]) for i, b in enumerate(buckets)]


def alerts(tenant, start: datetime) -> Alerts:
    """Things to act on: low card-key stock of listed products, failed top-ups in the period,
    orders awaiting manual delivery and tickets awaiting a first answer (now)."""
    from app.catalog.models import Sku
    from app.fulfilment.models import Topup
    from app.inventory.services import stock_counts
    from app.orders.queries import AWAITING_DELIVERY, OrderFilter, filtered
    from app.storefront.catalog import store_catalog
    from app.tickets.services import due_count

    found = Alerts()
    view = store_catalog(tenant)
    card_products = [p for p in view.products() if p["delivery_type"] == "card_key"]
    sku_names = {}
    for card in card_products:
        detail = view.product(card["id"]) or {}
        for sku in detail.get("skus", []):
            sku_names[sku["id"]] = (card["title"], sku["name"])
    if sku_names:
        counts = stock_counts(sku_names)
        thresholds = dict(
            db.session.execute(
                select(Sku.id, Sku.low_stock_threshold).where(Sku.id.in_(list(sku_names)))
            ).all()
        )
        for sku_id, (title, name) in sorted(sku_names.items()):
            available = counts[sku_id]["available"]
            if available < thresholds.get(sku_id, 0):
                found.low_stock.append(
                    {"sku_id": sku_id, "product": title, "sku": name, "available": available,
                     "threshold": thresholds[sku_id]}
                )  # fmt: skip
    found.failed_topups = int(
        db.session.scalar(
            select(func.count())
            .select_from(Topup)
            .where(
                Topup.tenant_id == tenant.id, Topup.status == "failed", Topup.created_at >= start
            )
        )
    )
    awaiting = filtered(OrderFilter(status=AWAITING_DELIVERY), "UTC")
    found.awaiting_delivery = int(
        db.session.scalar(select(func.count()).select_from(awaiting.subquery()))
    )
    found.tickets_waiting, found.tickets_overdue = due_count()
    return found


def dashboard(
    tenant, period: str, *, timezone: str, currency: str = "CNY", now: datetime | None = None
) -> Dashboard:
    """Every figure of the dashboard for the bound store `tenant`."""
    if period not in PERIODS:
        period = "today"
    zone = ZoneInfo(timezone)
    start, end, first_day, last_day = period_bounds(period, timezone, now)
    sales_rows = [
        (at, int(total))
        for at, total in db.session.execute(
            select(Order.paid_at, Order.total_cents).where(*_paid_in(start, end, currency))
        )
    ]
    profit_rows = profit_entries(tenant.id, start, end, currency)
    sales_cents = sum(total for _, total in sales_rows)
    visits = sum(visits_between(tenant.id, first_day, last_day).values())
    return Dashboard(
        period=period,
        currency=currency,
        start=start,
        end=end,
        sales_cents=sales_cents,
        profit_cents=sum(cents for _, cents in profit_rows),
        paid_orders=len(sales_rows),
        visits=visits,
        average_order_cents=average_cents(sales_cents, len(sales_rows)),
        top_products=top_products(start, end, currency),
        buckets=_fill(_buckets(period, start, first_day, zone), sales_rows, profit_rows),
        alerts=alerts(tenant, start),
    )
