"""Suppliers as the platform set them up: connector settings (sealed), offers, circuit breakers.

The breaker keeps one supplier's outage from stalling every top-up: after FAILURES_TO_OPEN
consecutive failures it opens and routing skips the supplier; after COOL_DOWN it lets one probe
through (half-open); a success closes it, a failure opens it again.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.cache import cache
from app.catalog.models import Supplier
from app.crypto import open_text, seal_text
from app.db import utcnow
from app.extensions import db
from app.suppliers.connectors import Connector, connector_class
from app.suppliers.models import SupplierOffer

FAILURES_TO_OPEN = 5
COOL_DOWN = timedelta(seconds=60)
SETTINGS_VERSION = "supplier-settings:version"


class SupplierSettingsError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _purpose(supplier_id: int) -> str:
    return f"supplier-connector:{supplier_id}"


def connector_settings(supplier: Supplier) -> dict[str, str]:
    if not supplier.connector_settings_sealed:
        return {}
    return json.loads(open_text(supplier.connector_settings_sealed, _purpose(supplier.id)))


def configure_connector(supplier: Supplier, kind: str, values: dict[str, str]) -> Supplier:
    """Set how we order from a supplier; a blank secret keeps the stored one. Commits."""
    cls = connector_class(kind)
    known = {f.name: f for f in cls.setting_fields}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise SupplierSettingsError(unknown[0], f"{kind} has no setting {unknown[0]!r}")
    settings = connector_settings(supplier) if supplier.connector == kind else {}
    for key, value in values.items():
        value = (value or "").strip()
        if value or not known[key].secret:
            settings[key] = value
    for field in cls.setting_fields:
        settings.setdefault(field.name, field.default)
        if field.required and not settings[field.name]:
            raise SupplierSettingsError(field.name, f"{kind} needs {field.name}")
    cls(settings)  # a connector that cannot be built from these settings says why (ValueError)
    supplier.connector = kind
    supplier.connector_settings_sealed = seal_text(json.dumps(settings), _purpose(supplier.id))
    db.session.commit()
    cache().incr(SETTINGS_VERSION)
    return supplier


def connector_for(supplier_id: int) -> Connector:
    """The supplier's connector, built once per process and settings version."""
    timeout = current_app.config["SUPPLIER_TIMEOUT_SECONDS"]
    key = f"supplier-connector:{supplier_id}:{cache().get_int(SETTINGS_VERSION)}:{timeout}"
    connector = cache().memo.get(key)
    if connector is None:
        supplier = db.session.get(Supplier, supplier_id)
        if supplier is None or not supplier.connector:
            raise LookupError(f"supplier {supplier_id} has no connector")
        settings = connector_settings(supplier)
        connector = connector_class(supplier.connector)(settings, timeout=timeout)
        cache().memo.put(key, connector)
    return connector


def offers_for(sku_id: int) -> list[SupplierOffer]:
    """Active offers, in stock at the supplier's last sync, of suppliers with a connector, in
    routing order."""
    return list(
        db.session.scalars(
            select(SupplierOffer)
            .join(Supplier, Supplier.id == SupplierOffer.supplier_id)
            .where(
                SupplierOffer.sku_id == sku_id,
                SupplierOffer.is_active.is_(True),
                SupplierOffer.in_stock.is_(True),
                Supplier.status == "active",
                Supplier.connector != "",
            )
            .order_by(SupplierOffer.priority, SupplierOffer.cost_cents, SupplierOffer.id)
        )
    )


def save_offer(
    sku_id: int, supplier_id: int, *, supplier_sku_code: str, cost_cents: int, priority: int = 0
) -> SupplierOffer:
    offer = db.session.scalar(
        select(SupplierOffer).where(
            SupplierOffer.sku_id == sku_id, SupplierOffer.supplier_id == supplier_id
        )
    ) or SupplierOffer(sku_id=sku_id, supplier_id=supplier_id)
    offer.supplier_sku_code, offer.cost_cents, offer.priority = (
        supplier_sku_code, cost_cents, priority,
    )  # fmt: skip
    offer.is_active = True
    db.session.add(offer)
    db.session.commit()
    return offer


# Circuit breaker. Each change is one conditional UPDATE, so concurrent workers agree.


def may_route_to(supplier_id: int) -> bool:
    """Closed: yes. Open and cooled down: this caller becomes the one half-open probe."""
    supplier = db.session.get(Supplier, supplier_id)
    if supplier.breaker_state == "closed":
        return True
    if supplier.breaker_state == "open" and supplier.breaker_opened_at <= utcnow() - COOL_DOWN:
        claimed = db.session.execute(
            update(Supplier)
            .where(Supplier.id == supplier_id, Supplier.breaker_state == "open")
            .values(breaker_state="half_open")
        ).rowcount
        return claimed == 1
    return False


def record_success(supplier_id: int) -> None:
    db.session.execute(
        update(Supplier)
        .where(Supplier.id == supplier_id)
        .where((Supplier.breaker_state != "closed") | (Supplier.consecutive_failures != 0))
        .values(breaker_state="closed", consecutive_failures=0, breaker_opened_at=None)
    )


def record_failure(supplier_id: int) -> None:
    db.session.execute(
        update(Supplier)
        .where(Supplier.id == supplier_id)
        .values(consecutive_failures=Supplier.consecutive_failures + 1)
    )
    db.session.execute(
        update(Supplier)
        .where(
            Supplier.id == supplier_id,
            (Supplier.breaker_state == "half_open")
            | (Supplier.consecutive_failures >= FAILURES_TO_OPEN),
        )
        .values(breaker_state="open", breaker_opened_at=utcnow())
    )
