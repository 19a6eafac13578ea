"""Importing a docked supplier's goods into the platform catalog (克隆 / 一键对接).

The console lists the supplier's own catalog (its connector's catalog(), grouped into products)
and imports the chosen products: each becomes one of our products (delivered by the supplier:
delivery type direct top-up, with the supplier's buyer fields as account fields, often none) with
one SKU per upstream item, cost = the upstream price (converted once by the connector, half-up
to the cent), wholesale = cost plus the chosen platform markup, rounded upwards by the chosen
mode (app.pricing.engine.wholesale_from_cost), and an offer pointing at the upstream item that
remembers that markup, so the scheduled sync keeps cost and wholesale following the upstream
(app.suppliers.sync). Importing a product again adds only the items not imported yet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from app.audit.services import Actor, record
from app.catalog import services as catalog
from app.catalog.cache import bump_catalog_version
from app.catalog.models import Category, Product, Sku, Supplier
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.pricing.engine import ROUNDING_MODES, wholesale_from_cost
from app.suppliers.connectors.base import CatalogEntry
from app.suppliers.models import SupplierOffer
from app.suppliers.offers import refresh_availability
from app.suppliers.services import connector_for
from app.suppliers.sync import lists_catalog

MAX_MARKUP_BP = 100_000  # 1000 %


class ImportRefused(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


@dataclass
class UpstreamProduct:
    """One upstream product and its items, as the import page lists it."""

    code: str
    name: str
    category: str
    entries: list[CatalogEntry] = field(default_factory=list)
    imported: dict[str, int] = field(default_factory=dict)  # item code → our SKU id

    @property
    def note(self) -> str:
        return "; ".join(dict.fromkeys(e.note for e in self.entries if e.note))

    @property
    def importable(self) -> list[CatalogEntry]:
        return [
            e for e in self.entries
            if not e.note and e.cost_cents > 0 and e.supplier_sku_code not in self.imported
        ]  # fmt: skip


@dataclass
class ImportReport:
    products: list[int] = field(default_factory=list)  # ours, created or extended
    skus: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (upstream code, message id)


def upstream_products(supplier_id: int) -> list[UpstreamProduct]:
    """The supplier's catalog now, grouped by product, with what we imported already. Raises
    ImportRefused (no catalog to list) or SupplierTransportError (no usable answer)."""
    connector = connector_for(supplier_id)
    if not lists_catalog(connector):
        raise ImportRefused("supplier", N_("This supplier's connection does not list a catalog."))
    imported = dict(
        db.session.execute(
            select(SupplierOffer.supplier_sku_code, SupplierOffer.sku_id).where(
                SupplierOffer.supplier_id == supplier_id
            )
        ).all()
    )
    products: dict[str, UpstreamProduct] = {}
    for entry in connector.catalog():
        code = entry.product_code or entry.supplier_sku_code
        product = products.get(code)
        if product is None:
            product = products[code] = UpstreamProduct(
                code=code, name=entry.product_name or entry.name, category=entry.category
            )
        product.entries.append(entry)
        if entry.supplier_sku_code in imported:
            product.imported[entry.supplier_sku_code] = imported[entry.supplier_sku_code]
    return list(products.values())


def check_terms(markup_bp: int, rounding: str) -> None:
    if not isinstance(markup_bp, int) or not 0 <= markup_bp <= MAX_MARKUP_BP:
        raise ImportRefused("markup", N_("The markup must be from 0 to 1000 percent."))
    if rounding not in ROUNDING_MODES:
        raise ImportRefused("rounding", N_("Unknown rounding mode."))


def import_products(
    supplier_id: int,
    product_codes: list[str],
    *,
    markup_bp: int,
    rounding: str = "none",
    category_id: int | None = None,
    publish: bool = False,
    actor: Actor,
) -> ImportReport:
    """Import the chosen upstream products (see the module docstring). One transaction; commits.
    `category_id` None files each product under <supplier name> / <upstream category>."""
    check_terms(markup_bp, rounding)
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None:
        raise ImportRefused("supplier", N_("The supplier does not exist."))
    if category_id is not None and db.session.get(Category, category_id) is None:
        raise ImportRefused("category_id", N_("The category does not exist."))
    wanted = set(product_codes)
    if not wanted:
        raise ImportRefused("products", N_("Choose at least one product to import."))
    report = ImportReport()
    listed = {p.code: p for p in upstream_products(supplier_id)}
    for code in sorted(wanted - set(listed)):
        report.skipped.append((code, N_("no longer listed by the supplier")))
    now = utcnow()
    for code in [c for c in listed if c in wanted]:
        upstream = listed[code]
        entries = upstream.importable
        if not entries:
            reason = upstream.note or (
                N_("already imported") if upstream.imported else N_("no price at the supplier")
            )
            report.skipped.append((code, reason))
            continue
        product = _existing_product(upstream)
        if product is None:
            try:
                product = _new_product(supplier, upstream, category_id, publish)
            except catalog.CatalogError as error:
                report.skipped.append((code, error.message))
                continue
        position = len(upstream.imported)
        for entry in entries:
            wholesale = wholesale_from_cost(entry.cost_cents, markup_bp, rounding)
            sku = Sku(
                product_id=product.id,
                code=_sku_code(supplier.id, entry.supplier_sku_code),
                name=(entry.sku_name or entry.name)[:120],
                face_value_cents=0,
                wholesale_cents=wholesale,
                cost_cents=entry.cost_cents,
                min_quantity=entry.min_quantity,
                max_quantity=entry.max_quantity,
                is_active=True,
                supplier_id=supplier.id,
                supplier_sku_code=entry.supplier_sku_code[:64],
                low_stock_threshold=0,
                position=position,
            )
            position += 1
            db.session.add(sku)
            db.session.flush()
            db.session.add(
                SupplierOffer(
                    sku_id=sku.id,
                    supplier_id=supplier.id,
                    supplier_sku_code=entry.supplier_sku_code[:64],
                    cost_cents=entry.cost_cents,
                    priority=0,
                    is_active=True,
                    in_stock=entry.in_stock,
                    synced_at=now,
                    wholesale_markup_bp=markup_bp,
                    wholesale_rounding=rounding,
                )
            )
            report.skus += 1
        if product.id not in report.products:
            report.products.append(product.id)
    record(
        "catalog.import",
        actor=actor,
        target=f"supplier:{supplier.id}",
        after={
            "products": report.products,
            "skus": report.skus,
            "markup_bp": markup_bp,
            "rounding": rounding,
            "skipped": [code for code, _ in report.skipped],
        },
    )
    db.session.commit()
    bump_catalog_version()
    refresh_availability()
    return report


def _existing_product(upstream: UpstreamProduct) -> Product | None:
    """Where items of an upstream product imported before went (new items join them)."""
    for sku_id in upstream.imported.values():
        sku = db.session.get(Sku, sku_id)
        if sku is not None:
            return sku.product
    return None


def _new_product(
    supplier: Supplier, upstream: UpstreamProduct, category_id: int | None, publish: bool
) -> Product:
    fields = catalog.validate_input_schema(list(upstream.importable[0].account_fields))
    if category_id is None:
        parts = (supplier.name, upstream.category) if upstream.category else (supplier.name,)
        path = "/".join(part.replace("/", "-").strip()[:60] for part in parts)
        category_id = catalog.category_by_path(path, create=True).id
    description = upstream.importable[0].description
    product = Product(
        name=(upstream.name or upstream.code)[:120],
        category_id=category_id,
        delivery_type="direct_topup",
        description_md=description,
        description_html=catalog.render_description(description),
        input_schema=fields,
        is_published=publish,
    )
    db.session.add(product)
    db.session.flush()
    return product


def _sku_code(supplier_id: int, upstream_code: str) -> str:
    """Ours for an upstream item: stable, unique, in the SKU code alphabet."""
    digest = hashlib.sha256(f"{supplier_id}:{upstream_code}".encode()).hexdigest()[:12].upper()
    code = f"UP{supplier_id}-{digest}"
    taken = set(db.session.scalars(select(Sku.code).where(Sku.code.like(f"{code}%"))))
    suffix = 1
    candidate = code
    while candidate in taken:
        suffix += 1
        candidate = f"{code}-{suffix}"
    return candidate
