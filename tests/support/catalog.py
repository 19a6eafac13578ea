"""Building catalog data through the real platform services."""

from __future__ import annotations

import uuid

from app.catalog import services as catalog
from app.catalog.models import Product, Sku
from app.extensions import db


def unique_code(prefix: str = "SKU") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_product(
    app,
    *,
    name: str | None = None,
    delivery_type: str = "card_key",
    skus: list[tuple[int, int]] = ((1000, 900),),
    published: bool = True,
    category_name: str | None = None,
    input_schema=None,
) -> dict:
    """A product with SKUs (wholesale_cents, cost_cents); returns ids and codes."""
    name = name or f"Product {uuid.uuid4().hex[:6]}"
    with app.app_context():
        category = catalog.save_category(
            None, name=category_name or f"Cat {uuid.uuid4().hex[:6]}", parent_id=None
        )
        product = catalog.save_product(
            None,
            name=name,
            category_id=category.id,
            delivery_type=delivery_type,
            description_md="**Fast** delivery",
            input_schema=input_schema,
        )
        codes = []
        for index, (wholesale, cost) in enumerate(skus):
            code = unique_code()
            catalog.save_sku(
                None,
                product_id=product.id,
                code=code,
                name=f"{(index + 1) * 10} 元",
                face_value_cents=(index + 1) * 1000,
                wholesale_cents=wholesale,
                cost_cents=cost,
            )
            codes.append(code)
        product = db.session.get(Product, product.id)
        if published:
            catalog.set_published(product, True)
        sku_ids = [db.session.scalar(db.select(Sku.id).where(Sku.code == c)) for c in codes]
        return {
            "product_id": product.id,
            "category_id": category.id,
            "name": name,
            "sku_ids": sku_ids,
            "codes": codes,
        }


def add_keys(app, sku_id: int, secrets: list[str]):
    from app.inventory.services import import_keys

    with app.app_context():
        return import_keys(db.session.get(Sku, sku_id), secrets, imported_by="test")
