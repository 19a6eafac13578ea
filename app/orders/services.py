"""Order rules: numbers, the one transition function, creation with reservation, expiry.

Every status change goes through transition(), which refuses moves the state machine does not
allow and writes the order's timeline. Stock is reserved when the order is created (payment
sells it, expiry or cancellation releases it), in the same transaction as the order.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.catalog.models import Sku
from app.crypto import keyring, open_text, seal_text
from app.customers.levels import customer_may_order, discount_bp_for
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.inventory import services as inventory
from app.orders.models import Order, OrderEvent, OrderIndex, OrderItem
from app.pricing.services import quote_skus
from app.storefront.catalog import store_catalog
from tenants.context import TenantRef

MAX_MANUAL_DELIVERY = 5000
# Orders of a signed-in buyer paying from a prepaid balance: the open API (throttled per key)
# and batch top-ups (app.batches): no per-minute/hour velocity counts.
UNTHROTTLED_CHANNELS = frozenset({"api", "batch"})

# The state machine of DESIGN.md: from → allowed targets.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending_payment": frozenset({"paid", "expired", "cancelled"}),
    "paid": frozenset({"review", "fulfilling", "delivered", "failed", "refunded"}),
    # review → paid: approved manual orders join the store's delivery queue.
    "review": frozenset({"paid", "fulfilling", "delivered", "refunded"}),
    "fulfilling": frozenset({"delivered", "failed", "partially_refunded", "refunded"}),
    "delivered": frozenset({"refunded", "partially_refunded"}),
    "failed": frozenset({"refunded"}),
    "partially_refunded": frozenset({"partially_refunded", "refunded"}),
    "expired": frozenset({"paid"}),  # a payment that arrives after expiry (delivered or refunded)
    "cancelled": frozenset(),
    "refunded": frozenset(),
}


class OrderError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


class IllegalTransition(RuntimeError):
    """A status change the state machine forbids: a bug or a race, never silently applied."""


def new_order_no(now: datetime | None = None) -> str:
    """Date first (for people), then 12 random digits: unique in practice, never guessable."""
    now = now or utcnow()
    return f"{now:%y%m%d}{secrets.randbelow(10**12):012d}"


def order_ref(tenant_id: int, order_no: str) -> str:
    """How shared tables (card keys, ledger) point at an order of a store."""
    return f"{tenant_id}:{order_no}"


def transition(order: Order, to_status: str, *, actor: str = "system", note: str = "") -> None:
    """Move `order` to `to_status` (in the caller's transaction) and record it on its timeline."""
    if to_status not in TRANSITIONS.get(order.status, frozenset()):
        raise IllegalTransition(f"order {order.order_no}: {order.status} → {to_status}")
    order.events.append(
        OrderEvent(from_status=order.status, to_status=to_status, actor=actor, note=note)
    )
    order.status = to_status
    from app.observability.metrics import ORDER_TRANSITIONS
    from app.webhooks.services import notify_order_event

    ORDER_TRANSITIONS.labels(to_status).inc()
    notify_order_event(order)


def _unpaid_count(*conditions) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.status == "pending_payment", Order.expires_at > utcnow(), *conditions)
    )


def checked_account_fields(schema: list[dict], values: dict) -> dict:
    """The top-up account fields the product asks for, each matching its pattern; nothing else."""
    checked = {}
    for field in schema:
        value = str(values.get(field["name"], "")).strip()
        if not value or len(value) > 200 or not re.fullmatch(field["regex"], value):
            raise OrderError(
                f"field_{field['name']}",
                N_("Check %(label)s: for example %(example)s."),
                label=field["label"],
                example=field["example"],
            )
        checked[field["name"]] = value
    return checked


