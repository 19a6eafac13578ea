"""Batch top-ups: rows checked up front against the store's catalog at the buyer's prices, a
draft confirmed by its buyer (or by staff for them, or at once over the API), then placed by a
job: every row becomes an order and all of them are paid from the balance in ONE transaction —
the whole batch is charged or nothing is. The fulfilment workers top each order up; a row that
fails is refunded to the balance by the ordinary refund path.

The same functions serve the customer's account, the back-office and the API; they take
explicit arguments and never look at the request."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.audit.services import Actor, record
from app.batches import parsing
from app.batches.models import Batch, BatchRow
from app.catalog.models import Sku
from app.customers import balance
from app.customers.levels import discount_bp_for
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.orders.models import Order
from app.orders.services import OrderError, checked_account_fields, create_order
from app.payments.models import Refund
from app.storefront.catalog import store_catalog
from tenants.context import TenantRef

PLACE_JOB = "workers.jobs.batches.place_batch"
MAX_PLACE_ATTEMPTS = 3
STUCK_AFTER = timedelta(seconds=60)  # queued this long: the placement job is sent again
FINAL_BATCH = frozenset({"done", "failed", "cancelled"})
# What an order's status means for its row.
ROW_OUTCOME = {
    "delivered": "succeeded",
    "partially_refunded": "partial",
    "failed": "failed",
    "refunded": "failed",
}
DONE_OUTCOMES = ("succeeded", "partial", "failed")


class BatchError(ValueError):
    """A refused batch action; `message` is a message id, `params` fill it in."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


def max_rows() -> int:
    return current_app.config["BATCH_MAX_ROWS"]


def max_file_bytes() -> int:
    return current_app.config["BATCH_MAX_FILE_BYTES"]


def _amount(cents: int) -> str:
    return f"{cents / 100:.2f}"


# -- reading and checking rows ---------------------------------------------------------------------


def rows_from_upload(file_name: str, data: bytes) -> list[parsing.RawRow]:
    return parsing.read_upload(file_name, data, max_rows(), max_file_bytes())


