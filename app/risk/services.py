"""Risk checks of an order: at checkout (before the order exists) and again at payment.

The facts are gathered here (limits from the platform's config and the store's settings, daily
totals and quantities from the store's orders, whether the buyer is new, velocity counters per
IP, contact and device, blacklist hits, the country by IP, the platform-wide paid total of the
contact); the decision is app.risk.engine.assess(). Nothing here needs a Flask request: the
caller passes the IP and the device id (app.risk.device) it trusts.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.orders.models import Order, OrderItem
from app.risk import aml, blacklist, geoip
from app.risk.engine import BLOCK, Assessment, Facts, Hit, Limits, Line, assess
from app.risk.models import BlacklistEntry, VelocityCounter

log = logging.getLogger(__name__)

# Orders that count towards the daily totals: everything not abandoned or given back.
COUNTED_STATUSES = ("pending_payment", "paid", "review", "fulfilling", "delivered")
# An earlier order in one of these makes a buyer a returning customer (paid, not refunded, and
# not waiting in review).
RETURNING_STATUSES = ("paid", "fulfilling", "delivered", "partially_refunded")


def platform_limits() -> Limits:
    config = current_app.config
    return Limits(
        order_max_cents=config["RISK_ORDER_MAX_CENTS"],
        daily_max_contact_cents=config["RISK_DAILY_MAX_CONTACT_CENTS"],
        daily_max_customer_cents=config["RISK_DAILY_MAX_CUSTOMER_CENTS"],
        daily_max_ip_cents=config["RISK_DAILY_MAX_IP_CENTS"],
        ip_per_minute=config["RISK_IP_PER_MINUTE"],
        ip_per_hour=config["RISK_IP_PER_HOUR"],
        contact_per_minute=config["RISK_CONTACT_PER_MINUTE"],
        contact_per_hour=config["RISK_CONTACT_PER_HOUR"],
        aml_order_cents=config["RISK_AML_ORDER_CENTS"],
        aml_daily_cents=config["RISK_AML_DAILY_CENTS"],
        device_per_minute=config["RISK_DEVICE_PER_MINUTE"],
        device_per_hour=config["RISK_DEVICE_PER_HOUR"],
        new_customer_high_risk_cents=config["RISK_NEW_CUSTOMER_HIGH_RISK_CENTS"],
        quantity_per_order=config["RISK_QUANTITY_PER_ORDER"],
        quantity_per_contact_day=config["RISK_QUANTITY_PER_CONTACT_DAY"],
        blocked_countries=geoip.country_set(config["RISK_BLOCKED_COUNTRIES"]),
        allowed_countries=geoip.country_set(config["RISK_ALLOWED_COUNTRIES"]),
    )


def store_limits() -> Limits:
    """The platform's limits made stricter by the bound store's own settings."""
    from app.merchant.models import StoreSettings
    from app.merchant.services import SETTINGS_ROW_ID

    limits = platform_limits()
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        return limits
    daily = row.risk_daily_max_cents
    return limits.stricter(
        order_max_cents=row.risk_order_max_cents,
        daily_max_contact_cents=daily,
        daily_max_customer_cents=daily,
        daily_max_ip_cents=daily,
        ip_per_minute=row.risk_per_minute,
        contact_per_minute=row.risk_per_minute,
        device_per_minute=row.risk_per_minute,
        ip_per_hour=row.risk_per_hour,
        contact_per_hour=row.risk_per_hour,
        device_per_hour=row.risk_per_hour,
        store_review_over_cents=row.risk_review_over_cents,
        challenge_per_minute=row.risk_challenge_per_minute,
        new_customer_high_risk_cents=row.risk_new_customer_cap_cents,
        quantity_per_order=row.risk_quantity_per_order,
        quantity_per_contact_day=row.risk_quantity_per_day,
    )


def blacklist_hits(
    tenant_id: int, *, ip: str, email: str, phone: str, customer_id: int | None
) -> tuple[Hit, ...]:
    """Entries of the platform's list and the store's own that match this buyer."""
    entries = db.session.execute(
        select(BlacklistEntry.tenant_id, BlacklistEntry.kind, BlacklistEntry.value).where(
            or_(BlacklistEntry.tenant_id.is_(None), BlacklistEntry.tenant_id == tenant_id)
        )
    ).all()
    return tuple(
        Hit("platform" if owner is None else "store", kind, value)
        for owner, kind, value in entries
        if blacklist.matches(kind, value, ip=ip, email=email, phone=phone, customer_id=customer_id)
    )


def daily_totals(
    *, ip: str, email: str, phone: str, customer_id: int | None, exclude_order_no: str = ""
) -> tuple[int, int, int]:
    """What this contact, customer and IP ordered in the bound store over the last 24 hours
    (contact: the larger of its e-mail's and its phone's totals)."""
    since = utcnow() - timedelta(hours=24)

    def total(condition) -> int:
        return db.session.scalar(
            select(func.coalesce(func.sum(Order.total_cents), 0)).where(
                condition,
                Order.created_at >= since,
                Order.status.in_(COUNTED_STATUSES),
                Order.order_no != exclude_order_no,
            )
        )

    contact = max(
        total(Order.contact_email == email) if email else 0,
        total(Order.contact_phone == phone) if phone else 0,
    )
    customer = total(Order.customer_id == customer_id) if customer_id else 0
    by_ip = total(Order.client_ip == ip) if ip else 0
    return contact, customer, by_ip


def _buyer_conditions(email: str, phone: str, customer_id: int | None) -> list:
    conditions = []
    if email:
        conditions.append(Order.contact_email == email)
    if phone:
        conditions.append(Order.contact_phone == phone)
    if customer_id:
        conditions.append(Order.customer_id == customer_id)
    return conditions


def day_quantities(
    sku_ids: Iterable[int],
    *,
    email: str,
    phone: str,
    customer_id: int | None,
    exclude_order_no: str = "",
) -> dict[int, int]:
    """Units of each SKU this buyer ordered in the bound store over the last 24 hours: the
    largest of its e-mail's, its phone's and its account's counts (like daily_totals)."""
    sku_ids = list(set(sku_ids))
    found: dict[int, int] = {}
    if not sku_ids:
        return found
    since = utcnow() - timedelta(hours=24)
    for condition in _buyer_conditions(email, phone, customer_id):
        rows = db.session.execute(
            select(OrderItem.sku_id, func.sum(OrderItem.quantity))
            .join(Order, OrderItem.order_id == Order.id)
            .where(
                condition,
                OrderItem.sku_id.in_(sku_ids),
                Order.created_at >= since,
                Order.status.in_(COUNTED_STATUSES),
                Order.order_no != exclude_order_no,
            )
            .group_by(OrderItem.sku_id)
        )
        for sku_id, quantity in rows:
            found[sku_id] = max(found.get(sku_id, 0), int(quantity or 0))
    return found


