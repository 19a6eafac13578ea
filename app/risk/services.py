"""Risk checks of an order: at checkout (before the order exists) and again at payment.

The facts are gathered here (limits from the platform's config and the store's settings, daily
totals from the store's orders, velocity counters, blacklist hits); the decision is
app.risk.engine.assess(). Nothing here needs a Flask request.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.orders.models import Order
from app.risk import blacklist
from app.risk.engine import BLOCK, Assessment, Facts, Hit, Limits, assess
from app.risk.models import BlacklistEntry, VelocityCounter

log = logging.getLogger(__name__)

# Orders that count towards the daily totals: everything not abandoned or given back.
COUNTED_STATUSES = ("pending_payment", "paid", "review", "fulfilling", "delivered")


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
        ip_per_hour=row.risk_per_hour,
        contact_per_hour=row.risk_per_hour,
        store_review_over_cents=row.risk_review_over_cents,
        challenge_per_minute=row.risk_challenge_per_minute,
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


def count_attempt(tenant_id: int, *, ip: str, contacts: list[str]) -> dict[str, int]:
    """Count one checkout for this IP and contact in the current minute and hour (fixed
    windows); returns the counts including it. Atomic: Redis INCR, or an upsert."""
    now = int(time.time())
    keys = {}
    for name, value in (("ip", ip), *(("contact", c) for c in contacts)):
        if not value:
            continue
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
    challenge_passed: bool = True,
    count_velocity: bool = True,
) -> Assessment:
    """The decision before an order is created. The velocity counters move only when nothing
    else blocks (a refused order for too much money does not also use up the buyer's quota).
    Without `count_velocity` (API orders: a signed-in buyer paying from a prepaid balance,
    throttled per key by the API's rate limit) the per-minute/hour counts are left out."""
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
    )
    first = assess(facts, limits)
    if first.outcome == BLOCK or not count_velocity:
        return first
    counts = count_attempt(tenant_id, ip=ip, contacts=[c for c in (email, phone) if c])
    return assess(
        Facts(
            **{
                **facts.__dict__,
                "ip_last_minute": counts.get("ip_minute", 0),
                "ip_last_hour": counts.get("ip_hour", 0),
                "contact_last_minute": counts.get("contact_minute", 0),
                "contact_last_hour": counts.get("contact_hour", 0),
            }
        ),
        limits,
    )


def check_payment(tenant_id: int, order) -> Assessment:
    """The decision again once the money is in (limits, lists and totals may have changed since
    checkout; velocity was counted then). The caller holds anything but ALLOW for review."""
    customer_id = order.customer_id
    contact, customer, by_ip = daily_totals(
        ip=order.client_ip,
        email=order.contact_email,
        phone=order.contact_phone,
        customer_id=customer_id,
        exclude_order_no=order.order_no,
    )
    amount = order.total_cents
    facts = Facts(
        amount_cents=amount,
        day_contact_cents=contact + amount,
        day_customer_cents=customer + amount if customer_id else 0,
        day_ip_cents=by_ip + amount if order.client_ip else 0,
        blacklist_hits=blacklist_hits(
            tenant_id,
            ip=order.client_ip,
            email=order.contact_email,
            phone=order.contact_phone,
            customer_id=customer_id,
        ),
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
