"""`flask --app wsgi keys import --sku CODE FILE` and `keys rotate`."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.catalog.models import Sku
from app.crypto import keyring
from app.extensions import db
from app.inventory.models import CardKey
from app.inventory.services import SEPARATOR_CHOICES, InventoryError, import_keys, rotate_keys

keys_cli = AppGroup("keys", help="Card-key inventory.")


@keys_cli.command("import")
@click.option("--sku", "sku_code", required=True, help="The SKU code the keys belong to.")
@click.option(
    "--separator",
    type=click.Choice(sorted(SEPARATOR_CHOICES)),
    default="none",
    show_default=True,
    help="Between card number and password; 'none' = one secret per line.",
)
@click.option("--by", "imported_by", default="cli", help="Recorded on the batch.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_(sku_code: str, separator: str, imported_by: str, path: str) -> None:
    """Import card keys from a text file: added, duplicate and invalid lines are reported."""
    sku = db.session.scalar(select(Sku).where(Sku.code == sku_code))
    if sku is None:
        raise click.ClickException(f"no SKU with code {sku_code!r}")
    size = os.path.getsize(path)
    with open(path, "rb") as handle, click.progressbar(length=size, label="importing") as bar:
        last = [0]

        def progress(_lines: int) -> None:
            position = handle.tell()
            bar.update(position - last[0])
            last[0] = position

        try:
            report = import_keys(
                sku,
                handle,
                separator=SEPARATOR_CHOICES[separator],
                origin="cli",
                filename=os.path.basename(path),
                imported_by=imported_by,
                progress=progress,
            )
        except InventoryError as error:
            raise click.ClickException(error.message % error.params) from None
    click.echo(
        f"batch {report.batch_id}: added {report.added}, duplicates {report.duplicates}, "
        f"invalid {report.invalid}"
    )
    if report.duplicate_lines:
        shown = ", ".join(map(str, report.duplicate_lines[:50]))
        click.echo(f"  duplicate lines: {shown}{' …' if report.duplicates > 50 else ''}")
    for line_no, reason in report.invalid_lines[:50]:
        click.echo(f"  line {line_no}: {reason}")


@keys_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt every key under the current (first) data key."""
    ring = keyring()
    pending = db.session.scalar(
        select(func.count()).select_from(CardKey).where(CardKey.key_id != ring.current_id)
    )
    with click.progressbar(
        length=pending or 0, label=f"re-encrypting under {ring.current_id}"
    ) as bar:
        done = rotate_keys(progress=bar.update)
    click.echo(f"re-encrypted {done} key(s); all keys are under {ring.current_id}")