def is_new_customer(
    *, email: str, phone: str, customer_id: int | None, exclude_order_no: str = ""
) -> bool:
    """No earlier paid (and kept) order in the bound store by this e-mail, phone or account."""
    conditions = _buyer_conditions(email, phone, customer_id)
    if not conditions:
        return True
    earlier = db.session.scalar(
        select(Order.id)
        .where(
            or_(*conditions),
            Order.status.in_(RETURNING_STATUSES),
            Order.order_no != exclude_order_no,
        )
        .limit(1)
    )
    return earlier is None


def order_lines(
    items: Iterable[tuple[int, int, int]],
    *,
    email: str,
    phone: str,
    customer_id: int | None,
    exclude_order_no: str = "",
) -> tuple[Line, ...]:
    """(sku_id, quantity, amount_cents) per line → engine Lines with the catalog's risk flags
    (high-risk product, the SKU's daily cap) and the buyer's units of each SKU over 24 hours,
    this line included."""
    from app.catalog.models import Product, Sku

    items = list(items)
    if not items:
        return ()
    flags = {
        sku_id: (bool(high_risk), cap)
        for sku_id, high_risk, cap in db.session.execute(
            select(Sku.id, Product.is_high_risk, Sku.daily_quantity_max)
            .join(Product, Sku.product_id == Product.id)
            .where(Sku.id.in_({sku_id for sku_id, _, _ in items}))
        )
    }
    earlier = day_quantities(
        [sku_id for sku_id, _, _ in items],
        email=email,
        phone=phone,
        customer_id=customer_id,
        exclude_order_no=exclude_order_no,
    )
    lines = []
    for sku_id, quantity, amount_cents in items:
        high_risk, cap = flags.get(sku_id, (False, None))
        lines.append(
            Line(
                sku_id=sku_id,
                quantity=quantity,
                amount_cents=amount_cents,
                is_high_risk=high_risk,
                day_quantity=earlier.get(sku_id, 0) + quantity,
                day_quantity_max=cap,
            )
        )
    return tuple(lines)


