"""`flask --app wsgi payments …`: configure providers, list them, refund by hand."""

from __future__ import annotations

import click
from flask.cli import AppGroup

payments_cli = AppGroup("payments", help="Payment providers and refunds.")


@payments_cli.command(
    "configure", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.argument("provider")
@click.option("--enable/--disable", default=None, help="Offer it to stores (or stop).")
@click.pass_context
def configure_command(ctx: click.Context, provider: str, enable: bool | None) -> None:
    """Set PROVIDER's credentials: `payments configure alipay --app-id 2021… --enable`.
    A value starting with @ is read from that file (PEM keys): `--app-private-key @key.pem`."""
    from app.payments.config import ConfigError, configure
    from app.payments.providers import ProviderUnavailable

    values = _pairs(ctx.args)
    try:
        row = configure(provider, values, enabled=enable, actor="cli")
    except (ConfigError, ProviderUnavailable) as error:
        raise click.ClickException(str(error)) from None
    state = "enabled" if row.enabled else "disabled"
    click.echo(f"{provider}: saved {', '.join(sorted(values)) or 'nothing'}; {state}")


def _pairs(args: list[str]) -> dict[str, str]:
    values, it = {}, iter(args)
    for arg in it:
        if not arg.startswith("--"):
            raise click.UsageError(f"expected --key value, got {arg!r}")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            value = next(it, None)
            if value is None:
                raise click.UsageError(f"--{key} needs a value")
        if value.startswith("@"):
            with open(value[1:], encoding="utf-8") as handle:
                value = handle.read()
        values[key.replace("-", "_")] = value
    return values


@payments_cli.command("list")
def list_command() -> None:
    """Every provider, whether it is enabled, and which credentials are set."""
    from app.payments.config import overview

    for entry in overview():
        state = "enabled " if entry["enabled"] else "disabled"
        fields = ", ".join(
            f"{f['field'].name}{'' if f['is_set'] else ' (missing)'}" for f in entry["fields"]
        )
        click.echo(f"{entry['name']:8} {state}  {fields}")


@payments_cli.command("retry-refunds")
def retry_refunds_command() -> None:
    """Try failed refunds again now (the scheduler also does this every 10 minutes)."""
    from workers.jobs.payments import retry_failed_refunds

    click.echo(f"{retry_failed_refunds()} refunds tried")
