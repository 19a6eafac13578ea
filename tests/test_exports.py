"""Order exports: CSV and XLSX equal the order list's filter, contacts masked; large exports are
built by a job on the real queue with progress and a download link; files expire; stores only
ever see their own exports."""

import csv
import io
import re
import uuid
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select, update

from app.db import utcnow
from app.exports.models import OrderExport
from app.exports.services import HEADER, export_path, purge_expired
from app.extensions import db
from app.orders.models import Order
from app.orders.services import create_order
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.money import paid_order, with_markup
from tests.test_jobs import wait_for_jobs

APEX = "kameng.test"
OWNER_PASSWORD = "owner-pass-1"


def shop_with_orders(app, make_store, site):
    """A store with 3 paid orders of two products and 2 unpaid ones (phone contacts)."""
    store = with_markup(app, make_store(password=OWNER_PASSWORD))
    first = make_product(app, skus=[(1000, 800)])
    second = make_product(app, skus=[(2500, 2000)])
    for item in (first, second):
        add_keys(app, item["sku_ids"][0], [f"E-{uuid.uuid4().hex}" for _ in range(10)])
    paid_order(app, store, first["sku_ids"][0], quantity=2)
    paid_order(app, store, first["sku_ids"][0])
    paid_order(app, store, second["sku_ids"][0])
    with app.app_context(), tenant_context(store):
        for phone in ("13800138000", "13900139000"):
            create_order(store, sku_id=second["sku_ids"][0], quantity=1, contact_phone=phone)
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    return store, admin, first, second


def run_jobs(app, backend):
    with app.app_context():
        wait_for_jobs(app, backend)


def all_orders(app, store) -> list[Order]:
    with app.app_context(), tenant_context(store):
        orders = db.session.scalars(select(Order)).all()
        for order in orders:
            _ = order.items
        db.session.expunge_all()
        return orders


def expected(app, store, keep) -> dict[str, Order]:
    """The orders a filter should give, chosen here in Python from every order of the store."""
    return {o.order_no: o for o in all_orders(app, store) if keep(o)}


def export(admin, file_format, **filters):
    return admin.submit(
        "/admin/orders", dict(filters, format=file_format), action="/admin/orders/export"
    )


def csv_rows(response) -> list[dict]:
    text = response.get_data().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert tuple(header) == HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


