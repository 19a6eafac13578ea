"""What the API does for a customer, in the same services the storefront uses: the store's
catalog at the customer's prices, their balance, orders paid from the balance, their orders
with the delivered keys. Free of Flask request state; the views turn errors into problems."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.api.problems import ApiProblem
from app.customers import balance
from app.customers.levels import discount_bp_for
from app.customers.models import Customer
from app.extensions import db
from app.fulfilment.models import Topup
from app.i18n import translate
from app.inventory.models import KeyAccessLog
from app.orders.models import Order
from app.orders.services import OrderError, cancel_order, create_order, manual_delivery
from app.payments.services import delivered_keys
from app.storefront.catalog import store_catalog
from tenants.context import TenantRef

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
MAX_PAGE = 100
DEFAULT_PAGE = 20
KEYS_SHOWN_IN = ("delivered", "partially_refunded")


def _timestamp(moment) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# -- catalog and balance --------------------------------------------------------------------------


def _sku_view(sku: dict) -> dict:
    return {
        "id": sku["id"],
        "code": sku["code"],
        "name": sku["name"],
        "price_cents": sku["price_cents"],
        "currency": sku["currency"],
        "face_value_cents": sku["face_value_cents"],
        "min_quantity": sku["min_quantity"],
        "max_quantity": sku["max_quantity"],
        "stock": sku["stock"],
        "available": sku["available"],
    }


def _product_view(product: dict) -> dict:
    return {
        "id": product["id"],
        "title": product["title"],
        "category_id": product["category_id"],
        "category_name": product["category_name"],
        "delivery_type": product["delivery_type"],
        "stock": product["stock"],
        "account_fields": [
            {
                "name": field["name"],
                "label": field["label"],
                "required": bool(field.get("required", True)),
                "example": field.get("example", ""),
            }
            for field in product["input_schema"]
        ],
        "skus": [_sku_view(sku) for sku in product["skus"]],
    }


def products(store: TenantRef, customer: Customer) -> list[dict]:
    """Every product the store shows, with the SKUs at this customer's prices (level included)."""
    view = store_catalog(store, discount_bp_for(customer.id))
    found = (view.product(card["id"]) for card in view.products())
    return [_product_view(product) for product in found if product is not None]


def product(store: TenantRef, customer: Customer, product_id: int) -> dict:
    found = store_catalog(store, discount_bp_for(customer.id)).product(product_id)
    if found is None:
        raise ApiProblem("not-found", f"No product {product_id} in this store.")
    return _product_view(found)


def balance_view(store: TenantRef, customer: Customer, currency: str = "CNY") -> dict:
    return {
        "balance_cents": balance.balance_cents(store.id, customer.id, currency),
        "currency": currency,
    }


# -- orders ----------------------------------------------------------------------------------------


REFERENCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")


@dataclass(frozen=True)
class OrderRequest:
    sku_id: int
    quantity: int
    account_fields: dict[str, str]
    reference: str | None = None


def reference_is_wellformed(reference) -> bool:
    return (
        isinstance(reference, str)
        and 1 <= len(reference) <= 64
        and set(reference) <= REFERENCE_CHARS
    )


def parse_order_request(payload) -> OrderRequest:
    """The JSON body of POST /orders, with every mistake named."""
    errors = []
    if not isinstance(payload, dict):
        raise ApiProblem("invalid-request", "Send a JSON object.")
    sku_id, quantity = payload.get("sku_id"), payload.get("quantity", 1)
    fields = payload.get("account_fields", {})
    if not isinstance(sku_id, int) or isinstance(sku_id, bool) or not 1 <= sku_id <= MAX_ID:
        errors.append({"field": "sku_id", "message": f"an integer from 1 to {MAX_ID}"})
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 10_000:
        errors.append({"field": "quantity", "message": "an integer from 1 to 10000"})
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= 200 and v.isprintable()
        for k, v in fields.items()
    ):
        errors.append({"field": "account_fields", "message": "an object of strings"})
    reference = payload.get("reference")
    if reference is not None and not reference_is_wellformed(reference):
        errors.append({"field": "reference", "message": "1–64 of A–Z a–z 0–9 - _ . :"})
    unknown = set(payload) - {"sku_id", "quantity", "account_fields", "reference"}
    errors += [{"field": name, "message": "unknown field"} for name in sorted(unknown)]
    if errors:
        raise ApiProblem("invalid-request", "Check the fields listed in errors.", errors=errors)
    return OrderRequest(
        sku_id=sku_id, quantity=quantity, account_fields=fields, reference=reference
    )


