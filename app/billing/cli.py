"""`flask --app wsgi billing …`: list plans, assign a plan by hand, run the grace-period check."""

from __future__ import annotations

import click
from flask.cli import AppGroup

billing_cli = AppGroup("billing", help="Plans and store subscriptions.")


@billing_cli.command("plans")
def plans_command() -> None:
    """Every plan with its Stripe prices and entitlements."""
    from app.billing.plans import list_plans

    for plan in list_plans():
        state = "offered" if plan.is_active else "hidden "
        prices = f"{plan.stripe_price_monthly or '-'} / {plan.stripe_price_yearly or '-'}"
        click.echo(f"{plan.code:<12} {state} trial {plan.trial_days:>3}d  {prices}")
        click.echo(f"{'':<12} {plan.entitlements}")


@billing_cli.command("assign")
@click.argument("slug")
@click.argument("plan")
def assign_command(slug: str, plan: str) -> None:
    """Give store SLUG the plan PLAN by hand (refused while it pays through Stripe)."""
    from app.billing.errors import BillingError
    from app.billing.services import assign_plan
    from tenants.provisioning import get_tenant

    tenant = get_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"no store {slug!r}")
    try:
        assign_plan(tenant.id, plan, actor="cli")
    except BillingError as error:
        raise click.ClickException(f"{error.field}: {error.message}") from None
    click.echo(f"{slug}: plan {plan}")


@billing_cli.command("enforce-grace")
def enforce_grace_command() -> None:
    """Move overdue stores past their grace period to Free now (the scheduler does this too)."""
    from app.billing.services import enforce_grace_periods

    click.echo(f"{enforce_grace_periods()} store(s) past their grace period")
