"""Readiness: can this process serve real traffic — database, Redis, migrations current?"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, or_, select, text


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


def _database() -> Check:
    from tenants.engines import registry

    try:
        with registry().platform().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 — any failure means not ready
        return Check("database", False, type(error).__name__)
    return Check("database", True)


def _redis() -> Check:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return Check("redis", True, "not configured (jobs in-process)")
    from redis import Redis

    try:
        Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        return Check("redis", False, type(error).__name__)
    return Check("redis", True)


def _migrations() -> Check:
    from tenants import migrations
    from tenants.engines import registry
    from tenants.models import Tenant

    engines = registry()
    try:
        shared = migrations.shared_revision(engines)
        shared_head = migrations.script_directory("shared").get_current_head()
        if shared != shared_head:
            return Check("migrations", False, f"shared schema at {shared}, head is {shared_head}")
        head = migrations.tenant_head()
        with engines.platform().connect() as conn:
            behind = conn.execute(
                select(func.count())
                .select_from(Tenant)
                .where(
                    Tenant.status != "provisioning",
                    or_(Tenant.schema_revision.is_(None), Tenant.schema_revision != head),
                )
            ).scalar_one()
    except Exception as error:  # noqa: BLE001
        return Check("migrations", False, type(error).__name__)
    if behind:
        return Check("migrations", False, f"{behind} store schemas behind {head}")
    return Check("migrations", True)


def readiness() -> list[Check]:
    database = _database()
    checks = [database, _redis()]
    checks.append(_migrations() if database.ok else Check("migrations", False, "no database"))
    return checks
