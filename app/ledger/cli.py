"""`flask --app wsgi ledger verify`."""

import click
from flask.cli import AppGroup

from app.ledger.services import verify

ledger_cli = AppGroup("ledger", help="The double-entry ledger.")


@ledger_cli.command("verify")
def verify_command() -> None:
    """Check that every transaction sums to zero and cached balances equal their entries."""
    problems = verify()
    for problem in problems:
        click.echo(f"{problem.what}: {problem.detail}")
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the ledger")
    click.echo("ledger ok: every transaction balances and every balance equals its entries")
