"""`flask --app wsgi catalog import FILE.csv`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.catalog.services import CatalogError, import_catalog_csv

catalog_cli = AppGroup("catalog", help="The shared catalog.")


@catalog_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--publish", is_flag=True, help="Publish the products the file touches.")
def import_(path: str, publish: bool) -> None:
    """Create or update SKUs from a CSV file (columns: see docs/operations.md)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            report = import_catalog_csv(handle, publish=publish)
    except UnicodeDecodeError:
        raise click.ClickException("the file is not UTF-8 text; nothing was imported") from None
    except CatalogError as error:
        raise click.ClickException(error.message % error.params) from None
    click.echo(
        f"created {report.created}, updated {report.updated}, rejected {len(report.rejected)}"
    )
    for line_no, reason in report.rejected:
        click.echo(f"  line {line_no}: {reason}")