def rows_from_text(text: str) -> list[parsing.RawRow]:
    if len((text or "").encode()) > max_file_bytes():
        raise parsing.BatchFileError(
            N_("Keep the file under %(size)s KB."), size=max(1, max_file_bytes() // 1024)
        )
    return parsing.read_pasted(text, max_rows())


@dataclass
class CheckedRow:
    row_no: int
    sku_ref: str
    account_text: str
    quantity: int
    sku_id: int | None = None
    product_name: str = ""
    sku_name: str = ""
    account_fields: dict = field(default_factory=dict)
    unit_price_cents: int = 0
    amount_cents: int = 0
    currency: str = ""
    error_field: str = ""
    error: str = ""
    error_params: dict = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.error


class _RowProblem(ValueError):
    def __init__(self, field_name: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field_name, message, params


def account_values(text: str, schema: list[dict]) -> dict[str, str]:
    """The account column as the product's fields. One field: the text is its value. Several:
    `name=value;name=value` by field name, or the values in the product's order separated by
    `;`. (`name=value` works for one field too.)"""
    names = [f["name"] for f in schema]
    text = (text or "").strip()
    if not names:
        return {}
    parts = [p.strip() for p in text.split(";")] if text else []
    pairs = [p.partition("=") for p in parts]
    if parts and all(sep and key.strip() in names for key, sep, _ in pairs):
        return {key.strip(): value.strip() for key, _, value in pairs}
    if len(names) == 1:
        return {names[0]: text}
    if len(parts) == len(names):
        return dict(zip(names, parts, strict=True))
    raise _RowProblem(
        "account",
        N_("Give the account as %(fields)s, separated by semicolons."),
        fields=";".join(f"{name}=…" for name in names),
    )


def _quantity(text) -> int | None:
    text = str(text).strip()
    return int(text) if text.isdecimal() and len(text) <= 6 else None


def _skus_by_ref(raw_rows: list[parsing.RawRow]) -> tuple[dict[str, Sku], dict[int, Sku]]:
    refs = {row.sku.strip() for row in raw_rows if row.sku.strip()}
    by_code = {
        sku.code: sku for sku in db.session.scalars(select(Sku).where(Sku.code.in_(refs)))
    } if refs else {}  # fmt: skip
    ids = {int(ref) for ref in refs if ref.isdecimal() and len(ref) <= 9}
    by_id = {
        sku.id: sku for sku in db.session.scalars(select(Sku).where(Sku.id.in_(ids)))
    } if ids else {}  # fmt: skip
    return by_code, by_id


def check_rows(store: TenantRef, customer_id: int, raw_rows: list[parsing.RawRow]) -> list:
    """Every row checked as create_order() would, at this customer's prices: the SKU (its code,
    or its id) sold here as a direct top-up, the quantity within its range, the account valid
    for the product's fields. Nothing is written."""
    view = store_catalog(store, discount_bp_for(customer_id))
    by_code, by_id = _skus_by_ref(raw_rows)
    products: dict[int, dict | None] = {}
    checked = []
    for raw in raw_rows:
        row = CheckedRow(
            row_no=raw.row_no,
            sku_ref=raw.sku.strip()[:64],
            account_text=(raw.account or _fields_text(raw.account_fields))[:400],
            quantity=_quantity(raw.quantity) or 0,
        )
        try:
            _check(row, raw, view, by_code, by_id, products)
        except _RowProblem as problem:
            row.error_field, row.error, row.error_params = (
                problem.field, problem.message, problem.params,
            )  # fmt: skip
            row.unit_price_cents = row.amount_cents = 0
        checked.append(row)
    return _one_currency(checked)


def _one_currency(checked: list[CheckedRow]) -> list[CheckedRow]:
    """A batch is one charge in one currency: that of its first valid row."""
    currency = next((row.currency for row in checked if row.is_valid), "")
    for row in checked:
        if row.is_valid and row.currency != currency:
            row.error_field, row.error = "sku", N_("Every row of a batch is in one currency.")
            row.unit_price_cents = row.amount_cents = 0
    return checked


def _fields_text(fields: dict | None) -> str:
    return ";".join(f"{k}={v}" for k, v in (fields or {}).items())


def _check(row: CheckedRow, raw, view, by_code, by_id, products) -> None:
    if raw.problem:
        raise _RowProblem(raw.problem_field or "row", raw.problem, **raw.problem_params)
    if not row.sku_ref:
        raise _RowProblem("sku", N_("Give the SKU (its code or its number)."))
    sku = by_code.get(row.sku_ref) or (
        by_id.get(int(row.sku_ref)) if row.sku_ref.isdecimal() and len(row.sku_ref) <= 9 else None
    )
    if sku is None:
        raise _RowProblem("sku", N_("No SKU %(sku)s in this store."), sku=row.sku_ref)
    if sku.product_id not in products:
        products[sku.product_id] = view.product(sku.product_id)
    product = products[sku.product_id]
    sku_row = next((s for s in (product or {}).get("skus", []) if s["id"] == sku.id), None)
    if product is None or sku_row is None:
        raise _RowProblem("sku", N_("This item is not for sale in this store."))
    row.sku_id, row.product_name, row.sku_name = sku.id, product["title"], sku_row["name"]
    if product["delivery_type"] != "direct_topup":
        raise _RowProblem("sku", N_("Only direct top-up items can be bought in a batch."))
    if sku_row["stock"] == "sold_out":
        raise _RowProblem("sku", N_("This item is not available right now."))
    quantity = _quantity(raw.quantity)
    if quantity is None or not sku_row["min_quantity"] <= quantity <= sku_row["max_quantity"]:
        raise _RowProblem(
            "quantity",
            N_("Choose a quantity from %(low)s to %(high)s."),
            low=sku_row["min_quantity"],
            high=sku_row["max_quantity"],
        )
    schema = product["input_schema"]
    values = raw.account_fields if raw.account_fields is not None else None
    if values is None:
        values = account_values(raw.account, schema)
    try:
        row.account_fields = checked_account_fields(schema, values)
    except OrderError as error:
        raise _RowProblem("account", error.message, **error.params) from None
    row.unit_price_cents = sku_row["price_cents"]
    row.amount_cents = sku_row["price_cents"] * quantity
    row.currency = sku_row["currency"]


# -- drafts, confirmation -------------------------------------------------------------------------


def new_batch_no() -> str:
    """PL, the date, 12 random digits: never guessable, never an order or top-up number."""
    return f"PL{utcnow():%y%m%d}{secrets.randbelow(10**12):012d}"


def save_draft(
    store: TenantRef,
    customer_id: int,
    checked: list[CheckedRow],
    *,
    source: str,
    actor: Actor,
    file_name: str = "",
    created_by: str = "",
) -> Batch:
    """Keep the checked rows as a draft for the buyer to look at and confirm. Commits."""
    valid = [row for row in checked if row.is_valid]
    currency = valid[0].currency if valid else "CNY"
    batch = Batch(
        batch_no=new_batch_no(),
        customer_id=customer_id,
        status="draft",
        source=source,
        file_name=(file_name or "")[:200],
        created_by_kind="api" if source == "api" else actor.kind,
        created_by=(created_by or actor.email)[:254],
        client_ip=(actor.ip or "")[:45],
        currency=currency,
        row_count=len(checked),
        valid_count=len(valid),
        total_cents=sum(row.amount_cents for row in valid),
    )
    for row in checked:
        batch.rows.append(
            BatchRow(
                row_no=row.row_no, sku_ref=row.sku_ref, account_text=row.account_text,
                quantity=row.quantity, sku_id=row.sku_id, product_name=row.product_name[:120],
                sku_name=row.sku_name[:120], account_fields=row.account_fields,
                unit_price_cents=row.unit_price_cents, amount_cents=row.amount_cents,
                error_field=row.error_field, error=row.error, error_params=row.error_params,
            )
        )  # fmt: skip
    db.session.add(batch)
    db.session.commit()
    return batch


def _locked(batch_id: int) -> Batch | None:
    return db.session.scalar(select(Batch).where(Batch.id == batch_id).with_for_update())


def confirm(store: TenantRef, batch: Batch, *, skip_invalid: bool, actor: Actor) -> Batch:
    """The buyer (or staff for them) says go: the placement job is queued. Refused while rows
    are invalid (unless they are to be skipped) or when the balance cannot cover the total.
    Commits."""
    batch = _locked(batch.id)
    if batch is None or batch.status != "draft":
        db.session.rollback()
        raise BatchError(N_("This batch was already confirmed or discarded."))
    invalid = batch.row_count - batch.valid_count
    if invalid and not skip_invalid:
        db.session.rollback()
        raise BatchError(
            N_("%(count)s rows are invalid: fix them, or top up only the valid rows."),
            count=invalid,
        )
    if not batch.valid_count:
        db.session.rollback()
        raise BatchError(N_("No valid rows to top up."))
    spendable = balance.balance_cents(store.id, batch.customer_id, batch.currency)
    if spendable < batch.total_cents:
        db.session.rollback()
        raise BatchError(
            N_("The balance (%(balance)s) does not cover this batch (%(total)s)."),
            balance=_amount(spendable),
            total=_amount(batch.total_cents),
        )
    batch.status, batch.skip_invalid, batch.confirmed_at = "queued", bool(invalid), utcnow()
    record(
        "batch.confirmed",
        actor=actor,
        tenant_id=store.id,
        target=f"customer:{batch.customer_id}",
        after={
            "batch_no": batch.batch_no,
            "rows": batch.valid_count,
            "skipped": invalid,
            "total_cents": batch.total_cents,
        },
    )
    _enqueue_placement(store, batch)
    db.session.commit()
    return batch


def _enqueue_placement(store: TenantRef, batch: Batch, slot: str = "") -> None:
    from workers.queue import enqueue

    enqueue(
        PLACE_JOB,
        batch.id,
        tenant_id=store.id,
        job_key=f"batch:{store.id}:{batch.id}:place{slot}",
        timeout=1800,
    )


def discard(batch: Batch) -> None:
    """Throw a draft away (nothing was charged). Commits."""
    batch = _locked(batch.id)
    if batch is None or batch.status != "draft":
        db.session.rollback()
        raise BatchError(N_("This batch was already confirmed or discarded."))
    batch.status, batch.finished_at = "cancelled", utcnow()
    db.session.commit()


def redrive_if_stuck(store: TenantRef, batch: Batch) -> bool:
    """A confirmed batch whose placement job was lost (a worker killed, Redis emptied) is sent
    again when someone looks at it; the job's key drops it if it is in fact still queued."""
    if batch.status != "queued" or batch.confirmed_at is None:
        return False
    if utcnow() - batch.confirmed_at < STUCK_AFTER:
        return False
    _enqueue_placement(store, batch, slot=f":{utcnow():%Y%m%d%H%M}")
    return True


# -- placement (the job) --------------------------------------------------------------------------


def place(store: TenantRef, batch_id: int) -> str:
    """Create every valid row's order and pay them all from the balance, in one transaction:
    charged whole, or failed with nothing charged (the reason kept on the batch, and on the row
    that was refused). Safe to run twice: only a queued batch is placed."""
    batch = _locked(batch_id)
    if batch is None or batch.status != "queued":
        db.session.rollback()
        return "skipped"
    batch.attempts += 1
    if batch.attempts > MAX_PLACE_ATTEMPTS:
        return _fail(batch_id, N_("The batch could not be placed. Nothing was charged."))
    db.session.commit()  # an attempt that crashes still counts

    batch = _locked(batch_id)
    if batch is None or batch.status != "queued":
        db.session.rollback()
        return "skipped"
    rows = [row for row in batch.rows if row.is_valid]
    held = _held_for_the_transaction(batch, rows)  # noqa: F841  (kept alive on purpose)
    placed = []
    for row in rows:
        try:
            order = create_order(
                store,
                sku_id=row.sku_id,
                quantity=row.quantity,
                customer_id=batch.customer_id,
                client_ip=batch.client_ip,
                account_fields=row.account_fields,
                channel="batch",
                commit=False,
            )
        except OrderError as error:
            db.session.rollback()
            return _fail(
                batch_id,
                N_("Row %(row)s was refused (see its message), so nothing was charged."),
                row_id=row.id,
                refusal=error,
                row=row.row_no,
            )
        placed.append((row, order))
    total = sum(order.total_cents for _, order in placed)
    if total > batch.total_cents:
        db.session.rollback()
        return _fail(
            batch_id,
            N_("Prices went up since the batch was checked (%(checked)s, now %(now)s). "
               "Nothing was charged: check the rows again."),
            checked=_amount(batch.total_cents),
            now=_amount(total),
        )  # fmt: skip
    try:
        balance.pay_orders_with_balance(store, [order for _, order in placed], batch.customer_id)
    except balance.BalanceError as error:
        db.session.rollback()
        spendable = balance.balance_cents(store.id, batch.customer_id, batch.currency)
        if "balance" not in error.params:
            return _fail(batch_id, error.message, **error.params)
        return _fail(
            batch_id,
            N_("The balance (%(balance)s) does not cover this batch (%(total)s)."),
            balance=_amount(spendable),
            total=_amount(total),
        )
    for row, order in placed:
        row.order_no = order.order_no
        row.unit_price_cents, row.amount_cents = order.items[0].unit_price_cents, order.total_cents
    batch.status, batch.charged_cents, batch.placed_at = "processing", total, utcnow()
    db.session.commit()
    return "processing"


def _held_for_the_transaction(batch: Batch, rows: list[BatchRow]) -> list:
    """The rows every order of the batch reads again (the customer, the SKUs, the store's
    settings), held for the transaction: the session's identity map keeps only what is
    referenced, and each re-read would otherwise be a query — a few thousand per batch. The
    batch sees them as they were when it began."""
    from app.customers.models import Customer
    from app.merchant.models import StoreSettings
    from app.merchant.services import SETTINGS_ROW_ID

    return [
        db.session.get(Customer, batch.customer_id),
        db.session.get(StoreSettings, SETTINGS_ROW_ID),
        *(db.session.get(Sku, sku_id) for sku_id in {row.sku_id for row in rows}),
    ]


def _fail(
    batch_id: int,
    message: str,
    *,
    row_id: int | None = None,
    refusal: OrderError | None = None,
    **params,
) -> str:
    """The batch is not placed (nothing was charged); why is kept on it (and on the row)."""
    batch = _locked(batch_id)
    if batch is None or batch.status != "queued":
        db.session.rollback()
        return "skipped"
    if refusal is not None:
        row = db.session.get(BatchRow, row_id)
        row.error_field = "sku" if refusal.field == "sku_id" else refusal.field[:40]
        row.error, row.error_params = refusal.message, dict(refusal.params)
        batch.valid_count -= 1
    batch.status, batch.finished_at = "failed", utcnow()
    batch.error, batch.error_params = message, params
    db.session.commit()
    return "failed"


# -- progress and results -------------------------------------------------------------------------


def find_batch(batch_no: str, customer_id: int | None = None) -> Batch | None:
    """The batch with this number (of this customer, when given): another's is None."""
    batch = db.session.scalar(select(Batch).where(Batch.batch_no == (batch_no or "")[:24]))
    if batch is None or (customer_id is not None and batch.customer_id != customer_id):
        return None
    return batch


def batches_of(customer_id: int | None = None, *, limit: int = 50, before_id: int | None = None):
    """Batches, newest first: one customer's, or the whole store's (customer_id None)."""
    query = select(Batch)
    if customer_id is not None:
        query = query.where(Batch.customer_id == customer_id)
    if before_id is not None:
        query = query.where(Batch.id < before_id)
    return list(db.session.scalars(query.order_by(Batch.id.desc()).limit(limit)))


def row_outcome(batch: Batch, row: BatchRow, order_status: str | None) -> str:
    if batch.status == "draft":
        return "valid" if row.is_valid else "invalid"
    if not row.order_no:
        if not row.is_valid and batch.skip_invalid:
            return "skipped"
        return "pending" if batch.status == "queued" else "not_placed"
    return ROW_OUTCOME.get(order_status or "", "pending")


@dataclass(frozen=True)
class Progress:
    status: str
    rows: int  # rows placed as orders (or to be placed)
    succeeded: int
    partial: int
    failed: int
    pending: int
    charged_cents: int
    refunded_cents: int

    @property
    def done(self) -> int:
        return self.succeeded + self.partial + self.failed

    def as_dict(self) -> dict:
        return {
            "status": self.status, "rows": self.rows, "done": self.done,
            "succeeded": self.succeeded, "partial": self.partial, "failed": self.failed,
            "pending": self.pending, "charged_cents": self.charged_cents,
            "refunded_cents": self.refunded_cents,
        }  # fmt: skip


def _order_nos(batch: Batch):
    return select(BatchRow.order_no).where(
        BatchRow.batch_id == batch.id, BatchRow.order_no.is_not(None)
    )


def progress(batch: Batch) -> Progress:
    """How far the batch has come, from its orders' statuses; a processing batch whose orders
    are all final is recorded as done here (the first look after the last top-up)."""
    counts: Counter = Counter()
    if batch.status in ("processing", "done"):
        statuses = db.session.execute(
            select(Order.status, func.count())
            .join(BatchRow, BatchRow.order_no == Order.order_no)
            .where(BatchRow.batch_id == batch.id)
            .group_by(Order.status)
        ).all()
        for status, count in statuses:
            counts[ROW_OUTCOME.get(status, "pending")] += count
    refunded = 0
    if counts["failed"] or counts["partial"] or batch.status == "done":
        refunded = int(
            db.session.scalar(
                select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                    Refund.order_no.in_(_order_nos(batch)), Refund.status == "succeeded"
                )
            )
        )
    rows = batch.valid_count if batch.status in ("queued", "draft") else sum(counts.values())
    if batch.status in ("queued", "draft"):
        counts["pending"] = rows
    if batch.status == "processing" and not counts["pending"]:
        finished = db.session.execute(
            update(Batch)
            .where(Batch.id == batch.id, Batch.status == "processing")
            .values(status="done", finished_at=utcnow())
        )
        db.session.commit()
        if finished.rowcount:
            db.session.refresh(batch)
    return Progress(
        status=batch.status,
        rows=rows,
        succeeded=counts["succeeded"],
        partial=counts["partial"],
        failed=counts["failed"],
        pending=counts["pending"],
        charged_cents=batch.charged_cents,
        refunded_cents=refunded,
    )


@dataclass(frozen=True)
class ResultRow:
    row: BatchRow
    outcome: str
    order_status: str | None


def result_rows(batch: Batch) -> list[ResultRow]:
    """Every row of the batch with what became of it."""
    statuses = dict(
        db.session.execute(
            select(Order.order_no, Order.status)
            .join(BatchRow, BatchRow.order_no == Order.order_no)
            .where(BatchRow.batch_id == batch.id)
        ).all()
    )
    return [
        ResultRow(
            row, row_outcome(batch, row, statuses.get(row.order_no)), statuses.get(row.order_no)
        )
        for row in batch.rows
    ]
