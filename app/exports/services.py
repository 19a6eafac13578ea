"""Order exports: the store's order list, as filtered on its page, written as CSV or XLSX.

Small results stream straight to the browser; above EXPORT_SYNC_MAX_ROWS a job writes the file
to the instance folder (`exports/<store>/<token>.<format>`) with its progress recorded, and a
periodic job deletes files past their expiry. Contacts are masked (app.masking):
an export is for bookkeeping, not for contacting customers.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.audit.services import Actor, record
from app.db import utcnow
from app.exports.models import EXPORT_FORMATS, OrderExport
from app.extensions import db
from app.masking import mask_email, mask_phone
from app.money import to_decimal
from app.orders.models import Order
from app.orders.queries import OrderFilter, filtered

HEADER = (
    "order_no", "status", "created_at", "paid_at", "total", "currency", "payment_provider",
    "payment_no", "contact_email", "contact_phone", "items", "quantity",
)  # fmt: skip
BATCH = 500
CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    pass


def safe_cell(value: str) -> str:
    """Spreadsheets run cells that start like a formula: make them plain text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def order_row(order: Order, zone: ZoneInfo) -> list:
    def when(at):
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if at else ""

    items = "; ".join(
        f"{item.product_name} {item.sku_name} x{item.quantity}" for item in order.items
    )
    return [
        order.order_no,
        order.status,
        when(order.created_at),
        when(order.paid_at),
        str(to_decimal(order.total_cents, order.currency)),
        order.currency,
        order.payment_provider,
        order.payment_no or "",
        mask_email(order.contact_email),
        mask_phone(order.contact_phone),
        safe_cell(items),
        sum(item.quantity for item in order.items),
    ]


def count_orders(criteria: OrderFilter, timezone: str) -> int:
    statement = filtered(criteria, timezone)
    return int(db.session.scalar(select(func.count()).select_from(statement.subquery())))


def order_rows(criteria: OrderFilter, timezone: str, batch: int = BATCH) -> Iterator[list]:
    """Rows of the matching orders, newest first, read in batches (keyset on id)."""
    zone = ZoneInfo(timezone)
    last_id = None
    while True:
        statement = filtered(criteria, timezone).options(selectinload(Order.items))
        if last_id is not None:
            statement = statement.where(Order.id < last_id)
        orders = db.session.scalars(statement.order_by(Order.id.desc()).limit(batch)).all()
        if not orders:
            return
        for order in orders:
            yield order_row(order, zone)
        last_id = orders[-1].id
        db.session.expunge_all()  # keep memory flat on large exports


def csv_chunks(rows: Iterator[list]) -> Iterator[bytes]:
    """CSV for spreadsheets: UTF-8 with a BOM (so Excel reads Chinese), one chunk per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def write_xlsx(rows: Iterator[list], target) -> None:
    """An XLSX workbook written in openpyxl's write-only mode (constant memory)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("orders")
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(row)
    workbook.save(target)


def file_name(store_slug: str, file_format: str) -> str:
    return f"orders-{store_slug}-{utcnow().strftime('%Y%m%d-%H%M%S')}.{file_format}"


def record_download(tenant_id: int, actor: Actor, criteria: OrderFilter, file_format: str, rows):
    record(
        "orders.exported", actor=actor, tenant_id=tenant_id, target=f"store:{tenant_id}",
        after={"format": file_format, "filter": criteria.as_args(), "rows": rows},
    )  # fmt: skip


# -- background exports ---------------------------------------------------------------------------


def export_folder(tenant_id: int) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "exports" / str(tenant_id)


def export_path(export: OrderExport) -> Path:
    return export_folder(export.tenant_id) / f"{export.token}.{export.file_format}"


