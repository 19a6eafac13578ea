"""Batch top-up (批量充值): rows from pasted lines, CSV and XLSX checked up front with an error per
row; the whole batch paid from the balance as one charge or not at all (also under concurrent
batches); topped up by the workers through a real supplier, a failed row refunded to the
balance; live progress, results files, the customer's pages, the back-office and the API."""

from __future__ import annotations

import csv
import io
import threading
import uuid

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.services import Actor
from app.batches import parsing, services
from app.batches.models import Batch
from app.extensions import db
from app.ledger.services import verify
from app.orders.models import Order
from app.suppliers.services import save_offer
from tenants.context import tenant_context
from tests.support.api import APEX, api_caller, api_store
from tests.support.catalog import make_product
from tests.support.customer_money import (
    PASSWORD,
    balance_of,
    customer_email,
    new_customer,
    topped_up,
)
from tests.support.money import card_sku, with_markup
from tests.support.staff import staff_client
from tests.support.topups import PHONE, simulated_supplier, topup_product
from tests.test_jobs import wait_for_jobs

GAME = [
    *PHONE,
    {"name": "server", "label": "区服", "regex": "^[0-9]{1,4}$", "example": "12"},
]


def drain(app, backend, rounds: int = 2):
    """Run the jobs until none is left: placement, top-ups, then refunds of failed rows."""
    with app.app_context():
        for _ in range(rounds):
            wait_for_jobs(app, backend)


def customer_actor(customer_id: int) -> Actor:
    return Actor("customer", customer_id, "buyer@example.com", "127.0.0.1")


def draft(app, store, customer_id, text: str) -> str:
    with app.app_context(), tenant_context(store):
        checked = services.check_rows(store, customer_id, services.rows_from_text(text))
        batch = services.save_draft(
            store, customer_id, checked, source="paste", actor=customer_actor(customer_id)
        )
        return batch.batch_no


def confirm(app, store, batch_no, *, skip_invalid=False):
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        services.confirm(store, batch, skip_invalid=skip_invalid, actor=Actor("system"))


def state(app, store, batch_no) -> tuple[str, services.Progress, dict]:
    """The batch's status, progress, and each row's outcome by row number."""
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        progress = services.progress(batch)
        outcomes = {r.row.row_no: r.outcome for r in services.result_rows(batch)}
        return batch.status, progress, outcomes


def orders_of(app, store, customer_id) -> list[tuple[str, str]]:
    with app.app_context(), tenant_context(store):
        return db.session.execute(
            select(Order.order_no, Order.status).where(Order.customer_id == customer_id)
        ).all()


@pytest.fixture
def shop(app, make_store, simulator):
    """A store at wholesale + 20%, a top-up SKU its supplier fulfils, one its supplier always
    fails, a card-key SKU, and a customer with ¥100."""
    store = with_markup(app, make_store())
    supplier = simulated_supplier(app, simulator)
    good = topup_product(app, [(supplier, "CM10")])  # ¥10 wholesale → ¥12
    bad = topup_product(app, [(supplier, "FAIL10")])
    customer = new_customer(app, store)
    topped_up(app, store, customer, 10000)
    return {
        "store": store,
        "good": good["codes"][0],
        "good_id": good["sku_ids"][0],
        "bad": bad["codes"][0],
        "card": card_sku(app, keys=5),
        "customer": customer,
        "supplier": supplier,
    }


# -- reading rows ---------------------------------------------------------------------------------


