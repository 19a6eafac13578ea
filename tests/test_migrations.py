"""Migrations: create_all stores equal stores migrated from empty; migrate is resumable."""

import pytest
from sqlalchemy import inspect, select, text, update

from app.extensions import db
from tenants import migrations
from tenants.engines import registry
from tenants.models import Tenant


def describe_schema(engine, schema):
    """Tables, columns, indexes, unique and foreign keys, as comparable plain data."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        tables = {}
        for name in sorted(inspector.get_table_names(schema=schema)):
            columns = {
                c["name"]: (str(c["type"]).split("(")[0], c["nullable"])
                for c in inspector.get_columns(name, schema=schema)
            }
            indexes = sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name, schema=schema)
            )
            uniques = sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name, schema=schema)
            )
            fks = sorted(
                (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(name, schema=schema)
            )
            pk = inspector.get_pk_constraint(name, schema=schema)
            tables[name] = (columns, indexes, uniques, fks, tuple(pk["constrained_columns"]))
        return tables


def test_a_new_store_schema_equals_one_migrated_from_empty(app, make_store):
    """The drift test: create_all + stamp (provisioning) == alembic upgrade from nothing."""
    built = make_store()
    migrated = make_store()
    with app.app_context():
        engines = registry()
        # Empty the second store's schema completely, then migrate it from nothing.
        engine = engines.for_tenant(migrated.id)
        with engine.begin() as conn:
            for name in reversed(
                inspect(conn).get_table_names(schema=engines.schema_for(migrated.id))
            ):
                schema = engines.schema_for(migrated.id)
                qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
                conn.execute(text(f"DROP TABLE {qualified}"))
        migrations.upgrade_tenant(engines, migrated.id)
        left = describe_schema(engines.for_tenant(built.id), engines.schema_for(built.id))
        right = describe_schema(engine, engines.schema_for(migrated.id))
    assert left == right
    assert "staff_users" in left and "alembic_version" in left


def test_the_shared_schema_matches_the_models(app):
    """Autogenerate finds nothing to change after `db upgrade`."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.db import shared_metadata

    with app.app_context(), registry().platform().connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, parent: type_ != "schema" or name == "shared",
                "version_table_schema": "shared",
            },
        )
        diff = [
            d for d in compare_metadata(context, shared_metadata) if "alembic_version" not in str(d)
        ]
    assert diff == []


def test_store_schemas_match_the_models(app, make_store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.db import tenant_metadata

    store = make_store()
    with app.app_context():
        engines = registry()
        schema = engines.schema_for(store.id)
        with engines.for_tenant(store.id).connect() as conn:
            # Reflect the store schema as the default one: compare against schema-less models.
            if schema:
                conn.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            context = MigrationContext.configure(conn, opts={"version_table_schema": schema})
            diff = compare_metadata(context, tenant_metadata)
    assert [d for d in diff if "alembic_version" not in str(d)] == []


def mark_behind(app, store):
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == store.id).values(schema_revision=None))
        db.session.commit()


@pytest.mark.parametrize("parallel", [1, 2])
def test_migrate_reports_each_store_and_resumes_after_a_failure(app, make_store, runner, parallel):
    healthy, broken = make_store(), make_store()
    mark_behind(app, healthy)
    mark_behind(app, broken)
    with app.app_context():
        registry().drop_tenant_storage(broken.id)  # this store's schema is gone: it must fail

    result = runner.invoke(args=["tenants", "migrate", "--parallel", str(parallel)])
    assert result.exit_code != 0
    assert f"{healthy.slug}" in result.output and "FAILED" in result.output
    with app.app_context():
        rows = {t.slug: t for t in db.session.scalars(select(Tenant)).all()}
        assert rows[healthy.slug].schema_revision == migrations.tenant_head()
        assert rows[broken.slug].schema_revision is None
        assert rows[broken.slug].migration_error

    # The operator repairs the store; the next run picks up only what is still behind.
    with app.app_context():
        engines = registry()
        engines.create_tenant_storage(broken.id)
    again = runner.invoke(args=["tenants", "migrate"])
    assert again.exit_code == 0, again.output
    assert broken.slug in again.output and healthy.slug not in again.output
    with app.app_context():
        tenant = db.session.get(Tenant, broken.id)
        assert tenant.schema_revision == migrations.tenant_head()
        assert tenant.migration_error is None
    assert "all stores at" in runner.invoke(args=["tenants", "migrate"]).output


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    head = migrations.script_directory("shared").get_current_head()
    assert f"shared schema at {head}" in result.output