def request_export(
    tenant_id: int, criteria: OrderFilter, file_format: str, *, actor: Actor
) -> OrderExport:
    """Queue a background export of `criteria`; the job starts after this commits."""
    from workers.queue import enqueue

    if file_format not in EXPORT_FORMATS:
        raise ExportError(file_format)
    export = OrderExport(
        tenant_id=tenant_id,
        token=secrets.token_hex(16),
        requested_by=actor.email,
        file_format=file_format,
        criteria=criteria.as_args(),
        status="queued",
        expires_at=utcnow() + timedelta(hours=current_app.config["EXPORT_TTL_HOURS"]),
    )
    db.session.add(export)
    db.session.flush()
    record(
        "orders.export_requested", actor=actor, tenant_id=tenant_id, target=f"export:{export.id}",
        after={"format": file_format, "filter": export.criteria},
    )  # fmt: skip
    enqueue(
        "workers.jobs.exports.build_order_export",
        export.id,
        tenant_id=tenant_id,
        job_key=f"order-export:{export.id}",
        timeout=3600,
    )
    db.session.commit()
    return export


def find_export(tenant_id: int, token: str) -> OrderExport | None:
    return db.session.scalar(
        select(OrderExport).where(OrderExport.token == token, OrderExport.tenant_id == tenant_id)
    )


def build_export(tenant_id: int, export_id: int) -> OrderExport | None:
    """Write the export's file (bound to its store), recording progress after every batch.
    Safe to run twice: a finished export is left alone; an interrupted one starts over."""
    export = db.session.scalar(
        select(OrderExport)
        .where(OrderExport.id == export_id, OrderExport.tenant_id == tenant_id)
        .with_for_update()
    )
    if export is None or export.status in ("done", "expired"):
        db.session.rollback()
        return export
    criteria = OrderFilter.from_args(_Args(export.criteria))
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    export.status, export.rows_done = "running", 0
    export.rows_total = count_orders(criteria, timezone)
    db.session.commit()
    target = export_path(export)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    progress = _Progress(export_id, export.rows_total)
    try:
        rows = progress.counting(order_rows(criteria, timezone))
        if export.file_format == "csv":
            with partial.open("wb") as out:
                for chunk in csv_chunks(rows):
                    out.write(chunk)
        else:
            write_xlsx(rows, str(partial))
        partial.replace(target)
    except Exception as error:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        failed = db.session.get(OrderExport, export_id)
        failed.status, failed.error = "failed", str(error)[:2000]
        db.session.commit()
        raise
    done = db.session.get(OrderExport, export_id)
    done.status, done.rows_done = "done", progress.done
    done.file_name = file_name(_slug(tenant_id), done.file_format)
    done.finished_at = utcnow()
    db.session.commit()
    return done


class _Args(dict):
    """OrderFilter.from_args reads a request's args; a stored filter dict reads the same way."""

    def get(self, key, default=None, type=None):  # noqa: A002  (werkzeug's MultiDict signature)
        value = super().get(key, default)
        if type is not None and value not in (None, ""):
            try:
                return type(value)
            except (TypeError, ValueError):
                return default
        return value


class _Progress:
    """Counts rows as they are written and stores the count every BATCH rows."""

    def __init__(self, export_id: int, total: int):
        self.export_id = export_id
        self.total = total
        self.done = 0

    def counting(self, rows: Iterator[list]) -> Iterator[list]:
        for row in rows:
            yield row
            self.done += 1
            if self.done % BATCH == 0:
                self._save()

    def _save(self) -> None:
        from sqlalchemy import update

        db.session.execute(
            update(OrderExport).where(OrderExport.id == self.export_id).values(rows_done=self.done)
        )
        db.session.commit()


def _slug(tenant_id: int) -> str:
    from tenants.models import Tenant

    return db.session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id)) or str(tenant_id)


def purge_expired(now=None) -> int:
    """Delete the files of exports past their expiry (periodic); the rows stay, marked expired."""
    now = now or utcnow()
    expired = db.session.scalars(
        select(OrderExport).where(OrderExport.expires_at < now, OrderExport.status != "expired")
    ).all()
    for export in expired:
        export_path(export).unlink(missing_ok=True)
        export_path(export).with_suffix(f".{export.file_format}.part").unlink(missing_ok=True)
        export.status = "expired"
    db.session.commit()
    return len(expired)