def test_pasted_lines_csv_and_xlsx_read_the_same_rows():
    pasted = parsing.read_pasted(
        "SKU,account,quantity\n\nCM10,13800138000,2\n# a comment\nCM50\t13900139000\n"
        "CU100，13700137000，3\n",
        max_rows=10,
    )
    assert [(r.row_no, r.sku, r.account, r.quantity) for r in pasted] == [
        (3, "CM10", "13800138000", "2"),
        (5, "CM50", "13900139000", "1"),
        (6, "CU100", "13700137000", "3"),
    ]
    gbk = 'sku,account,quantity\nCM10,"account=1;server=2",1\n'.encode("gb18030")
    assert [(r.row_no, r.account) for r in parsing.read_csv(gbk, 10)] == [(2, "account=1;server=2")]
    tabbed = "\ufeffCM10\t13800138000\t4\n".encode()
    assert [(r.sku, r.quantity) for r in parsing.read_csv(tabbed, 10)] == [("CM10", "4")]

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["商品编码", "账号", "数量"])
    sheet.append(["CM10", 13800138000, 2])  # Excel keeps a phone number as a number
    sheet.append([None, None, None])
    sheet.append([12, 13900139000.0, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = parsing.read_upload("batch.XLSX", buffer.getvalue(), 10, 1024 * 1024)
    assert [(r.row_no, r.sku, r.account, r.quantity) for r in rows] == [
        (2, "CM10", "13800138000", "2"),
        (4, "12", "13900139000", "1"),
    ]


def test_unreadable_oversized_and_overlong_input_is_refused_whole():
    with pytest.raises(parsing.BatchFileError, match="at most"):
        parsing.read_pasted("\n".join(f"CM10,1380013800{i % 10},1" for i in range(11)), 10)
    with pytest.raises(parsing.BatchFileError, match="under"):
        parsing.read_upload("a.csv", b"x" * 2000, 10, 1000)
    with pytest.raises(parsing.BatchFileError, match="XLSX"):
        parsing.read_upload("a.xlsx", b"not a zip", 10, 1000)
    with pytest.raises(parsing.BatchFileError, match="XLSX or CSV"):
        parsing.read_upload("a.xls", b"\xd0\xcf\x11\xe0", 10, 1000)
    with pytest.raises(parsing.BatchFileError, match="No rows"):
        parsing.read_pasted("sku,account,quantity\n\n", 10)
    [row] = parsing.read_pasted("CM10,1,2,3", 10)
    assert row.problem and row.problem_field == "row"


def test_every_bad_row_is_named_with_its_own_error(app, shop):
    store, customer = shop["store"], shop["customer"]
    game = make_product(app, delivery_type="direct_topup", skus=[(500, 480)], input_schema=GAME)
    with app.app_context():
        save_offer(game["sku_ids"][0], shop["supplier"], supplier_sku_code="QB10", cost_cents=480)
    text = "\n".join(
        [
            f"{shop['good']},13800138000,2",  # 1 valid: ¥12 × 2
            f"{shop['good_id']},13900139000",  # 2 valid by id, quantity 1
            "NO-SUCH-SKU,13800138000,1",  # 3 unknown SKU
            f"{shop['card']},13800138000,1",  # 4 a card-key item
            f"{shop['good']},12345,1",  # 5 account fails the product's pattern
            f"{shop['good']},13800138000,0",  # 6 quantity out of range
            f"{shop['good']},13800138000,abc",  # 7 quantity not a number
            f"{game['codes'][0]},server=7;account=13800138000,1",  # 8 valid, fields by name
            f"{game['codes'][0]},13800138000;7,1",  # 9 valid, fields in order
            f"{game['codes'][0]},13800138000,1",  # 10 a field missing
            f"{shop['good']},13800138000,1,extra",  # 11 four columns
        ]
    )
    batch_no = draft(app, store, customer, text)
    status, _, outcomes = state(app, store, batch_no)
    assert status == "draft"
    assert {n for n, o in outcomes.items() if o == "valid"} == {1, 2, 8, 9}
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        rows = {row.row_no: row for row in batch.rows}
        assert {n: rows[n].error_field for n in rows if rows[n].error} == {
            3: "sku", 4: "sku", 5: "account", 6: "quantity", 7: "quantity", 10: "account",
            11: "row",
        }  # fmt: skip
        assert rows[8].account_fields == {"account": "13800138000", "server": "7"}
        assert rows[9].account_fields == rows[8].account_fields
        assert rows[1].unit_price_cents == 1200 and rows[1].amount_cents == 2400
        assert batch.total_cents == 2400 + 1200 + 600 + 600
        assert (batch.row_count, batch.valid_count) == (11, 4)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from app.batches.results import row_message

        with tenant_context(store):
            batch = services.find_batch(batch_no)
            messages = {row.row_no: row_message(row) for row in batch.rows}
    assert "NO-SUCH-SKU" in messages[3] and "13800138000" in messages[5]  # the example
    # Nothing may be confirmed while rows are invalid, unless they are skipped.
    with pytest.raises(services.BatchError):
        confirm(app, store, batch_no)
    assert orders_of(app, store, customer) == []


# -- money ----------------------------------------------------------------------------------------


def test_a_batch_is_charged_once_topped_up_and_a_failed_row_refunded(app, backend, shop, simulator):
    store, customer = shop["store"], shop["customer"]
    batch_no = draft(
        app, store, customer,
        f"sku,account,quantity\n{shop['good']},13800138000,2\n{shop['good_id']}\t13900139000\n"
        f"{shop['bad']},13700137000,1\n",
    )  # fmt: skip
    confirm(app, store, batch_no)
    drain(app, backend)
    status, progress, outcomes = state(app, store, batch_no)
    assert status == "done"
    assert outcomes == {2: "succeeded", 3: "succeeded", 4: "failed"}
    assert (progress.rows, progress.succeeded, progress.failed, progress.pending) == (3, 2, 1, 0)
    assert progress.charged_cents == 4800 and progress.refunded_cents == 1200
    assert balance_of(app, store, customer) == 10000 - 4800 + 1200
    statuses = sorted(status for _, status in orders_of(app, store, customer))
    assert statuses == ["delivered", "delivered", "refunded"]
    with app.app_context():
        assert verify() == []
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        accounts = {row.row_no: row.account_fields for row in batch.rows}
        placed = [row.order_no for row in batch.rows]
    with app.app_context():
        from app.fulfilment.models import Topup

        topups = db.session.scalars(select(Topup).where(Topup.order_no.in_(placed))).all()
    assert accounts[3] == {"account": "13900139000"}
    assert len(topups) == 3
    for topup in topups:
        assert simulator.placed_count(topup.reference) == 1
        if topup.status == "success":
            assert simulator.order(topup.reference).account in ("13800138000", "13900139000")


def queued_without_job(app, store, batch_no) -> int:
    """A confirmed batch whose placement job has not run yet (set by hand, so the test decides
    when it runs: in the embedded mode a queued job starts at once)."""
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        batch.status = "queued"
        db.session.commit()
        return batch.id


def place_now(app, store, batch_id) -> str:
    with app.app_context(), tenant_context(store):
        return services.place(store, batch_id)


def test_nothing_is_charged_when_the_balance_or_a_row_fails_at_placement(app, backend, shop):
    store, customer = shop["store"], shop["customer"]
    too_much = draft(app, store, customer, f"{shop['good']},13800138000,9")  # ¥108 > ¥100
    with pytest.raises(services.BatchError, match="balance"):
        confirm(app, store, too_much)
    spent = draft(app, store, customer, f"{shop['good']},13800138000,8")  # ¥96
    assert place_now(app, store, queued_without_job(app, store, spent)) == "processing"
    # Confirmed while the balance covered it, but the balance was spent before its placement.
    short = draft(app, store, customer, f"{shop['good']},13900139000,1")  # ¥12 > ¥4 left
    assert place_now(app, store, queued_without_job(app, store, short)) == "failed"
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(short)
        assert batch.status == "failed" and batch.charged_cents == 0
        assert "balance" in batch.error and batch.rows[0].order_no is None
    assert place_now(app, store, batch.id) == "skipped"  # a failed batch is never placed again
    assert balance_of(app, store, customer) == 10000 - 9600
    assert len(orders_of(app, store, customer)) == 1
    # A row refused when placed (the customer was blocked meanwhile): nothing at all is placed.
    with app.app_context(), tenant_context(store):
        from app.customers.models import Customer

        db.session.get(Customer, customer).is_blocked = True
        db.session.commit()
    blocked = draft(app, store, customer, f"{shop['good']},13800138000,1\n{shop['good']},2,1")
    assert place_now(app, store, queued_without_job(app, store, blocked)) == "failed"
    status, _, outcomes = state(app, store, blocked)
    assert status == "failed" and outcomes == {1: "not_placed", 2: "not_placed"}
    with app.app_context(), tenant_context(store):
        row = services.find_batch(blocked).rows[0]
        assert row.error and row.error_field == "sku"
    drain(app, backend)
    assert balance_of(app, store, customer) == 400
    assert len(orders_of(app, store, customer)) == 1
    with app.app_context():
        assert verify() == []


@pytest.mark.postgres
def test_two_concurrent_batches_never_overdraw_the_balance(app, backend, shop):
    store, customer = shop["store"], shop["customer"]
    batches = [
        draft(app, store, customer, f"{shop['good']},1380013800{i},3\n{shop['good']},13900139000,2")
        for i in range(2)
    ]  # ¥60 each, ¥100 in the balance: both may be confirmed, only one can be paid
    for batch_no in batches:
        confirm(app, store, batch_no)
    with app.app_context(), tenant_context(store):
        ids = [services.find_batch(no).id for no in batches]
    barrier, results = threading.Barrier(2), []

    def place(batch_id):
        with app.app_context(), tenant_context(store):
            barrier.wait()
            results.append(services.place(store, batch_id))

    threads = [threading.Thread(target=place, args=(batch_id,)) for batch_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["failed", "processing"]
    assert balance_of(app, store, customer) == 10000 - 6000
    assert len(orders_of(app, store, customer)) == 2
    with app.app_context():
        assert verify() == []
    drain(app, backend)  # the jobs queued meanwhile find nothing left to place
    assert balance_of(app, store, customer) == 4000


# -- pages ----------------------------------------------------------------------------------------


def signed_in_customer(app, site, store, customer):
    browser = site(f"{store.slug}.{APEX}")
    browser.submit(
        "/account/login", {"email": customer_email(app, store, customer), "password": PASSWORD}
    )
    return browser


def test_a_customer_uploads_confirms_follows_and_downloads_a_batch(app, backend, shop, site):
    store, customer = shop["store"], shop["customer"]
    browser = signed_in_customer(app, site, store, customer)
    account = browser.get("/account").get_data(as_text=True)
    assert 'id="account-batches"' in account and "批量充值" in account
    upload = f"sku,account,quantity\n{shop['good']},13800138000,1\n{shop['good']},1,1\n".encode()
    answer = browser.submit(
        "/account/batches",
        {"file": (io.BytesIO(upload), "rows.csv"), "text": ""},
        action="/account/batches",
    )
    assert answer.status_code == 303
    page_url = answer.headers["Location"]
    page = browser.get(page_url).get_data(as_text=True)
    assert 'data-outcome="invalid"' in page and 'data-field="account"' in page
    assert 'id="batch-confirm"' in page and 'name="skip_invalid" value="1"' in page
    batch_no = page_url.rstrip("/").rsplit("/", 1)[1]
    refused = browser.submit(page_url, {}, action=f"/account/batches/{batch_no}/confirm")
    assert refused.status_code == 409 and 'id="batch-refused"' in refused.get_data(as_text=True)
    confirmed = browser.submit(
        page_url, {"skip_invalid": "1"}, action=f"/account/batches/{batch_no}/confirm"
    )
    assert confirmed.status_code == 303
    drain(app, backend)
    progress = browser.get(f"/account/batches/{batch_no}/progress").get_json()
    assert progress["status"] == "done" and progress["succeeded"] == 1 and progress["rows"] == 1
    assert progress["label"] == "已完成"
    page = browser.get(page_url).get_data(as_text=True)
    assert 'id="batch-progress"' in page and "batch-progress.js" not in page  # finished
    results = browser.get(f"/account/batches/{batch_no}/results.csv")
    assert results.status_code == 200 and results.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(results.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][:4] == ["row", "sku", "product", "account"]
    assert [(line[0], line[3], line[9]) for line in lines[1:]] == [
        ("2", "13800138000", "succeeded"),
        ("3", "1", "skipped"),
    ]
    xlsx = browser.get(f"/account/batches/{batch_no}/results.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).worksheets[0]
    assert [c.value for c in sheet[2]][9] == "succeeded"
    listing = browser.get("/account/batches").get_data(as_text=True)
    assert f'data-batch="{batch_no}"' in listing
    # Another customer of the store finds nothing under that number.
    other = new_customer(app, store)
    stranger = signed_in_customer(app, site, store, other)
    for path in ("", "/progress", "/results.csv"):
        assert stranger.get(f"/account/batches/{batch_no}{path}").status_code == 404
    confirm_url = f"/account/batches/{batch_no}/confirm"
    assert stranger.submit("/account/batches", {}, action=confirm_url).status_code == 404
    bad = stranger.submit("/account/batches", {"text": ""}, action="/account/batches")
    assert bad.status_code == 400 and "上传文件或粘贴" in bad.get_data(as_text=True)


def test_staff_run_a_batch_for_a_customer_with_their_permission(app, backend, shop, site):
    store, customer = shop["store"], shop["customer"]
    support = staff_client(app, site, store, "support")
    assert support.get("/admin/batches").status_code == 200
    assert support.get("/admin/batches/new").status_code == 403
    owner = staff_client(app, site, store, "owner")
    nav = owner.get("/admin/").get_data(as_text=True)
    assert 'id="nav-batches"' in nav
    form = owner.get(f"/admin/batches/new?customer={customer}").get_data(as_text=True)
    assert customer_email(app, store, customer) in form
    unknown = owner.submit(
        "/admin/batches/new",
        {"customer_email": "nobody@example.com", "text": f"{shop['good']},13800138000,1"},
    )
    assert unknown.status_code == 400 and "没有客户" in unknown.get_data(as_text=True)
    created = owner.submit(
        "/admin/batches/new",
        {
            "customer_email": customer_email(app, store, customer),
            "text": f"{shop['good']},13800138000,2",
        },
    )
    assert created.status_code == 303
    page_url = created.headers["Location"]
    batch_no = page_url.rsplit("/", 1)[1]
    assert support.get(page_url).status_code == 200
    assert support.submit(page_url, {}, action=f"{page_url}/confirm").status_code == 403
    assert owner.submit(page_url, {}, action=f"{page_url}/confirm").status_code == 303
    drain(app, backend)
    assert owner.get(f"{page_url}/progress").get_json()["succeeded"] == 1
    assert balance_of(app, store, customer) == 10000 - 2400  # the customer's balance paid
    assert owner.get(f"{page_url}/results.xlsx").status_code == 200
    listing = owner.get("/admin/batches").get_data(as_text=True)
    assert f'data-batch="{batch_no}"' in listing
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "batch.confirmed", AuditEvent.tenant_id == store.id
            )
        )
        assert event.actor_kind == "store" and event.after["batch_no"] == batch_no
    # The customer sees the batch among theirs, as started by the store.
    browser = signed_in_customer(app, site, store, customer)
    page = browser.get(f"/account/batches/{batch_no}").get_data(as_text=True)
    assert "由店铺发起" in page


# -- API ------------------------------------------------------------------------------------------


def test_the_api_places_a_batch_and_reports_each_row(app, backend, make_store, simulator):
    store = with_markup(app, api_store(app, make_store))
    supplier = simulated_supplier(app, simulator)
    sku = topup_product(app, [(supplier, "CM10")])
    caller = api_caller(app, store)
    topped_up(app, store, caller.customer_id, 5000)
    invalid = caller.call(
        "POST",
        "/api/v1/batches",
        json_body={
            "rows": [
                {"sku": sku["codes"][0], "account": "13800138000", "quantity": 2},
                {"sku": "nope", "account": "13800138000"},
                {"sku": sku["sku_ids"][0], "account_fields": {"account": "12"}},
                {"sku": True},
            ]
        },
    )
    assert invalid.status_code == 422
    assert [(e["row"], e["field"]) for e in invalid.get_json()["errors"]] == [
        (2, "sku"), (3, "account"), (4, "sku"),
    ]  # fmt: skip
    too_much = caller.call(
        "POST",
        "/api/v1/batches",
        json_body={"rows": [{"sku": sku["codes"][0], "account": "13800138000", "quantity": 5}]},
    )
    assert too_much.status_code == 402 and too_much.get_json()["balance_cents"] == 5000
    body = {
        "rows": [
            {"sku": sku["codes"][0], "account": "13800138000", "quantity": 2},
            {"sku": sku["sku_ids"][0], "account_fields": {"account": "13900139000"}},
            {"sku": "nope", "account": "1"},
        ],
        "skip_invalid": True,
    }
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    created = caller.call("POST", "/api/v1/batches", json_body=body, headers=key)
    assert created.status_code == 202, created.get_data(as_text=True)
    view = created.get_json()
    assert view["status"] in ("queued", "processing", "done") and view["total_cents"] == 3600
    assert created.headers["Location"] == f"/api/v1/batches/{view['batch_no']}"
    again = caller.call("POST", "/api/v1/batches", json_body=body, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    drain(app, backend)
    answer = caller.call("GET", f"/api/v1/batches/{view['batch_no']}")
    assert answer.status_code == 200
    done = answer.get_json()
    assert done["status"] == "done" and done["charged_cents"] == 3600
    assert done["progress"] == {
        "rows": 2, "done": 2, "succeeded": 2, "partial": 0, "failed": 0, "pending": 0,
    }  # fmt: skip
    assert [(r["row"], r["status"]) for r in done["rows"]] == [
        (1, "succeeded"), (2, "succeeded"), (3, "skipped"),
    ]  # fmt: skip
    assert all(r["order_no"] for r in done["rows"][:2])
    assert balance_of(app, store, caller.customer_id) == 5000 - 3600
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(Batch.source).where(Batch.batch_no == view["batch_no"]))
    other = api_caller(app, store)
    assert other.call("GET", f"/api/v1/batches/{view['batch_no']}").status_code == 404
    reader = api_caller(app, store, scopes=("read",))
    assert reader.call("POST", "/api/v1/batches", json_body=body).status_code == 403


def test_rows_are_priced_at_the_customers_level_as_on_the_api(app, backend, shop):
    store, customer = shop["store"], shop["customer"]
    with app.app_context(), tenant_context(store):
        from app.api import services as api
        from app.customers import levels
        from app.customers.models import Customer

        levels.save_levels(
            {"bronze": (0, 1000), "silver": (1, 1000), "gold": (2, 1000), "diamond": (3, 1000)}
        )
        db.session.commit()
        listed = {
            sku["id"]: sku["price_cents"]
            for product in api.products(store, db.session.get(Customer, customer))
            for sku in product["skus"]
        }
    assert listed[shop["good_id"]] == 1080  # ¥12 less 10 %
    batch_no = draft(app, store, customer, f"{shop['good']},13800138000,2")
    batch_id = queued_without_job(app, store, batch_no)
    _, progress, outcomes = state(app, store, batch_no)
    assert (progress.rows, progress.pending, outcomes) == (1, 1, {1: "pending"})
    assert place_now(app, store, batch_id) == "processing"
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        order = db.session.scalar(select(Order).where(Order.order_no == batch.rows[0].order_no))
        assert batch.total_cents == batch.charged_cents == order.total_cents == 2160
        assert order.items[0].unit_price_cents == 1080
    drain(app, backend)
    assert balance_of(app, store, customer) == 10000 - 2160


def test_a_batch_whose_placement_job_was_lost_is_placed_when_someone_looks(app, backend, shop):
    from datetime import timedelta

    from app.db import utcnow

    store, customer = shop["store"], shop["customer"]
    batch_no = draft(app, store, customer, f"{shop['good']},13800138000,1")
    with app.app_context(), tenant_context(store):
        batch = services.find_batch(batch_no)
        batch.status, batch.confirmed_at = "queued", utcnow() - timedelta(seconds=30)
        db.session.commit()
        assert services.redrive_if_stuck(store, batch) is False  # its job may still be queued
        batch.confirmed_at = utcnow() - timedelta(minutes=2)  # no job was ever sent
        db.session.commit()
        assert services.redrive_if_stuck(store, batch) is True
    drain(app, backend)
    assert state(app, store, batch_no)[0] == "done"
    assert balance_of(app, store, customer) == 10000 - 1200


@pytest.mark.postgres
def test_a_batch_locks_its_ledger_accounts_at_once_and_never_deadlocks(
    app, backend, shop, simulator
):
    """A batch paying orders of two suppliers meets a payment that holds the second supplier's
    account and then wants `platform:revenue` (as any payment locking in the ledger's order
    does when that supplier's account is the older one). Locking the first order's accounts,
    then the second's, would hold `platform:revenue` while waiting for the supplier: a deadlock.
    The batch locks them all at once, in order, so it simply waits its turn."""
    import time

    import psycopg

    from app.ledger.models import LedgerAccount
    from app.ledger.services import lock_accounts

    store, customer = shop["store"], shop["customer"]
    second = simulated_supplier(app, simulator)
    other = topup_product(app, [(second, "CM10")])["codes"][0]
    with app.app_context():  # the suppliers' accounts older (lower ids) than platform:revenue
        from app.catalog.models import Sku

        for code, supplier in ((shop["good"], shop["supplier"]), (other, second)):
            db.session.scalar(select(Sku).where(Sku.code == code)).supplier_id = supplier
            db.session.add(
                LedgerAccount(
                    id=-supplier, code=f"supplier:{supplier}:payable", currency="CNY",
                    balance_cents=0,
                )
            )  # fmt: skip
        lock_accounts(["platform:revenue"], "CNY")  # created if this run has not yet
        db.session.commit()
    text = f"{shop['good']},13800138000,1\n{other},13900139000,1"
    batch_id = queued_without_job(app, store, draft(app, store, customer, text))
    url = backend.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as payment:
        lock = "SELECT id FROM shared.ledger_accounts WHERE code = %s FOR UPDATE"
        payment.execute(lock, (f"supplier:{second}:payable",))
        results = []
        thread = threading.Thread(target=lambda: results.append(place_now(app, store, batch_id)))
        thread.start()
        with psycopg.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while not watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[
                0
            ]:
                assert time.monotonic() < deadline, (results, thread.is_alive())
                time.sleep(0.05)
        payment.execute("SET lock_timeout = '10s'")
        payment.execute(lock, ("platform:revenue",))  # would deadlock with a piecemeal batch
        payment.commit()
        thread.join(30)
    assert results == ["processing"]
    assert balance_of(app, store, customer) == 10000 - 2400
    drain(app, backend)
    with app.app_context():
        assert verify() == []