def _refuse_risky_checkout(
    tenant: TenantRef,
    lines: list[tuple[int, int, int]],
    email: str,
    phone: str,
    customer_id,
    client_ip: str,
    device_id: str,
    challenge_passed: bool | None,
    channel: str,
) -> None:
    """Risk rules before the order exists: a blocked checkout creates and reserves nothing.
    (An order to be reviewed goes ahead; the payment holds it, see app.payments.services.)"""
    from app.risk.engine import BLOCK, CHALLENGE
    from app.risk.services import check_checkout

    assessment = check_checkout(
        tenant.id,
        amount_cents=sum(amount for _, _, amount in lines),
        email=email,
        phone=phone,
        customer_id=customer_id,
        ip=client_ip,
        device_id=device_id,
        lines=lines,
        # None: the caller cannot show a captcha (services, API), so none is asked for.
        challenge_passed=challenge_passed is not False,
        count_velocity=channel not in UNTHROTTLED_CHANNELS,
    )
    if assessment.outcome == BLOCK:
        reason = assessment.blocking
        raise OrderError("sku_id", reason.message, **reason.params)
    if assessment.outcome == CHALLENGE:
        raise OrderError("captcha", N_("Type the characters in the picture to continue."))


def create_order(
    tenant: TenantRef,
    *,
    sku_id: int,
    quantity: int,
    contact_email: str = "",
    contact_phone: str = "",
    query_password: str | None = None,
    customer_id: int | None = None,
    client_ip: str = "",
    device_id: str = "",
    account_fields: dict | None = None,
    coupon_code: str = "",
    challenge_passed: bool | None = None,
    channel: str = "web",
    client_reference: str | None = None,
    commit: bool = True,
) -> Order:
    """Price a SKU for this store, reserve its stock and open an unpaid order (one transaction).

    Prices come from the store's catalog view, never from the client; the payment window and
    the unpaid-order limits are the store's checkout settings. A coupon code takes its discount
    off and reserves its use in the same transaction. `client_ip` and `device_id` (the buyer's
    device, see app.risk.device) feed the risk rules; "" when unknown. `channel` "api" (orders
    over the open API) and "batch" leave out the per-minute/hour velocity counts, see
    app.risk.services.

    With `commit=False` the order is only flushed, for a caller that pays it in the same
    transaction (a batch, app.batches): such orders are never left unpaid, so the limits on
    unpaid orders do not apply to channel "batch". An error still rolls the transaction back."""
    from app.coupons import services as coupons
    from app.merchant.services import get_checkout_settings

    rules = get_checkout_settings()
    product = sku_row = None
    sku = db.session.get(Sku, sku_id)
    if sku is not None:
        product = store_catalog(tenant).product(sku.product_id)
        sku_row = next((s for s in (product or {}).get("skus", []) if s["id"] == sku_id), None)
    if product is None or sku_row is None:
        raise OrderError("sku_id", N_("This item is not for sale in this store."))
    if not isinstance(quantity, int) or not (
        sku_row["min_quantity"] <= quantity <= sku_row["max_quantity"]
    ):
        raise OrderError(
            "quantity",
            N_("Choose a quantity from %(low)s to %(high)s."),
            low=sku_row["min_quantity"],
            high=sku_row["max_quantity"],
        )
    if product["delivery_type"] == "direct_topup" and sku_row["stock"] == "sold_out":
        raise OrderError("sku_id", N_("This item is not available right now."))
    account_fields = checked_account_fields(product["input_schema"], account_fields or {})
    contact_email, contact_phone = contact_email.strip().lower(), contact_phone.strip()
    if customer_id is not None and not customer_may_order(customer_id):
        raise OrderError("sku_id", N_("This account cannot place orders."))
    if not (contact_email or contact_phone or customer_id):
        raise OrderError("contact_email", N_("Leave an e-mail address or a phone number."))
    unpaid_limits = channel != "batch"
    if (
        unpaid_limits
        and client_ip
        and _unpaid_count(Order.client_ip == client_ip) >= rules.max_unpaid_per_ip
    ):
        raise OrderError("sku_id", N_("You have too many unpaid orders. Pay or cancel one first."))
    contact = [
        c
        for c in ((Order.contact_email, contact_email), (Order.contact_phone, contact_phone))
        if c[1] and unpaid_limits
    ]
    for column, value in contact:
        if _unpaid_count(column == value) >= rules.max_unpaid_per_contact:
            raise OrderError(
                "contact_email", N_("You have too many unpaid orders. Pay or cancel one first.")
            )

    # The same pricing function as the page the customer saw; wholesale is snapshotted too.
    # A signed-in customer's level discount is applied by the same engine (never below wholesale).
    quoted = quote_skus(tenant, [sku], discount_bp=discount_bp_for(customer_id))[sku.id].quote
    _refuse_risky_checkout(
        tenant,
        [(sku.id, quantity, quoted.price_cents * quantity)],
        contact_email,
        contact_phone,
        customer_id,
        client_ip,
        device_id,
        challenge_passed,
        channel,
    )
    now = utcnow()
    order = Order(
        order_no=new_order_no(now),
        status="pending_payment",
        currency=sku_row["currency"],
        total_cents=quoted.price_cents * quantity,
        subtotal_cents=quoted.price_cents * quantity,
        discount_cents=0,
        contact_email=contact_email,
        contact_phone=contact_phone,
        query_password_hash=None,
        customer_id=customer_id,
        client_reference=client_reference,
        client_ip=client_ip[:45],
        expires_at=now + timedelta(minutes=rules.order_expiry_minutes),
        created_at=now,
    )
    order.items.append(
        OrderItem(
            sku_id=sku.id,
            product_id=sku.product_id,
            product_name=product["title"],
            sku_name=sku.name,
            delivery_type=product["delivery_type"],
            quantity=quantity,
            unit_price_cents=quoted.price_cents,
            unit_wholesale_cents=quoted.wholesale_cents,
            unit_cost_cents=sku.cost_cents,
            account_fields=account_fields,
            discount_cents=0,
        )
    )
    if query_password:
        order.query_password_hash = query_password_digest(order.order_no, query_password)
    order.events.append(OrderEvent(from_status=None, to_status="pending_payment", note="created"))
    db.session.add(order)
    db.session.add(OrderIndex(order_no=order.order_no, tenant_id=tenant.id, created_at=now))
    try:
        if coupon_code.strip():
            coupons.apply_to_order(tenant, order, coupon_code, now=now)
        if product["delivery_type"] == "card_key":
            inventory.reserve_keys(
                sku.id, quantity, order_ref(tenant.id, order.order_no), order.expires_at
            )
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except coupons.CouponError as error:
        db.session.rollback()
        raise OrderError("coupon_code", error.message, **error.params) from error
    except inventory.InventoryError as error:
        db.session.rollback()
        raise OrderError("quantity", error.message, **error.params) from None
    except Exception:
        db.session.rollback()
        raise
    if product["delivery_type"] == "card_key":
        inventory.after_stock_change(sku.id)
    return order


