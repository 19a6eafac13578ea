"""Rows of a batch from what a buyer gives: pasted lines, a CSV (or tab-separated) file, an XLSX
workbook. Each row is `SKU, account, quantity` (quantity optional, 1); a first row that names the
columns is skipped. Nothing here knows the catalog: app.batches.services checks the rows.

A file is refused whole (BatchFileError) only when it cannot be read or is too large; a line
that is merely wrong becomes a row with its problem, reported with the others."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath

from app.i18n import N_

HEADER_FIRST = frozenset(
    {"sku", "sku_id", "sku id", "sku code", "code", "商品", "商品编码", "规格", "规格编码", "编码"}
)
HEADER_THIRD = frozenset({"quantity", "qty", "数量"})
# An XLSX is a zip: refuse one whose content unpacks to more than this (a "zip bomb").
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_CELL = 400
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


class BatchFileError(ValueError):
    """The whole input is refused; `message` is a message id, `params` fill it in."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class RawRow:
    """One row as given. `account_fields` comes only from the API (fields by name); a file or
    pasted line gives `account` as text. `problem` names what is wrong with the line itself."""

    row_no: int
    sku: str
    account: str = ""
    quantity: str = "1"
    account_fields: dict | None = None
    problem: str = ""
    problem_field: str = ""
    problem_params: dict = field(default_factory=dict)

    def __post_init__(self):
        # Control characters (a NUL cannot even be stored in PostgreSQL) are never meant.
        for name in ("sku", "account", "quantity"):
            object.__setattr__(self, name, without_controls(str(getattr(self, name))))
        if self.account_fields is not None:
            cleaned = {
                without_controls(str(k)): without_controls(str(v))
                for k, v in self.account_fields.items()
            }
            object.__setattr__(self, "account_fields", cleaned)


_CONTROLS = dict.fromkeys(range(32)) | {127: None}


def without_controls(text: str) -> str:
    return text.translate(_CONTROLS)


def _cells_to_row(row_no: int, cells: list[str]) -> RawRow:
    cells = [c.strip()[:MAX_CELL] for c in cells]
    while cells and not cells[-1]:
        cells.pop()
    sku = cells[0] if cells else ""
    account = cells[1] if len(cells) > 1 else ""
    quantity = cells[2] if len(cells) > 2 and cells[2] else "1"
    if len(cells) > 3:
        return RawRow(
            row_no, sku, account, quantity,
            problem=N_("Give three columns: SKU, account, quantity (found %(count)s)."),
            problem_field="row", problem_params={"count": len(cells)},
        )  # fmt: skip
    return RawRow(row_no, sku, account, quantity)


def _is_header(cells: list[str]) -> bool:
    first = cells[0].strip().lower() if cells else ""
    third = cells[2].strip().lower() if len(cells) > 2 else ""
    return first in HEADER_FIRST or third in HEADER_THIRD


def _rows(numbered_cells, max_rows: int) -> list[RawRow]:
    """Rows from (row number, cells) pairs: blank lines and `#` comments skipped, a header
    allowed as the first row, at most `max_rows` rows."""
    rows: list[RawRow] = []
    for row_no, cells in numbered_cells:
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if not rows and _is_header(cells):
            rows.append(None)  # the header: no row, but the first row is behind us
            continue
        rows.append(_cells_to_row(row_no, cells))
        if len(rows) - (rows[0] is None) > max_rows:
            raise BatchFileError(N_("A batch has at most %(max)s rows."), max=max_rows)
    rows = [row for row in rows if row is not None]
    if not rows:
        raise BatchFileError(N_("No rows found. Give one SKU, account, quantity per line."))
    return rows


def _split_line(line: str) -> list[str]:
    """A pasted line: tab-separated (copied from a spreadsheet), else comma-separated (quotes
    allowed), a full-width comma counting as a comma."""
    if "\t" in line:
        return line.split("\t")
    if "," not in line and "，" in line:
        line = line.replace("，", ",")
    return next(csv.reader([line]), [])


def read_pasted(text: str, max_rows: int) -> list[RawRow]:
    lines = (text or "").splitlines()
    return _rows(((n, _split_line(line)) for n, line in enumerate(lines, start=1)), max_rows)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB18030: what Excel in Chinese saves CSV as."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise BatchFileError(N_("The file is not UTF-8 or GBK text.")) from None


def read_csv(data: bytes, max_rows: int) -> list[RawRow]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _rows(((reader.line_num, cells) for cells in reader), max_rows)
    except csv.Error:
        raise BatchFileError(N_("The file is not valid CSV.")) from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into Excel arrives as 13800138000.0
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def read_xlsx(data: bytes, max_rows: int) -> list[RawRow]:
    """The first sheet of the workbook, read in openpyxl's read-only mode."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise BatchFileError(N_("The file is not a readable XLSX workbook.")) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise BatchFileError(N_("The workbook is too large."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise BatchFileError(N_("The file is not a readable XLSX workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        numbered = (
            (n, [_cell_text(v) for v in values])
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        return _rows(numbered, max_rows)
    finally:
        workbook.close()


def read_upload(file_name: str, data: bytes, max_rows: int, max_bytes: int) -> list[RawRow]:
    """An uploaded file, by its extension: .xlsx, or .csv / .txt / .tsv."""
    if len(data) > max_bytes:
        raise BatchFileError(N_("Keep the file under %(size)s KB."), size=max(1, max_bytes // 1024))
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(data, max_rows)
    if suffix in TEXT_SUFFIXES:
        return read_csv(data, max_rows)
    raise BatchFileError(N_("Upload an XLSX or CSV file (an old .xls: save it as XLSX first)."))
