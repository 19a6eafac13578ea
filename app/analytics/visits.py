"""Storefront visit counting without a database write per request on PostgreSQL.

With Redis, a page view is one HINCRBY on the day's hash (`kameng:visits:<day>`, field = store
id); a periodic job moves the counts into `shared.store_visit_days`. Without Redis (the embedded
default, one process) the view is added to the day's row directly. Days are calendar days in the
platform's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.analytics.models import StoreVisitDay
from app.cache import cache
from app.db import utcnow

LIVE_PREFIX = "kameng:visits:"
KEY_TTL_SECONDS = 40 * 24 * 3600  # a day's hash outlives any flush delay


def today(now: datetime | None = None) -> date:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return (now or utcnow()).astimezone(zone).date()


def _redis():
    return getattr(cache(), "redis", None)


def count_visit(tenant_id: int) -> None:
    """One storefront page view of store `tenant_id`, now."""
    day = today()
    redis = _redis()
    if redis is not None:
        key = f"{LIVE_PREFIX}{day.isoformat()}"
        pipe = redis.pipeline(transaction=False)
        pipe.hincrby(key, str(tenant_id), 1)
        pipe.expire(key, KEY_TTL_SECONDS)
        pipe.execute()
        return
    from tenants.engines import registry

    with registry().platform().begin() as conn:
        _add(conn, tenant_id, day, 1)


def _add(conn, tenant_id: int, day: date, visits: int) -> None:
    """visits += n for (store, day), creating the row if needed (portable: no dialect upsert)."""
    table = StoreVisitDay.__table__
    statement = (
        update(table)
        .where(table.c.tenant_id == tenant_id, table.c.day == day)
        .values(visits=table.c.visits + visits)
    )
    if conn.execute(statement).rowcount:
        return
    savepoint = conn.begin_nested()
    try:
        conn.execute(table.insert().values(tenant_id=tenant_id, day=day, visits=visits))
        savepoint.commit()
    except IntegrityError:  # inserted concurrently: add to that row
        savepoint.rollback()
        conn.execute(statement)


def flush_counts() -> int:
    """Move the counts held in Redis into the database; returns the number of rows touched.
    Each day's hash is read and deleted in one Redis transaction, so concurrent flushes never
    add the same views twice; views counted meanwhile start a fresh hash. If the database
    refuses, the counts are put back."""
    from tenants.engines import registry

    redis = _redis()
    if redis is None:
        return 0
    touched = 0
    for key in list(redis.scan_iter(match=f"{LIVE_PREFIX}*", count=100)):
        day = date.fromisoformat(key.decode()[len(LIVE_PREFIX) :])
        pipe = redis.pipeline(transaction=True)
        pipe.hgetall(key)
        pipe.delete(key)
        counts, _ = pipe.execute()
        if not counts:
            continue
        try:
            with registry().platform().begin() as conn:
                for tenant_id, visits in counts.items():
                    _add(conn, int(tenant_id), day, int(visits))
        except Exception:
            restore = redis.pipeline(transaction=True)
            for tenant_id, visits in counts.items():
                restore.hincrby(key, tenant_id, int(visits))
            restore.expire(key, KEY_TTL_SECONDS)
            restore.execute()
            raise
        touched += len(counts)
    return touched


def visits_between(tenant_id: int, first: date, last: date) -> dict[date, int]:
    """Visits per day from `first` to `last` inclusive: stored rows plus counts not flushed yet."""
    from app.extensions import db

    found: dict[date, int] = {}
    rows = db.session.execute(
        select(StoreVisitDay.day, StoreVisitDay.visits).where(
            StoreVisitDay.tenant_id == tenant_id,
            StoreVisitDay.day >= first,
            StoreVisitDay.day <= last,
        )
    )
    for day, visits in rows:
        found[day] = found.get(day, 0) + int(visits)
    redis = _redis()
    if redis is not None:
        for key in redis.scan_iter(match=f"{LIVE_PREFIX}*", count=100):
            day = date.fromisoformat(key.decode()[len(LIVE_PREFIX) :])
            if first <= day <= last:
                pending = redis.hget(key, str(tenant_id))
                if pending:
                    found[day] = found.get(day, 0) + int(pending)
    return found