def count_attempt(
    tenant_id: int, *, ip: str, contacts: list[str], device_id: str = ""
) -> dict[str, int]:
    """Count one checkout for this IP, contact and device in the current minute and hour
    (fixed windows); returns the counts including it. Atomic: Redis INCR, or an upsert."""
    now = int(time.time())
    keys = {}
    named = (("ip", ip), *(("contact", c) for c in contacts), ("device", device_id))
    for name, value in named:
        if not value:
            continue
        if len(value) > 100:  # keys stay short (the database fallback's column is 200)
            value = hashlib.sha256(value.encode()).hexdigest()
        for window, seconds in (("minute", 60), ("hour", 3600)):
            key = f"risk:{tenant_id}:{name}:{value}:{window}:{now // seconds}"
            keys[key] = (f"{name}_{window}", seconds)
    counts: dict[str, int] = {}
    for key, (label, seconds) in keys.items():
        counts[label] = max(counts.get(label, 0), _increment(key, seconds))
    return counts


def _increment(key: str, seconds: int) -> int:
    from app.cache import RedisCache, cache

    store = cache()
    if isinstance(store, RedisCache):
        from redis.exceptions import RedisError

        try:
            pipe = store.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, seconds + 60)
            return int(pipe.execute()[0])
        except (RedisError, OSError):  # Redis away: count in the database, keep selling
            log.warning("velocity counter %s: Redis unavailable, using the database", key)
    return _increment_in_database(key, seconds)


def _increment_in_database(key: str, seconds: int) -> int:
    """INSERT … ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count. On PostgreSQL it
    commits on its own connection, so the row is never held while the checkout goes on; SQLite
    (one writer at a time, the session already holding the write lock) counts in the session."""
    from tenants.engines import registry

    engine = registry().platform()
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = VelocityCounter.__table__
    now = utcnow()
    statement = insert(table).values(
        key=key, count=1, expires_at=now + timedelta(seconds=seconds + 60)
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key], set_={"count": table.c.count + 1}
    ).returning(table.c.count)
    sweep = delete(table).where(table.c.expires_at < now)
    if engine.dialect.name != "postgresql":
        count = db.session.execute(statement).scalar_one()
        if random.random() < 0.01:  # old slots are worthless: sweep them now and then
            db.session.execute(sweep)
        return int(count)
    with engine.begin() as conn:
        count = conn.execute(statement).scalar_one()
        if random.random() < 0.01:
            conn.execute(sweep)
    return int(count)


