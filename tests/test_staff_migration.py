"""Migration t0012: existing `staff` accounts become `support`, owners and admins stay."""

from sqlalchemy import inspect, text

from tenants import migrations
from tenants.engines import registry


def test_staff_accounts_become_support_when_the_store_is_upgraded(app, make_store):
    store = make_store()
    with app.app_context():
        engines = registry()
        engine, schema = engines.for_tenant(store.id), engines.schema_for(store.id)
        table = f'"{schema}".staff_users' if schema else "staff_users"
        with engine.begin() as conn:
            for name in reversed(inspect(conn).get_table_names(schema=schema)):
                conn.execute(text(f'DROP TABLE {f"{schema}." if schema else ""}"{name}"'))
        migrations.upgrade_tenant(engines, store.id, "t0011")
        with engine.begin() as conn:
            for email, role in (
                ("o@x.test", "owner"),
                ("a@x.test", "admin"),
                ("s@x.test", "staff"),
            ):
                conn.execute(
                    text(
                        f"INSERT INTO {table} (email, name, password_hash, role, is_active, "
                        "created_at) VALUES (:email, '', 'x', :role, true, CURRENT_TIMESTAMP)"
                    ),
                    {"email": email, "role": role},
                )
        migrations.upgrade_tenant(engines, store.id)
        with engine.connect() as conn:
            roles = dict(conn.execute(text(f"SELECT email, role FROM {table}")).all())
    assert roles == {"o@x.test": "owner", "a@x.test": "admin", "s@x.test": "support"}
