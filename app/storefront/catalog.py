"""What a store's customers can browse: visible products with the store's prices and stock status.

Listings are plain data, cached per store under the catalog and store versions (app.catalog.cache),
so any catalog, price-rule, listing or stock-status change shows on the very next request.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.catalog.cache import cached
from app.catalog.models import Category, Product, Sku
from app.extensions import db
from app.inventory.services import stock_counts
from app.merchant.services import get_settings
from app.pricing.models import ProductListing
from app.pricing.services import load_rules, quote_skus
from tenants.context import TenantRef

LOW_STOCK_SHOWN_BELOW = 10


def stock_state(delivery_type: str, available: int | None) -> str:
    if delivery_type != "card_key":
        return "in_stock"
    if not available:
        return "sold_out"
    return "low" if available < LOW_STOCK_SHOWN_BELOW else "in_stock"


def _visible_products() -> tuple[list[Product], dict[int, ProductListing]]:
    listings = {
        listing.product_id: listing for listing in db.session.scalars(select(ProductListing))
    }
    products = db.session.scalars(
        select(Product)
        .where(Product.is_published.is_(True))
        .options(selectinload(Product.skus))
        .order_by(Product.position, Product.id)
    ).all()
    visible = [
        p
        for p in products
        if not (p.id in listings and listings[p.id].is_hidden) and any(s.is_active for s in p.skus)
    ]
    return visible, listings


def _sku_rows(tenant: TenantRef, products: list[Product], show_counts: bool) -> dict[int, list]:
    skus = [s for p in products for s in p.skus if s.is_active]
    prices = quote_skus(tenant, skus, load_rules())
    counts = stock_counts(s.id for s in skus if s.product.delivery_type == "card_key")
    rows: dict[int, list] = {}
    for sku in skus:
        available = counts.get(sku.id, {}).get("available")
        state = stock_state(sku.product.delivery_type, available)
        rows.setdefault(sku.product_id, []).append(
            {
                "id": sku.id,
                "code": sku.code,
                "name": sku.name,
                "currency": sku.currency,
                "face_value_cents": sku.face_value_cents,
                "price_cents": prices[sku.id].quote.price_cents,
                "min_quantity": sku.min_quantity,
                "max_quantity": sku.max_quantity,
                "stock": state,
                "available": available if show_counts and available is not None else None,
            }
        )
    return rows


def _product_card(product: Product, listing: ProductListing | None, skus: list[dict]) -> dict:
    states = {s["stock"] for s in skus}
    stock = "in_stock" if "in_stock" in states else ("low" if "low" in states else "sold_out")
    return {
        "id": product.id,
        "title": (listing.title if listing and listing.title else product.name),
        "category_id": product.category_id,
        "delivery_type": product.delivery_type,
        "image": product.image_path,
        "min_price_cents": min(s["price_cents"] for s in skus),
        "currency": skus[0]["currency"],
        "stock": stock,
        "position": listing.position if listing and listing.position is not None else 10**6,
    }


def build_listing(tenant: TenantRef) -> dict:
    products, listings = _visible_products()
    show_counts = get_settings().show_stock_counts
    skus = _sku_rows(tenant, products, show_counts)
    cards = [_product_card(p, listings.get(p.id), skus[p.id]) for p in products if p.id in skus]
    cards.sort(key=lambda c: c["position"])
    used = {c["category_id"] for c in cards}
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    parents = {c.id: c.parent_id for c in categories}
    shown = set()
    for category_id in used:
        node = category_id
        while node is not None and node not in shown:
            shown.add(node)
            node = parents.get(node)
    return {
        "categories": [
            {"id": c.id, "name": c.name, "icon": c.icon, "parent_id": c.parent_id}
            for c in categories
            if c.id in shown
        ],
        "products": cards,
    }


def listing(tenant: TenantRef) -> dict:
    return cached(tenant.id, "listing", lambda: build_listing(tenant))


def products_in_category(tenant: TenantRef, category_id: int) -> tuple[dict | None, list[dict]]:
    data = listing(tenant)
    categories = {c["id"]: c for c in data["categories"]}
    if category_id not in categories:
        return None, []
    inside = {category_id}
    changed = True
    while changed:
        changed = False
        for c in data["categories"]:
            if c["parent_id"] in inside and c["id"] not in inside:
                inside.add(c["id"])
                changed = True
    return categories[category_id], [p for p in data["products"] if p["category_id"] in inside]


def search(tenant: TenantRef, query: str) -> list[dict]:
    needle = (query or "").strip().casefold()
    if not needle:
        return []
    return [p for p in listing(tenant)["products"] if needle in p["title"].casefold()]


def build_product(tenant: TenantRef, product_id: int) -> dict | None:
    product = db.session.get(Product, product_id)
    if product is None or not product.is_published:
        return None
    listing_row = db.session.scalar(
        select(ProductListing).where(ProductListing.product_id == product_id)
    )
    if listing_row is not None and listing_row.is_hidden:
        return None
    rows = _sku_rows(tenant, [product], get_settings().show_stock_counts).get(product.id)
    if not rows:
        return None
    card = _product_card(product, listing_row, rows)
    card.update(
        description_html=product.description_html,
        store_description=listing_row.description if listing_row else "",
        input_schema=[
            {"name": f["name"], "label": f["label"], "example": f["example"], "regex": f["regex"]}
            for f in product.input_schema or []
        ],
        skus=rows,
        category_name=product.category.name,
    )
    return card


def product(tenant: TenantRef, product_id: int) -> dict | None:
    return cached(tenant.id, f"product:{product_id}", lambda: build_product(tenant, product_id))


def visible_sku(tenant: TenantRef, sku_id: int) -> Sku | None:
    """A SKU that this store's customers may buy, or None (hidden, unpublished, inactive)."""
    sku = db.session.get(Sku, sku_id)
    if sku is None or not sku.is_active:
        return None
    return sku if product(tenant, sku.product_id) is not None else None
