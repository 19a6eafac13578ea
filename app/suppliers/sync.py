"""Price and stock sync: our offers follow what each supplier's own catalog says.

For every connected supplier whose connector lists a catalog (`kameng`: another Kameng store),
each of our offers takes the supplier's current price as its cost and its stock state; an offer
whose product the supplier no longer lists is out of stock. A failed sync (the supplier is down,
answers garbage) changes nothing — never a zero price, never a wiped catalog: the breaker and the
top-up retries deal with a supplier that is really down. Storefronts learn of stock changes
through refresh_availability().
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from app.catalog.models import Supplier
from app.db import utcnow
from app.extensions import db
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
        return SyncReport(supplier_id, error=str(error)[:500])
    now, updated, missing = utcnow(), 0, 0
    offers = db.session.scalars(
        select(SupplierOffer).where(SupplierOffer.supplier_id == supplier_id).with_for_update()
    ).all()
    for offer in offers:
        entry = entries.get(offer.supplier_sku_code)
        if entry is None:
            offer.in_stock = False
            missing += 1
        else:
            if entry.cost_cents > 0:  # a zero or missing price is never taken over
                offer.cost_cents = entry.cost_cents
            offer.in_stock = entry.in_stock
            missing += not entry.in_stock
        offer.synced_at = now
        updated += 1
    db.session.commit()
    refresh_availability()
    return SyncReport(supplier_id, updated=updated, out_of_stock=missing)


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
