"""`flask --app wsgi tenants ...`: open, list, suspend, resume, drop and migrate stores."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from tenants import migrations, provisioning
from tenants.engines import registry

tenants_cli = AppGroup("tenants", help="Stores (tenants) and their schemas.")


def _fail(error: provisioning.ProvisioningError):
    # Operator tools speak English (the message ids); the web UI translates them.
    raise click.ClickException(f"{error.field}: {error.message}")


@tenants_cli.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--owner-email", required=True)
@click.option("--owner-password", required=True)
@click.option("--plan", default="free", show_default=True)
@click.option("--theme", default="_base", show_default=True)
def create(slug, name, owner_email, owner_password, plan, theme):
    """Open a store with its owner account."""
    try:
        opened = provisioning.create_tenant(
            slug=slug,
            name=name,
            owner_email=owner_email,
            owner_password=owner_password,
            plan=plan,
            theme=theme,
        )
    except provisioning.ProvisioningError as error:
        _fail(error)
    store = opened.tenant
    click.echo(f"created store {store.slug} (id {store.id}) at {store.primary_host}")


@tenants_cli.command("list")
def list_():
    """List stores."""
    rows = provisioning.list_tenants()
    click.echo(f"{'id':>6}  {'slug':<30} {'status':<12} {'plan':<10} {'revision':<14} host")
    for t in rows:
        primary = next((d.host for d in t.domains if d.is_primary), "-")
        revision = t.schema_revision or "-"
        click.echo(f"{t.id:>6}  {t.slug:<30} {t.status:<12} {t.plan:<10} {revision:<14} {primary}")
    click.echo(f"{len(rows)} store(s)")


@tenants_cli.command("suspend")
@click.argument("slug")
@click.option("--reason", default=None)
def suspend(slug, reason):
    """Suspend a store: its storefront shows "closed", its owner can still sign in."""
    try:
        provisioning.set_status(slug, "suspended", reason)
    except provisioning.ProvisioningError as error:
        _fail(error)
    click.echo(f"suspended {slug}")


@tenants_cli.command("resume")
@click.argument("slug")
def resume(slug):
    """Re-open a suspended store."""
    try:
        provisioning.set_status(slug, "active")
    except provisioning.ProvisioningError as error:
        _fail(error)
    click.echo(f"resumed {slug}")


@tenants_cli.command("drop")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm: the store and all its data are deleted.")
def drop(slug, yes):
    """Delete a store and its whole schema (irreversible)."""
    if not yes:
        raise click.ClickException("refusing to drop without --yes")
    try:
        provisioning.drop_tenant(slug)
    except provisioning.ProvisioningError as error:
        _fail(error)
    click.echo(f"dropped {slug}")


@tenants_cli.command("migrate")
@click.option("--parallel", default=1, show_default=True, help="Worker processes.")
@click.option("--slug", "slugs", multiple=True, help="Only these stores (repeatable).")
def migrate(parallel, slugs):
    """Bring every store schema to head; resumable, failures reported per store."""
    engines = registry()
    head = migrations.tenant_head()
    pending = migrations.tenants_behind(engines, head, slugs or None)
    if not pending:
        click.echo(f"all stores at {head}")
        return
    with click.progressbar(length=len(pending), label=f"migrating to {head}") as bar:
        results = migrations.migrate_all(
            engines,
            parallel=parallel,
            config_overrides=current_app.config["KAMENG_OVERRIDES"],
            slugs=slugs or None,
            on_result=lambda _result: bar.update(1),
        )
    click.echo(f"{'slug':<30} {'from':<14} {'to':<14} result")
    for r in sorted(results, key=lambda r: r.tenant_id):
        click.echo(
            f"{r.slug:<30} {r.from_revision or '-':<14} {r.to_revision or '-':<14} "
            f"{'ok' if r.ok else 'FAILED: ' + r.error}"
        )
    failed = [r for r in results if not r.ok]
    click.echo(f"{len(results) - len(failed)} migrated, {len(failed)} failed")
    if failed:
        raise click.ClickException("some stores failed; fix and run `tenants migrate` again")