def xlsx_rows(data: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert tuple(rows[0]) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def check_rows(rows, wanted: dict[str, Order]):
    assert sorted(r["order_no"] for r in rows) == sorted(wanted)
    for row in rows:
        order = wanted[row["order_no"]]
        assert row["status"] == order.status
        assert str(row["total"]) == f"{order.total_cents / 100:.2f}"
        assert int(row["quantity"]) == sum(i.quantity for i in order.items)
        if order.contact_email:
            assert row["contact_email"] != order.contact_email
            assert row["contact_email"].endswith("@example.com") and "*" in row["contact_email"]
        if order.contact_phone:
            phone = order.contact_phone
            assert row["contact_phone"] == phone[:3] + "****" + phone[-4:]


def test_small_exports_stream_exactly_the_filtered_orders(app, make_store, site):
    store, admin, first, second = shop_with_orders(app, make_store, site)
    other, other_admin, *_ = shop_with_orders(app, make_store, site)
    cases = [
        ({}, lambda o: True),
        ({"status": "delivered"}, lambda o: o.status == "delivered"),
        ({"status": "pending_payment"}, lambda o: o.status == "pending_payment"),
        (
            {"product": str(first["product_id"])},
            lambda o: any(i.product_id == first["product_id"] for i in o.items),
        ),
        ({"provider": "sandbox"}, lambda o: o.payment_provider == "sandbox"),
        ({"q": "13800138000"}, lambda o: o.contact_phone == "13800138000"),
        ({"from": (utcnow() + timedelta(days=2)).date().isoformat()}, lambda o: False),
    ]
    for filters, keep in cases:
        wanted = expected(app, store, keep)
        as_csv = export(admin, "csv", **filters)
        assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
        assert "attachment" in as_csv.headers["Content-Disposition"]
        check_rows(csv_rows(as_csv), wanted)
        as_xlsx = export(admin, "xlsx", **filters)
        assert as_xlsx.status_code == 200
        check_rows(xlsx_rows(as_xlsx.data), wanted)
    # Full contacts never appear in the file.
    raw = export(admin, "csv").get_data(as_text=True)
    for order in all_orders(app, store):
        if order.contact_email:
            assert order.contact_email not in raw
    assert "13800138000" not in raw
    # The other store's orders are not in this store's export.
    mine = {r["order_no"] for r in csv_rows(export(admin, "csv"))}
    theirs = {r["order_no"] for r in csv_rows(export(other_admin, "csv"))}
    assert mine and theirs and not mine & theirs


def test_an_export_needs_the_form_token_and_a_known_format(app, make_store, site):
    store, admin, *_ = shop_with_orders(app, make_store, site)
    assert admin.post("/admin/orders/export", data={"format": "csv"}).status_code == 400
    assert export(admin, "pdf").status_code == 400


def test_a_large_export_is_built_by_a_job_with_progress_and_expires(app, backend, make_store, site):
    store, admin, first, _ = shop_with_orders(app, make_store, site)
    intruder = site(f"{make_store(password=OWNER_PASSWORD).slug}.{APEX}")
    intruder_store = intruder.host.split(".")[0]
    intruder.login_store(f"owner@{intruder_store}.example.com", OWNER_PASSWORD)
    saved = app.config["EXPORT_SYNC_MAX_ROWS"]
    app.config["EXPORT_SYNC_MAX_ROWS"] = 2
    try:
        queued = export(admin, "xlsx", status="delivered")
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = saved
    assert queued.status_code == 303
    status_path = queued.headers["Location"]
    token = re.search(r"/admin/exports/([0-9a-f]+)$", status_path).group(1)
    page = admin.get(status_path).get_data(as_text=True)
    assert 'id="export-progress"' in page and "export-progress.js" in page
    before = admin.get(f"/admin/exports/{token}.json").get_json()
    assert before["download_url"] is None or before["status"] == "done"

    run_jobs(app, backend)
    state = admin.get(f"/admin/exports/{token}.json").get_json()
    wanted = expected(app, store, lambda o: o.status == "delivered")
    assert state["status"] == "done", state
    assert state["rows_done"] == state["rows_total"] == len(wanted) == 3
    download = admin.get(state["download_url"])
    assert download.status_code == 200
    check_rows(xlsx_rows(download.data), wanted)

    # Another store knows nothing of it.
    for path in (status_path, f"/admin/exports/{token}.json", state["download_url"]):
        assert intruder.get(path).status_code == 404

    # Expired: the purge job deletes the file; the link is gone.
    with app.app_context():
        row = db.session.scalar(select(OrderExport).where(OrderExport.token == token))
        path = export_path(row)
        assert path.is_file()
        db.session.execute(
            update(OrderExport)
            .where(OrderExport.token == token)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        assert purge_expired() >= 1
        assert not path.exists()
    assert admin.get(f"/admin/exports/{token}.json").get_json()["status"] == "expired"
    assert admin.get(state["download_url"]).status_code == 404


def test_a_background_csv_export_equals_its_filter(app, backend, make_store, site):
    store, admin, first, _ = shop_with_orders(app, make_store, site)
    saved = app.config["EXPORT_SYNC_MAX_ROWS"]
    app.config["EXPORT_SYNC_MAX_ROWS"] = 0
    try:
        queued = export(admin, "csv", product=str(first["product_id"]))
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = saved
    token = queued.headers["Location"].rsplit("/", 1)[1]
    run_jobs(app, backend)
    state = admin.get(f"/admin/exports/{token}.json").get_json()
    assert state["status"] == "done"
    wanted = expected(
        app, store, lambda o: any(i.product_id == first["product_id"] for i in o.items)
    )
    check_rows(csv_rows(admin.get(state["download_url"])), wanted)
