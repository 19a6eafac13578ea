"""Order jobs: expiring unpaid orders in every store (periodic) and in one store."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orders.services import expire_due_orders
from tenants.context import require_tenant
from tenants.models import Tenant
from workers.queue import enqueue


def expire_orders_everywhere() -> int:
    """Periodic: one expiry job per active store (each runs bound to its store)."""
    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.orders.expire_store_orders",
            tenant_id=tenant_id,
            job_key=f"expire-orders:{tenant_id}",
        )
    return len(ids)


def expire_store_orders() -> int:
    return expire_due_orders(require_tenant())


def send_delivery_email(order_no: str) -> bool:
    """E-mail the buyer their keys and the order's link, once per order (bound to its store)."""
    from flask import current_app
    from flask_babel import force_locale, gettext

    from app.db import utcnow
    from app.inventory.models import KeyAccessLog
    from app.mail.services import send_template
    from app.orders.models import Order
    from app.orders.services import manual_delivery
    from app.payments.services import delivered_keys
    from app.storefront.access import order_page_url

    store = require_tenant()
    order = db.session.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
    if order is None or order.status != "delivered" or not order.contact_email:
        return False
    if order.delivery_emailed_at is not None:
        return False
    keys = delivered_keys(store, order)
    manual = [
        (item, manual_delivery(store, item)) for item in order.items if item.manual_delivery_sealed
    ]
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        send_template(
            order.contact_email,
            gettext("Your order %(no)s from %(store)s", no=order.order_no, store=store.name),
            "order_delivered",
            order=order,
            keys=keys,
            manual=manual,
            store=store,
            url=order_page_url(store, order.order_no),
        )
    order.delivery_emailed_at = utcnow()
    db.session.add(
        KeyAccessLog(
            actor=f"email:{order.contact_email}", action="reveal", key_count=len(keys),
            detail=f"order {store.id}:{order.order_no} e-mailed",
        )
    )  # fmt: skip
    return True


def send_lookup_links(email: str) -> int:
    """E-mail signed links to the orders placed with this address in the bound store."""
    from flask import current_app
    from flask_babel import force_locale, gettext

    from app.mail.services import send_template
    from app.orders.services import orders_for_contact
    from app.storefront.access import order_page_url

    store = require_tenant()
    orders = orders_for_contact(email)
    if not orders:
        return 0
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        send_template(
            email,
            gettext("Your orders at %(store)s", store=store.name),
            "order_links",
            store=store,
            links=[(order, order_page_url(store, order.order_no)) for order in orders],
        )
    return len(orders)