def by_reference(customer: Customer, reference: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.customer_id == customer.id, Order.client_reference == reference)
    )


def place_order(
    store: TenantRef, customer: Customer, wanted: OrderRequest, *, client_ip: str
) -> tuple[Order, bool]:
    """Open the order and pay it from the customer's balance; returns it and whether it is new.
    An order the balance cannot pay is cancelled at once (its keys go back); nothing is charged.
    An order with the `reference` of an earlier one of this customer's is that order, whatever
    became of it: the reference is never bought twice."""
    if wanted.reference is not None:
        earlier = by_reference(customer, wanted.reference)
        if earlier is not None:
            return earlier, False
    try:
        order = create_order(
            store,
            sku_id=wanted.sku_id,
            quantity=wanted.quantity,
            customer_id=customer.id,
            client_ip=client_ip,
            account_fields=wanted.account_fields,
            channel="api",
            client_reference=wanted.reference,
        )
    except IntegrityError:  # the same reference, placed a moment ago by a concurrent request
        earlier = by_reference(customer, wanted.reference) if wanted.reference else None
        if earlier is None:
            raise
        return earlier, False
    except OrderError as error:
        detail = translate(error.message, **error.params)
        raise ApiProblem(
            "invalid-request", detail, errors=[{"field": error.field, "message": detail}]
        ) from None
    order_no = order.order_no
    try:
        balance.pay_with_balance(store, order_no, customer.id)
    except balance.BalanceError as error:
        unpaid = db.session.scalar(
            select(Order).where(Order.order_no == order_no).with_for_update()
        )
        if unpaid is not None and unpaid.status == "pending_payment":
            cancel_order(store, unpaid, actor=f"api:{customer.id}", note="balance too low")
            db.session.commit()
        raise ApiProblem(
            "insufficient-balance",
            translate(error.message, **error.params),
            balance_cents=balance.balance_cents(store.id, customer.id, order.currency),
            order_total_cents=order.total_cents,
        ) from None
    return db.session.scalar(select(Order).where(Order.order_no == order_no)), True


def own_order(customer: Customer, order_no: str) -> Order:
    """The customer's order, or 404 (another's order is as absent as a made-up number)."""
    order = db.session.scalar(select(Order).where(Order.order_no == order_no[:32]))
    if order is None or order.customer_id != customer.id:
        raise ApiProblem("not-found", "No such order.")
    return order


def order_view(store: TenantRef, order: Order, *, reveal_for: str | None = None) -> dict:
    """The order as its buyer sees it. With `reveal_for` (who asks, for the access log), the
    delivered card keys and manual deliveries are included."""
    keys = []
    if reveal_for and order.status in KEYS_SHOWN_IN:
        keys = delivered_keys(store, order)
        if keys:
            db.session.add(
                KeyAccessLog(
                    actor=reveal_for,
                    action="reveal",
                    key_count=len(keys),
                    detail=f"order {store.id}:{order.order_no}",
                )
            )
            db.session.commit()
    topups = {
        t.order_item_id: t
        for t in db.session.scalars(select(Topup).where(Topup.order_no == order.order_no))
    }
    items, pending_keys = [], list(keys)
    for item in order.items:
        line = {
            "sku_id": item.sku_id,
            "product_id": item.product_id,
            "product_name": item.product_name,
            "sku_name": item.sku_name,
            "delivery_type": item.delivery_type,
            "quantity": item.quantity,
            "unit_price_cents": item.unit_price_cents,
        }
        if item.delivery_type == "card_key":
            mine, pending_keys = pending_keys[: item.quantity], pending_keys[item.quantity :]
            line["keys"] = [{"card_no": number, "secret": secret} for number, secret in mine]
        if item.delivery_type == "direct_topup":
            topup = topups.get(item.id)
            line["topup"] = {
                "status": topup.status if topup else "pending",
                "delivered_quantity": topup.delivered_quantity if topup else 0,
            }
        if reveal_for and item.manual_delivery_sealed and order.status in KEYS_SHOWN_IN:
            line["delivery"] = manual_delivery(store, item)
        items.append(line)
    return {
        "order_no": order.order_no,
        "reference": order.client_reference,
        "status": order.status,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "created_at": _timestamp(order.created_at),
        "paid_at": _timestamp(order.paid_at),
        "delivered_at": _timestamp(order.delivered_at),
        "items": items,
    }


