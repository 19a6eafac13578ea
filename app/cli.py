"""Command-line entry points: `flask --app wsgi <group> <command>`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from tenants.engines import registry

db_cli = AppGroup("db", help="The shared schema.")
platform_cli = AppGroup("platform", help="Platform accounts.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the shared schema (stores: `tenants migrate`)."""
    from tenants.migrations import shared_revision, upgrade_shared

    upgrade_shared(registry(), revision)
    click.echo(f"shared schema at {shared_revision(registry())}")


@db_cli.command("current")
def db_current() -> None:
    """Show the shared schema's revision and the store head."""
    from tenants.migrations import shared_revision, tenant_head

    click.echo(f"shared: {shared_revision(registry())}")
    click.echo(f"store head: {tenant_head()}")


@platform_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
def create_admin(email: str, password: str, name: str) -> None:
    """Create a platform owner account (or reset its password if it exists)."""
    from app.platform.services import PlatformAccountError, ensure_platform_admin

    try:
        user, created = ensure_platform_admin(email, password, name)
    except PlatformAccountError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{'created' if created else 'updated'} platform admin {user.email}")


@platform_cli.command("reset-two-factor")
@click.option("--email", required=True)
@click.option("--store", "slug", default=None, help="A store's slug: reset one of its staff.")
def reset_two_factor(email: str, slug: str | None) -> None:
    """Clear the two-factor sign-in of a platform account (or a store's staff member) who lost
    both their phone and their recovery codes, and sign out their sessions."""
    from sqlalchemy import select

    from app.audit.services import SYSTEM, record
    from app.auth import sessions, two_factor
    from app.auth.emails import normalize_email
    from app.merchant.models import StaffUser
    from app.platform.models import PlatformUser
    from tenants.context import tenant_context
    from tenants.provisioning import get_tenant, tenant_ref

    store = None
    if slug:
        tenant = get_tenant(slug)
        if tenant is None:
            raise click.ClickException(f"no store {slug!r}")
        store = tenant_ref(tenant)
        db.session.remove()  # the store was read on the platform's session; now bind the store
    model = StaffUser if store else PlatformUser
    with tenant_context(store):  # None: the platform
        user = db.session.scalar(select(model).where(model.email == normalize_email(email)))
        if user is None:
            raise click.ClickException(f"no account {email!r}")
        two_factor.reset(user)
        revoked = sessions.revoke_all(user)
        record(
            "account.two_factor_reset", actor=SYSTEM, tenant_id=store.id if store else None,
            target=f"{user.login_kind}_user:{user.id}", after={"sessions_revoked": revoked},
        )  # fmt: skip
        db.session.commit()
        db.session.remove()
    click.echo(f"two-factor sign-in cleared for {email}; {revoked} session(s) signed out")


def register(app) -> None:
    from app.billing.cli import billing_cli
    from app.catalog.cli import catalog_cli
    from app.demo import demo_cli
    from app.inventory.cli import keys_cli
    from app.ledger.cli import ledger_cli
    from app.payments.cli import payments_cli
    from tenants.cli import tenants_cli

    for command in (
        db_cli,
        tenants_cli,
        platform_cli,
        catalog_cli,
        keys_cli,
        ledger_cli,
        payments_cli,
        billing_cli,
        demo_cli,
        serve,
    ):
        app.cli.add_command(command)

    @app.shell_context_processor
    def shell_context():
        return {"db": db, "app": current_app}


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--simulator", is_flag=True, help="Also run the top-up supplier simulator on :8765.")
def serve(host: str, port: int, simulator: bool) -> None:
    """Development server; with no Redis, jobs and the scheduler run inside it."""
    from werkzeug.serving import run_simple

    from workers.schedule import start_in_process

    app = current_app._get_current_object()
    if app.config["JOBS_IN_PROCESS"]:
        start_in_process(app)
    if simulator:
        from workers.simulator import Simulator

        supplier = Simulator(port=8765, latency_ms=300, processing_rate=0.3, callback_delay_ms=3000)
        click.echo(f"Supplier simulator on {supplier.start().url}")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