def expire_order(tenant: TenantRef, order: Order, *, actor: str = "system") -> bool:
    """Expire an unpaid order whose time is up and release its keys (caller commits)."""
    if order.status != "pending_payment" or order.expires_at > utcnow():
        return False
    transition(order, "expired", actor=actor, note="payment window closed")
    inventory.release_keys(order_ref(tenant.id, order.order_no))
    _release_coupon(order)
    return True


def cancel_order(tenant: TenantRef, order: Order, *, actor: str, note: str = "") -> None:
    """Cancel an unpaid order and release its keys (caller commits)."""
    transition(order, "cancelled", actor=actor, note=note)
    inventory.release_keys(order_ref(tenant.id, order.order_no))
    _release_coupon(order)


def _release_coupon(order: Order) -> None:
    if order.coupon_code:
        from app.coupons.services import release

        release(order.order_no)


def expire_due_orders(tenant: TenantRef, limit: int = 500) -> int:
    """The periodic job's work for one store: expire every unpaid order past its time."""
    orders = db.session.scalars(
        select(Order)
        .where(Order.status == "pending_payment", Order.expires_at <= utcnow())
        .order_by(Order.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    expired = sum(expire_order(tenant, order) for order in orders)
    db.session.commit()
    skus = {
        item.sku_id for order in orders for item in order.items if item.delivery_type == "card_key"
    }
    for sku_id in skus:
        inventory.after_stock_change(sku_id)
    return expired


def lookup_orders(contact_or_order_no: str, query_password: str, limit: int = 20) -> list[Order]:
    """Guest lookup (订单查询): orders matching an order number, e-mail or phone AND the query
    password chosen at checkout. Knowing only the contact or number finds nothing."""
    needle = (contact_or_order_no or "").strip()
    if not needle or not query_password:
        return []
    candidates = db.session.scalars(
        select(Order)
        .where(
            (Order.order_no == needle)
            | (Order.contact_email == needle.lower())
            | (Order.contact_phone == needle)
        )
        .where(Order.query_password_hash.is_not(None))
        .order_by(Order.created_at.desc())
        .limit(limit)
    ).all()
    return [o for o in candidates if query_password_matches(o, query_password)]


QUERY_DIGEST_PREFIX = "h1$"


def query_password_digest(order_no: str, query_password: str) -> str:
    """A keyed digest (HMAC-SHA256 under the data HMAC key, salted with the order number) of the
    guest's query password. It is a lookup PIN, not an account password: a database without the
    app's keys reveals nothing, and checking costs microseconds instead of a slow hash per order
    at checkout and per candidate at lookup."""
    digest = keyring().fingerprint(f"order-query:{order_no}:{query_password}".encode())
    return QUERY_DIGEST_PREFIX + digest.hex()


def query_password_matches(order: Order, query_password: str) -> bool:
    stored = order.query_password_hash or ""
    if stored.startswith(QUERY_DIGEST_PREFIX):
        expected = query_password_digest(order.order_no, query_password)
        return hmac.compare_digest(stored, expected)
    from werkzeug.security import check_password_hash  # orders from before the digest

    return bool(stored) and check_password_hash(stored, query_password)


def orders_for_contact(email: str, limit: int = 20) -> list[Order]:
    """The orders placed with this e-mail address (for the e-mailed lookup links)."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.contact_email == (email or "").strip().lower())
            .order_by(Order.created_at.desc())
            .limit(limit)
        )
    )


def _manual_purpose(tenant: TenantRef, item: OrderItem) -> str:
    return f"manual-delivery:{tenant.id}:{item.order_id}:{item.id}"


def manual_delivery(tenant: TenantRef, item: OrderItem) -> str:
    """What staff filled in for a manually delivered item, in clear (for its buyer and staff)."""
    return open_text(item.manual_delivery_sealed, _manual_purpose(tenant, item))


def attach_supplier_delivery(tenant: TenantRef, item_id: int, secrets: tuple[str, ...]) -> None:
    """Card secrets a supplier returned for a top-up item (an upstream card shop, another
    Kameng platform): kept sealed on the item, shown to its buyer like a manual delivery.
    Caller commits."""
    item = db.session.get(OrderItem, item_id)
    if item is None or not secrets:
        return
    earlier = manual_delivery(tenant, item) if item.manual_delivery_sealed else ""
    content = "\n".join(line for line in (earlier, *secrets) if line)
    item.manual_delivery_sealed = seal_text(content, _manual_purpose(tenant, item))


def deliver_manually(tenant: TenantRef, order_no: str, content: str, *, actor: str) -> Order:
    """Fill in a paid manual order (an account, a code, instructions) and mark it delivered; the
    content is stored encrypted and e-mailed to the buyer by a job. Commits."""
    content = (content or "").strip()
    if not content:
        raise OrderError("content", N_("Write what the buyer receives."))
    if len(content) > MAX_MANUAL_DELIVERY:
        raise OrderError(
            "content", N_("Keep it under %(max)s characters."), max=MAX_MANUAL_DELIVERY
        )
    order = db.session.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
    if order is None or order.status != "paid":
        raise OrderError("content", N_("Only paid orders awaiting delivery can be delivered."))
    items = [item for item in order.items if item.delivery_type == "manual"]
    if not items:
        raise OrderError("content", N_("This order has no manually delivered item."))
    for item in items:
        item.manual_delivery_sealed = seal_text(content, _manual_purpose(tenant, item))
    transition(order, "delivered", actor=actor, note="delivered by hand")
    order.delivered_at = utcnow()
    email_delivery(tenant, order.order_no)
    db.session.commit()
    return order


def email_delivery(tenant: TenantRef, order_no: str) -> None:
    """E-mail the buyer what was delivered, once per order, after the caller's commit."""
    from workers.queue import enqueue

    enqueue(
        "workers.jobs.orders.send_delivery_email",
        order_no,
        tenant_id=tenant.id,
        queue="notifications",
        job_key=f"delivery-email:{tenant.id}:{order_no}",
    )