def check_checkout(
    tenant_id: int,
    *,
    amount_cents: int,
    email: str,
    phone: str,
    customer_id: int | None,
    ip: str,
    device_id: str = "",
    lines: Iterable[tuple[int, int, int]] = (),
    challenge_passed: bool = True,
    count_velocity: bool = True,
) -> Assessment:
    """The decision before an order is created. `lines` are (sku_id, quantity, amount_cents);
    `device_id` is the storefront cookie's id (app.risk.device) or a client-supplied one (made
    with device.client_device_id), "" when there is none. The velocity counters move only when
    nothing else blocks (a refused order for too much money does not also use up the buyer's
    quota). Without `count_velocity` (API orders: a signed-in buyer paying from a prepaid
    balance, throttled per key by the API's rate limit) the per-minute/hour counts are left
    out."""
    limits = store_limits()
    contact, customer, by_ip = daily_totals(
        ip=ip, email=email, phone=phone, customer_id=customer_id
    )
    facts = Facts(
        amount_cents=amount_cents,
        day_contact_cents=contact + amount_cents,
        day_customer_cents=customer + amount_cents if customer_id else 0,
        day_ip_cents=by_ip + amount_cents if ip else 0,
        blacklist_hits=blacklist_hits(
            tenant_id, ip=ip, email=email, phone=phone, customer_id=customer_id
        ),
        challenge_passed=challenge_passed,
        lines=order_lines(lines, email=email, phone=phone, customer_id=customer_id),
        is_new_customer=is_new_customer(email=email, phone=phone, customer_id=customer_id),
        country=geoip.country_of(ip),
    )
    first = assess(facts, limits)
    if first.outcome == BLOCK or not count_velocity:
        return first
    counts = count_attempt(
        tenant_id, ip=ip, contacts=[c for c in (email, phone) if c], device_id=device_id
    )
    return assess(
        replace(
            facts,
            ip_last_minute=counts.get("ip_minute", 0),
            ip_last_hour=counts.get("ip_hour", 0),
            contact_last_minute=counts.get("contact_minute", 0),
            contact_last_hour=counts.get("contact_hour", 0),
            device_last_minute=counts.get("device_minute", 0),
            device_last_hour=counts.get("device_hour", 0),
        ),
        limits,
    )


def check_payment(tenant_id: int, order) -> Assessment:
    """The decision again once the money is in (limits, lists and totals may have changed since
    checkout; velocity was counted then). Records the payment towards the contact's
    platform-wide daily total (app.risk.aml), in the caller's transaction. The caller holds
    anything but ALLOW for review."""
    customer_id = order.customer_id
    buyer = {"email": order.contact_email, "phone": order.contact_phone}
    contact, customer, by_ip = daily_totals(
        ip=order.client_ip, customer_id=customer_id, exclude_order_no=order.order_no, **buyer
    )
    amount = order.total_cents
    facts = Facts(
        amount_cents=amount,
        day_contact_cents=contact + amount,
        day_customer_cents=customer + amount if customer_id else 0,
        day_ip_cents=by_ip + amount if order.client_ip else 0,
        blacklist_hits=blacklist_hits(
            tenant_id, ip=order.client_ip, customer_id=customer_id, **buyer
        ),
        lines=order_lines(
            [(i.sku_id, i.quantity, i.paid_for(i.quantity)) for i in order.items],
            customer_id=customer_id,
            exclude_order_no=order.order_no,
            **buyer,
        ),
        is_new_customer=is_new_customer(
            customer_id=customer_id, exclude_order_no=order.order_no, **buyer
        ),
        day_contact_platform_cents=aml.record_paid(
            tenant_id, order.order_no, amount, order.currency, **buyer
        ),
        country=geoip.country_of(order.client_ip),
    )
    return assess(facts, store_limits())


class LimitsError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


def own_limits() -> dict[str, int | None]:
    """The bound store's own limits as stored (None: the platform's applies)."""
    from app.merchant.models import StoreSettings
    from app.merchant.services import SETTINGS_ROW_ID

    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    return {name: getattr(row, name, None) for name in STORE_LIMIT_FIELDS}


STORE_LIMIT_FIELDS = (
    "risk_order_max_cents",
    "risk_daily_max_cents",
    "risk_per_minute",
    "risk_per_hour",
    "risk_review_over_cents",
    "risk_challenge_per_minute",
    "risk_new_customer_cap_cents",
    "risk_quantity_per_order",
    "risk_quantity_per_day",
)


def save_own_limits(values: dict[str, int | None]) -> dict[str, int | None]:
    """Store the bound store's own limits (caller commits). Each is positive or None; limits
    looser than the platform's are kept but have no effect (Limits.stricter)."""
    from app.merchant.models import StoreSettings
    from app.merchant.services import SETTINGS_ROW_ID

    for name in STORE_LIMIT_FIELDS:
        value = values.get(name)
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise LimitsError(name, N_("Enter a number above zero, or leave it empty."))
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        row = StoreSettings(id=SETTINGS_ROW_ID)
        db.session.add(row)
    before = {name: getattr(row, name) for name in STORE_LIMIT_FIELDS}
    for name in STORE_LIMIT_FIELDS:
        setattr(row, name, values.get(name))
    return before
