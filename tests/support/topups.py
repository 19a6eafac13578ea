"""Top-up products sold through the supplier simulator (a real local HTTP supplier)."""

from __future__ import annotations

import uuid

import pytest

from app.catalog import services as catalog
from app.suppliers.services import configure_connector, save_offer
from tests.support.catalog import make_product
from workers.simulator import Simulator

PHONE = [
    {"name": "account", "label": "手机号", "regex": "^1[3-9][0-9]{9}$", "example": "13800138000"}
]


@pytest.fixture
def simulator():
    with Simulator(seed=7) as running:
        yield running


def simulated_supplier(app, simulator: Simulator, name: str | None = None) -> int:
    with app.app_context():
        supplier = catalog.save_supplier(
            None, name=name or f"Sim {uuid.uuid4().hex[:6]}", status="active"
        )
        configure_connector(
            supplier, "simulator", {"base_url": simulator.url, "key": simulator.key}
        )
        return supplier.id


def topup_product(app, offers: list[tuple[int, str]], price=(1000, 980)) -> dict:
    """A direct top-up SKU with offers [(supplier_id, supplier SKU code)] in priority order."""
    item = make_product(app, delivery_type="direct_topup", skus=[price], input_schema=PHONE)
    with app.app_context():
        for priority, (supplier_id, code) in enumerate(offers):
            save_offer(
                item["sku_ids"][0], supplier_id, supplier_sku_code=code,
                cost_cents=price[1], priority=priority,
            )  # fmt: skip
    return item
