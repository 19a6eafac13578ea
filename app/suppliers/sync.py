"""Price and stock sync: our offers follow what each supplier's own catalog says.

For every connected supplier whose connector lists a catalog (`kameng`, `acg_faka`,
`dujiao_next`), each of our offers takes the supplier's current price as its cost and its stock
state; an offer whose product the supplier no longer lists is out of stock. An offer imported
from that catalog (app.suppliers.imports) also reprices its SKU: cost = the offer's cost,
wholesale = cost plus the import's markup, rounded upwards.

A zero or missing price is never taken over (acg-faka issue #842). A sync that gets no usable
answer (the supplier is down, refuses our key, answers garbage) changes no price and no offer:
it marks the supplier down (`catalog_failed_at`), which takes its goods off sale on every
storefront — shown sold out, never an error page (acg-faka issue #111) — until a sync succeeds
again. Storefronts learn of either through refresh_availability() and the catalog version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from app.catalog.cache import bump_catalog_version
from app.catalog.models import Sku, Supplier
from app.db import utcnow
from app.extensions import db
from app.pricing.engine import wholesale_from_cost
from app.suppliers.connectors.base import Connector, SupplierTransportError
from app.suppliers.models import SupplierOffer
from app.suppliers.offers import refresh_availability
from app.suppliers.services import connector_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    supplier_id: int
    updated: int = 0
    out_of_stock: int = 0
    repriced: int = 0
    error: str = ""


def lists_catalog(connector: Connector) -> bool:
    return type(connector).catalog is not Connector.catalog


def sync_supplier(supplier_id: int) -> SyncReport:
    """Sync one supplier's offers with its catalog. Commits."""
    connector = connector_for(supplier_id)
    if not lists_catalog(connector):
        return SyncReport(supplier_id)
    try:
        entries = {entry.supplier_sku_code: entry for entry in connector.catalog()}
    except SupplierTransportError as error:
        log.warning("catalog sync of supplier %s failed: %s", supplier_id, error)
        _mark_down(supplier_id, str(error))
        return SyncReport(supplier_id, error=str(error)[:500])
    now, updated, missing, repriced = utcnow(), 0, 0, 0
    db.session.execute(
        update(Supplier)
        .where(Supplier.id == supplier_id, Supplier.catalog_failed_at.is_not(None))
        .values(catalog_failed_at=None, catalog_error="")
    )
    offers = db.session.scalars(
        select(SupplierOffer)
        .where(SupplierOffer.supplier_id == supplier_id)
        .order_by(SupplierOffer.id)
        .with_for_update()
    ).all()
    for offer in offers:
        entry = entries.get(offer.supplier_sku_code)
        if entry is None:
            offer.in_stock = False
            missing += 1
        else:
            if entry.cost_cents > 0:  # a zero or missing price is never taken over
                offer.cost_cents = entry.cost_cents
                repriced += _reprice(offer)
            offer.in_stock = entry.in_stock
            missing += not entry.in_stock
        offer.synced_at = now
        updated += 1
    db.session.commit()
    if repriced:
        bump_catalog_version()
    refresh_availability()
    return SyncReport(supplier_id, updated=updated, out_of_stock=missing, repriced=repriced)


def _reprice(offer: SupplierOffer) -> int:
    """An imported offer sets its SKU's cost and wholesale price; 1 if they changed."""
    if offer.wholesale_markup_bp is None:
        return 0
    sku = db.session.get(Sku, offer.sku_id)
    if sku is None or sku.supplier_id != offer.supplier_id:
        return 0  # the SKU has since been given to another supplier: its price is theirs
    wholesale = wholesale_from_cost(
        offer.cost_cents, offer.wholesale_markup_bp, offer.wholesale_rounding
    )
    if (sku.cost_cents, sku.wholesale_cents) == (offer.cost_cents, wholesale):
        return 0
    sku.cost_cents, sku.wholesale_cents = offer.cost_cents, wholesale
    return 1


def _mark_down(supplier_id: int, error: str) -> None:
    """No usable catalog: prices and offers stay as they are; the supplier's goods go off sale."""
    db.session.execute(
        update(Supplier)
        .where(Supplier.id == supplier_id)
        .values(
            catalog_failed_at=db.func.coalesce(Supplier.catalog_failed_at, utcnow()),
            catalog_error=error[:500],
        )
    )
    db.session.commit()
    refresh_availability()


def sync_all() -> list[SyncReport]:
    """The periodic job: every connected active supplier, one at a time."""
    ids = db.session.scalars(
        select(Supplier.id).where(Supplier.connector != "", Supplier.status == "active")
    ).all()
    reports = []
    for supplier_id in ids:
        try:
            reports.append(sync_supplier(supplier_id))
        except Exception:  # one broken supplier never stops the others
            db.session.rollback()
            log.exception("catalog sync of supplier %s failed", supplier_id)
    return reports
