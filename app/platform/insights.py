"""Platform console figures: sales per store and across the platform, from the shared ledger.

Orders live in each store's schema, so figures that span stores come from the shared ledger: one
`order_paid` transaction per paid order (tenant, time), whose payer debit (a provider's clearing
account or the customer's balance) is the amount the customer paid, and `refund` transactions
that give part of it back. Nothing here reads a store
schema, so a dashboard over 10,000 stores costs a few grouped queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from app.db import utcnow
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tenants.models import Tenant

# Accounts a customer's money comes from: a payment provider's clearing account, or the
# customer's balance at the store. Only debits count as paid (and credits as refunded): a
# referral commission credited to another customer's balance is not a sale.
PAYER_ACCOUNTS = ("clearing:%", "customer:%:balance")
WINDOWS = {"today": 0, "7d": 7, "30d": 30}
TOP_STORES = 10


@dataclass(frozen=True)
class Sales:
    gmv_cents: int = 0  # paid by customers
    refunded_cents: int = 0
    paid_orders: int = 0

    @property
    def net_cents(self) -> int:
        return self.gmv_cents - self.refunded_cents


@dataclass(frozen=True)
class StoreActivity:
    tenant_id: int
    sales: Sales
    last_sale_at: datetime | None


@dataclass
class PlatformDashboard:
    sales: dict[str, Sales]  # by window name
    active_stores: int
    suspended_stores: int
    new_stores: dict[str, int]  # opened in the window
    top_stores: list[tuple[Tenant, Sales]] = field(default_factory=list)


def window_start(name: str, now: datetime) -> datetime:
    """Midnight UTC today, or that many days back."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=WINDOWS[name])


def _payer_entries():
    return or_(*(LedgerAccount.code.like(pattern) for pattern in PAYER_ACCOUNTS))


def sales_by_store(
    since: datetime | None = None, tenant_ids: list[int] | None = None, currency: str = "CNY"
) -> dict[int, StoreActivity]:
    """GMV, refunds, paid orders and the last sale per store (only stores that sold)."""
    tx = LedgerTransaction
    rows = db.session.execute(
        select(
            tx.tenant_id,
            tx.kind,
            func.sum(LedgerEntry.amount_cents),
            func.count(func.distinct(tx.id)),
            func.max(tx.created_at),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == tx.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            or_(
                and_(tx.kind == "order_paid", LedgerEntry.amount_cents > 0),
                and_(tx.kind == "refund", LedgerEntry.amount_cents < 0),
            ),
            tx.tenant_id.is_not(None),
            LedgerEntry.currency == currency,
            _payer_entries(),
            *([tx.created_at >= since] if since is not None else []),
            *([tx.tenant_id.in_(tenant_ids)] if tenant_ids is not None else []),
        )
        .group_by(tx.tenant_id, tx.kind)
    ).all()
    found: dict[int, dict] = {}
    for tenant_id, kind, amount, count, last in rows:
        figures = found.setdefault(tenant_id, {"gmv": 0, "refunded": 0, "orders": 0, "last": None})
        if kind == "order_paid":
            figures.update(gmv=int(amount), orders=int(count), last=last)
        else:
            figures["refunded"] = -int(amount)
    return {
        tenant_id: StoreActivity(
            tenant_id,
            Sales(f["gmv"], f["refunded"], f["orders"]),
            f["last"],
        )
        for tenant_id, f in found.items()
    }


def total_sales(since: datetime | None = None, currency: str = "CNY") -> Sales:
    stores = sales_by_store(since, currency=currency).values()
    return Sales(
        gmv_cents=sum(s.sales.gmv_cents for s in stores),
        refunded_cents=sum(s.sales.refunded_cents for s in stores),
        paid_orders=sum(s.sales.paid_orders for s in stores),
    )


def _count_stores(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Tenant).where(*where)) or 0


def platform_dashboard(now: datetime | None = None) -> PlatformDashboard:
    now = now or utcnow()
    starts = {name: window_start(name, now) for name in WINDOWS}
    top = sorted(
        sales_by_store(starts["30d"]).values(), key=lambda s: s.sales.gmv_cents, reverse=True
    )[:TOP_STORES]
    tenants = {
        t.id: t
        for t in db.session.scalars(select(Tenant).where(Tenant.id.in_([s.tenant_id for s in top])))
    }
    return PlatformDashboard(
        sales={name: total_sales(start) for name, start in starts.items()},
        active_stores=_count_stores(Tenant.status == "active"),
        suspended_stores=_count_stores(Tenant.status == "suspended"),
        new_stores={
            name: _count_stores(Tenant.created_at >= start, Tenant.status != "provisioning")
            for name, start in starts.items()
        },
        top_stores=[(tenants[s.tenant_id], s.sales) for s in top if s.tenant_id in tenants],
    )
