"""Schema migrations: the shared schema once, then every store schema (resumable, in parallel)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from tenants.engines import EngineRegistry
from tenants.models import Tenant

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SHARED_VERSION_SCHEMA = "shared"


def alembic_config(kind: str, connection: Connection | None = None, **attributes) -> Config:
    """An Alembic config for `shared` or `tenant` that runs on the given connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / kind))
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


def script_directory(kind: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(kind))


def tenant_head() -> str:
    return script_directory("tenant").get_current_head()


# -- shared schema ---------------------------------------------------------------------------------


def upgrade_shared(engines: EngineRegistry, revision: str = "head") -> None:
    with engines.platform().begin() as conn:
        engines.create_shared_storage(conn)
        command.upgrade(
            alembic_config("shared", conn, version_table_schema=SHARED_VERSION_SCHEMA),
            revision,
        )


def shared_revision(engines: EngineRegistry) -> str | None:
    with engines.platform().connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table_schema": SHARED_VERSION_SCHEMA}
        )
        return context.get_current_revision()


# -- store schemas ---------------------------------------------------------------------------------


def stamp_tenant(engines: EngineRegistry, conn: Connection, tenant_id: int) -> str:
    """Record that a store schema built by create_all is at head (in the caller's transaction)."""
    context = MigrationContext.configure(
        conn, opts={"version_table_schema": engines.schema_for(tenant_id)}
    )
    script = script_directory("tenant")
    context.stamp(script, "head")
    return script.get_current_head()


def upgrade_tenant(engines: EngineRegistry, tenant_id: int, revision: str = "head") -> str:
    """Upgrade one store schema and record its new revision in `shared.tenants`, atomically."""
    with engines.for_tenant(tenant_id).begin() as conn:
        command.upgrade(
            alembic_config("tenant", conn, version_table_schema=engines.schema_for(tenant_id)),
            revision,
        )
        current = MigrationContext.configure(
            conn, opts={"version_table_schema": engines.schema_for(tenant_id)}
        ).get_current_revision()
        conn.execute(
            update(Tenant.__table__)
            .where(Tenant.__table__.c.id == tenant_id)
            .values(schema_revision=current, migration_error=None)
        )
    return current


@dataclass(frozen=True)
class MigrationResult:
    tenant_id: int
    slug: str
    from_revision: str | None
    to_revision: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def tenants_behind(engines: EngineRegistry, head: str, slugs: Iterable[str] | None = None):
    """Stores whose recorded revision is not head (failed ones included, so runs are resumable)."""
    t = Tenant.__table__
    query = (
        select(t.c.id, t.c.slug, t.c.schema_revision)
        .where(t.c.status != "provisioning")
        .where((t.c.schema_revision.is_(None)) | (t.c.schema_revision != head))
        .order_by(t.c.id)
    )
    if slugs:
        query = query.where(t.c.slug.in_(list(slugs)))
    with engines.platform().connect() as conn:
        return conn.execute(query).all()


def record_failure(engines: EngineRegistry, tenant_id: int, error: str) -> None:
    with engines.platform().begin() as conn:
        conn.execute(
            update(Tenant.__table__)
            .where(Tenant.__table__.c.id == tenant_id)
            .values(migration_error=error[:2000])
        )


def migrate_one(engines: EngineRegistry, tenant_id: int, slug: str, from_revision):
    try:
        to_revision = upgrade_tenant(engines, tenant_id)
    except Exception as exc:  # reported per store; the run goes on with the others
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        record_failure(engines, tenant_id, error)
        return MigrationResult(tenant_id, slug, from_revision, None, error)
    return MigrationResult(tenant_id, slug, from_revision, to_revision)


# Worker processes build their own application once (Alembic's `op` and `context` are
# process-global, so parallelism uses processes, not threads).
_worker_engines: EngineRegistry | None = None
_worker_app = None


def _init_worker(config_overrides: dict) -> None:
    global _worker_app, _worker_engines
    from app import create_app

    _worker_app = create_app(config_overrides)
    from tenants.engines import registry

    with _worker_app.app_context():
        _worker_engines = registry()


def _migrate_in_worker(tenant_id: int, slug: str, from_revision):
    with _worker_app.app_context():
        return migrate_one(_worker_engines, tenant_id, slug, from_revision)


def migrate_all(
    engines: EngineRegistry,
    *,
    parallel: int = 1,
    config_overrides: dict | None = None,
    slugs: Iterable[str] | None = None,
    on_result: Callable[[MigrationResult], None] | None = None,
) -> list[MigrationResult]:
    """Upgrade every store schema that is behind head; one result per store."""
    head = tenant_head()
    pending = tenants_behind(engines, head, slugs)
    results: list[MigrationResult] = []

    def report(result: MigrationResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    if parallel <= 1 or len(pending) <= 1:
        for row in pending:
            report(migrate_one(engines, row.id, row.slug, row.schema_revision))
        return results

    with ProcessPoolExecutor(
        max_workers=parallel,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(config_overrides or {},),
    ) as pool:
        futures = [
            pool.submit(_migrate_in_worker, row.id, row.slug, row.schema_revision)
            for row in pending
        ]
        for future in as_completed(futures):
            report(future.result())
    return results
