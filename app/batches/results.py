"""A batch's results as a file for its buyer: CSV (UTF-8 with a BOM, for Excel) or XLSX, one
line per row given — the account shown in full (it is the buyer's own data)."""

from __future__ import annotations

import csv
import io

from app.batches.models import ROW_LABELS, Batch
from app.batches.services import result_rows
from app.exports.services import CSV_MIME, XLSX_MIME, safe_cell
from app.i18n import translate
from app.money import to_decimal

HEADER = (
    "row", "sku", "product", "account", "quantity", "unit_price", "amount", "currency",
    "order_no", "status", "message",
)  # fmt: skip
MIMETYPES = {"csv": CSV_MIME, "xlsx": XLSX_MIME}


def row_message(row) -> str:
    return translate(row.error, **(row.error_params or {})) if row.error else ""


def lines(batch: Batch) -> list[list]:
    out = []
    for result in result_rows(batch):
        row = result.row
        name = f"{row.product_name} {row.sku_name}".strip()
        out.append(
            [
                row.row_no,
                safe_cell(row.sku_ref),
                safe_cell(name),
                safe_cell(row.account_text),
                row.quantity,
                str(to_decimal(row.unit_price_cents, batch.currency)),
                str(to_decimal(row.amount_cents, batch.currency)),
                batch.currency,
                row.order_no or "",
                result.outcome,
                safe_cell(translate(ROW_LABELS[result.outcome]) + _with(row_message(row))),
            ]
        )
    return out


def _with(message: str) -> str:
    return f": {message}" if message else ""


def as_csv(batch: Batch) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(lines(batch))
    return "\ufeff".encode() + buffer.getvalue().encode()


def as_xlsx(batch: Batch) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(batch.batch_no)
    sheet.append(list(HEADER))
    for line in lines(batch):
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_name(batch: Batch, file_format: str) -> str:
    return f"batch-{batch.batch_no}.{file_format}"


def render(batch: Batch, file_format: str) -> bytes:
    return as_csv(batch) if file_format == "csv" else as_xlsx(batch)