def _cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(f"o:{order_id}".encode()).decode().rstrip("=")


def _after(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "o" or not value.isdecimal():
            raise ValueError
        return int(value)
    except ValueError:
        raise ApiProblem(
            "invalid-request",
            "cursor is not one we gave out.",
            errors=[{"field": "cursor", "message": "invalid"}],
        ) from None


def list_orders(
    customer: Customer, *, cursor: str = "", limit: int = DEFAULT_PAGE, reference: str = ""
) -> dict:
    """The customer's orders, newest first, a page at a time. The cursor is the last order's id,
    so orders placed meanwhile never shift or repeat a page. `reference` finds one order."""
    query = select(Order).where(Order.customer_id == customer.id)
    if reference:
        query = query.where(Order.client_reference == reference[:64])
    if cursor:
        query = query.where(Order.id < _after(cursor))
    rows = db.session.scalars(query.order_by(Order.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return {
        "orders": page,
        "next_cursor": _cursor(page[-1].id) if len(rows) > limit else None,
    }


def cancel_unpaid(store: TenantRef, customer: Customer, order_no: str) -> Order:
    order = own_order(customer, order_no)
    order = db.session.scalar(select(Order).where(Order.id == order.id).with_for_update())
    if order.status != "pending_payment":
        db.session.rollback()
        raise ApiProblem(
            "order-not-cancellable", f"The order is {order.status}.", status_now=order.status
        )
    cancel_order(store, order, actor=f"api:{customer.id}", note="cancelled over the API")
    db.session.commit()
    return order


# -- batches ---------------------------------------------------------------------------------------

BATCH_FIELDS = frozenset({"sku", "account", "account_fields", "quantity"})


def parse_batch_request(payload, max_rows: int) -> tuple[list, bool]:
    """The JSON body of POST /batches: (rows as app.batches reads them, skip_invalid). A row
    whose fields have the wrong types becomes a row with that problem (named with the others)."""
    from app.batches.parsing import RawRow

    if not isinstance(payload, dict):
        raise ApiProblem("invalid-request", "Send a JSON object.")
    rows, skip_invalid = payload.get("rows"), payload.get("skip_invalid", False)
    errors = []
    if not isinstance(rows, list) or not 1 <= len(rows) <= max_rows:
        errors.append({"field": "rows", "message": f"a list of 1 to {max_rows} rows"})
    if not isinstance(skip_invalid, bool):
        errors.append({"field": "skip_invalid", "message": "true or false"})
    unknown = set(payload) - {"rows", "skip_invalid"}
    errors += [{"field": name, "message": "unknown field"} for name in sorted(unknown)]
    if errors:
        raise ApiProblem("invalid-request", "Check the fields listed in errors.", errors=errors)
    parsed = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            parsed.append(RawRow(number, "", problem="a row is an object", problem_field="row"))
            continue
        sku, quantity = row.get("sku"), row.get("quantity", 1)
        account, fields = row.get("account", ""), row.get("account_fields")
        problem = ""
        if isinstance(sku, bool) or not isinstance(sku, str | int):
            problem, where = "sku is a SKU code (string) or id (integer)", "sku"
        elif isinstance(quantity, bool) or not isinstance(quantity, int):
            problem, where = "quantity is an integer", "quantity"
        elif not isinstance(account, str) or len(account) > 400:
            problem, where = "account is a string", "account"
        elif fields is not None and not (
            isinstance(fields, dict)
            and all(isinstance(k, str) and isinstance(v, str) and len(v) <= 200
                    for k, v in fields.items())
        ):  # fmt: skip
            problem, where = "account_fields is an object of strings", "account_fields"
        elif set(row) - BATCH_FIELDS:
            problem, where = f"unknown field {sorted(set(row) - BATCH_FIELDS)[0]}", "row"
        if problem:
            parsed.append(RawRow(number, str(sku or ""), problem=problem, problem_field=where))
            continue
        parsed.append(
            RawRow(number, str(sku), account=account, quantity=str(quantity), account_fields=fields)
        )
    return parsed, skip_invalid


def _row_error(row) -> dict:
    return {
        "row": row.row_no,
        "field": row.error_field,
        "message": translate(row.error, **(row.error_params or {})),
    }


def submit_batch(store: TenantRef, caller, raw_rows: list, *, skip_invalid: bool, client_ip: str):
    """Check the rows and, when they may go, confirm the batch at once (the placement job
    charges the balance). Invalid rows: 422 naming each row, nothing kept (unless skipped)."""
    from app.audit.services import Actor
    from app.batches import services as batches

    customer = caller.customer
    checked = batches.check_rows(store, customer.id, raw_rows)
    invalid = [row for row in checked if not row.is_valid]
    if invalid and (not skip_invalid or len(invalid) == len(checked)):
        raise ApiProblem(
            "invalid-request",
            f"{len(invalid)} of {len(checked)} rows are invalid; nothing was charged.",
            errors=[_row_error(row) for row in invalid],
        )
    actor = Actor("customer", customer.id, customer.email, client_ip)
    batch = batches.save_draft(
        store, customer.id, checked, source="api", actor=actor, created_by=caller.key.key_id
    )
    try:
        return batches.confirm(store, batch, skip_invalid=skip_invalid, actor=actor)
    except batches.BatchError as error:
        batches.discard(batch)
        detail = translate(error.message, **error.params)
        if "balance" in error.params:
            raise ApiProblem(
                "insufficient-balance",
                detail,
                balance_cents=balance.balance_cents(store.id, customer.id, batch.currency),
                order_total_cents=batch.total_cents,
            ) from None
        raise ApiProblem("invalid-request", detail) from None


def own_batch(customer: Customer, batch_no: str):
    from app.batches.services import find_batch

    batch = find_batch(batch_no, customer.id)
    if batch is None:
        raise ApiProblem("not-found", "No such batch.")
    return batch


def batch_view(store: TenantRef, batch) -> dict:
    """A batch with its progress and every row's outcome (the same figures as the pages)."""
    from app.batches import services as batches

    batches.redrive_if_stuck(store, batch)
    progress = batches.progress(batch)
    rows = [
        {
            "row": result.row.row_no,
            "sku": result.row.sku_ref,
            "sku_id": result.row.sku_id,
            "account_fields": dict(result.row.account_fields or {}),
            "quantity": result.row.quantity,
            "unit_price_cents": result.row.unit_price_cents,
            "amount_cents": result.row.amount_cents,
            "order_no": result.row.order_no,
            "status": result.outcome,
            "message": translate(result.row.error, **(result.row.error_params or {}))
            if result.row.error
            else "",
        }
        for result in batches.result_rows(batch)
    ]
    return {
        "batch_no": batch.batch_no,
        "status": batch.status,
        "currency": batch.currency,
        "total_cents": batch.total_cents,
        "charged_cents": batch.charged_cents,
        "refunded_cents": progress.refunded_cents,
        "created_at": _timestamp(batch.created_at),
        "placed_at": _timestamp(batch.placed_at),
        "finished_at": _timestamp(batch.finished_at),
        "error": translate(batch.error, **(batch.error_params or {})) if batch.error else None,
        "progress": {
            "rows": progress.rows,
            "done": progress.done,
            "succeeded": progress.succeeded,
            "partial": progress.partial,
            "failed": progress.failed,
            "pending": progress.pending,
        },
        "rows": rows,
    }
