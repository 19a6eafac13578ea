"""Top-up jobs (queue `fulfilment`): each bound to the order's store, each safe to run twice."""

from __future__ import annotations

from app.fulfilment import services


def submit_topup(topup_no: str) -> str:
    return services.submit(topup_no)


def check_topup(topup_no: str) -> str:
    return services.check(topup_no)


def finish_topup_order(order_no: str) -> None:
    services.finish_order(order_no)


def sweep_topups() -> int:
    """Periodic, platform-wide: re-drive lost and due top-ups, and let storefronts know when a
    top-up SKU became sellable or unsellable (a breaker opened, closed or cooled down)."""
    from app.suppliers.offers import refresh_availability

    swept = services.sweep()
    refresh_availability()
    return swept


def sync_supplier_catalogs() -> int:
    """Periodic: offers follow their suppliers' prices and stock (app.suppliers.sync)."""
    from app.suppliers.sync import sync_all

    return len(sync_all())
