"""Supplier offers as the console manages them, and whether a direct-top-up SKU can be sold now.

A top-up SKU can be sold while at least one active offer's supplier may take orders: active,
with a connector, and its breaker not open and cooling down. A breaker that has cooled down
counts as available, as it does for routing: the next order is the probe that closes or reopens
it (were the storefront to wait for a probe that only an order can make, it would wait forever).
Storefronts cache that answer in the catalog base, so `refresh_availability()` — run after every
change here and by the periodic top-up sweep — moves the catalog version when it changes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from app.cache import cache
from app.catalog.cache import bump_catalog_version
from app.catalog.models import Product, Sku, Supplier
from app.db import utcnow
from app.extensions import db
from app.suppliers import services as suppliers
from app.suppliers.models import SupplierOffer

AVAILABILITY_KEY = "topup-availability"  # unsellable top-up SKU ids, as storefronts last saw them
AVAILABILITY_TTL = 30 * 24 * 3600


def sku_offers(sku_id: int) -> list[tuple[SupplierOffer, Supplier]]:
    """Every offer of a SKU, inactive ones too, in routing order."""
    return list(
        db.session.execute(
            select(SupplierOffer, Supplier)
            .join(Supplier, Supplier.id == SupplierOffer.supplier_id)
            .where(SupplierOffer.sku_id == sku_id)
            .order_by(
                SupplierOffer.is_active.desc(),
                SupplierOffer.priority,
                SupplierOffer.cost_cents,
                SupplierOffer.id,
            )
        ).tuples()
    )


def connected_suppliers() -> list[Supplier]:
    """Suppliers that top-ups can be ordered from (those with a connector)."""
    return list(
        db.session.scalars(select(Supplier).where(Supplier.connector != "").order_by(Supplier.name))
    )


def save_offer(
    sku_id: int, supplier_id: int, *, supplier_sku_code: str, cost_cents: int, priority: int
) -> SupplierOffer:
    """Add or change (and reactivate) the supplier's offer for a SKU. Commits."""
    offer = suppliers.save_offer(
        sku_id, supplier_id,
        supplier_sku_code=supplier_sku_code, cost_cents=cost_cents, priority=priority,
    )  # fmt: skip
    refresh_availability()
    return offer


def deactivate_offer(offer_id: int) -> SupplierOffer | None:
    """Stop routing top-ups to this offer (kept for the record). Commits."""
    offer = db.session.get(SupplierOffer, offer_id)
    if offer is None:
        return None
    offer.is_active = False
    db.session.commit()
    refresh_availability()
    return offer


# -- whether a top-up SKU can be sold now ---------------------------------------------------------


def may_take_orders(supplier: Supplier, now: datetime | None = None) -> bool:
    """Active, connected, its last catalog sync not failed (app.suppliers.sync), and its breaker
    not open and cooling down."""
    if supplier.status != "active" or not supplier.connector:
        return False
    if supplier.catalog_failed_at is not None:
        return False
    if supplier.breaker_state != "open" or supplier.breaker_opened_at is None:
        return True
    return supplier.breaker_opened_at <= (now or utcnow()) - suppliers.COOL_DOWN


def saleable_topup_skus(now: datetime | None = None) -> set[int]:
    """Ids of SKUs with an active offer, in stock at its supplier's last sync, whose supplier
    may take orders now."""
    now = now or utcnow()
    rows = db.session.execute(
        select(SupplierOffer.sku_id, Supplier)
        .join(Supplier, Supplier.id == SupplierOffer.supplier_id)
        .where(SupplierOffer.is_active.is_(True), SupplierOffer.in_stock.is_(True))
    ).tuples()
    return {sku_id for sku_id, supplier in rows if may_take_orders(supplier, now)}


def unsellable_topup_skus(now: datetime | None = None) -> list[int]:
    topup_skus = db.session.scalars(
        select(Sku.id).join(Product).where(Product.delivery_type == "direct_topup")
    )
    saleable = saleable_topup_skus(now)
    return sorted(sku_id for sku_id in topup_skus if sku_id not in saleable)


def refresh_availability() -> bool:
    """Move the catalog version when a top-up SKU became sellable or unsellable since the last
    look (a breaker opened, closed or cooled down; an offer or a connector changed)."""
    unsellable = unsellable_topup_skus()
    if cache().get(AVAILABILITY_KEY) == unsellable:
        return False
    cache().set(AVAILABILITY_KEY, unsellable, AVAILABILITY_TTL)
    bump_catalog_version()
    return True


# -- supplier health, from the console (breaker logic itself lives in services) -------------------


def close_breaker(supplier_id: int) -> None:
    """The platform owner says the supplier is back: route to it again. Commits."""
    db.session.execute(
        update(Supplier)
        .where(Supplier.id == supplier_id)
        .values(breaker_state="closed", consecutive_failures=0, breaker_opened_at=None)
    )
    db.session.commit()
    refresh_availability()


def check_balance(supplier_id: int) -> int:
    """Ask the supplier for our prepaid balance and keep it. Commits. Raises
    SupplierTransportError (no usable answer) or LookupError (no connector)."""
    balance_cents = suppliers.connector_for(supplier_id).balance()
    supplier = db.session.get(Supplier, supplier_id)
    supplier.balance_cents, supplier.balance_checked_at = balance_cents, utcnow()
    db.session.commit()
    return balance_cents
