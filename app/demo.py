"""Demo data for `make run`: a platform admin and two stores with their owners (idempotent)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.platform.services import ensure_platform_admin
from app.web.urls import platform_url, tenant_url
from tenants import provisioning

demo_cli = AppGroup("demo", help="Demo data for local runs.")

DEMO_PASSWORD = "kameng-demo-1"
DEMO_ADMIN = "admin@example.com"
DEMO_STORES = (
    ("demo", "演示卡盟 Demo Store", "demo@example.com"),
    ("neon", "霓虹游戏 Neon Games", "neon@example.com"),
)


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; returns (what, url, login) lines to print."""
    ensure_platform_admin(DEMO_ADMIN, DEMO_PASSWORD, "Platform Admin")
    lines = [("Platform console", platform_url("/platform/login"), DEMO_ADMIN)]
    lines.append(("Open a store", platform_url("/open"), "-"))
    for slug, name, owner in DEMO_STORES:
        tenant = provisioning.get_tenant(slug)
        if tenant is None:
            ref = provisioning.create_tenant(
                slug=slug, name=name, owner_email=owner, owner_password=DEMO_PASSWORD
            ).tenant
        else:
            ref = provisioning.tenant_ref(tenant)
        lines.append((f"Store {slug}", tenant_url(ref, "/"), "-"))
        lines.append((f"Store {slug} back-office", tenant_url(ref, "/admin"), owner))
    return lines


@demo_cli.command("seed")
def seed() -> None:
    """Create the demo platform admin and stores, and print where to go."""
    lines = seed_demo()
    click.echo("")
    click.echo(f"Kameng demo — every password is {DEMO_PASSWORD}")
    for what, url, login in lines:
        click.echo(f"  {what:<26} {url:<42} {'' if login == '-' else 'login ' + login}")
    click.echo("")
