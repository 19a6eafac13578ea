"""The open API v1: signed requests, scopes and entitlements, orders paid from the balance with
idempotency, pagination, webhooks, problems — through the real app and database."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from app.api.problems import CONTENT_TYPE
from app.extensions import db
from app.ledger.services import verify
from app.orders.models import Order
from tenants.context import tenant_context
from tests.support.api import APEX, api_caller, api_store
from tests.support.customer_money import balance_of, customer_order, topped_up
from tests.support.money import card_sku, with_markup


def slug_of(response) -> str:
    assert response.content_type == CONTENT_TYPE, (response.status_code, response.data)
    return response.get_json()["type"].rsplit("#problem-", 1)[1]


def orders_of(app, store, customer_id) -> list[Order]:
    with app.app_context(), tenant_context(store):
        return db.session.scalars(
            select(Order).where(Order.customer_id == customer_id).order_by(Order.id)
        ).all()


@pytest.fixture
def buyer(app, make_store):
    """A store with a 20% markup that offers the API, and a customer with a key and ¥50."""
    store = with_markup(app, api_store(app, make_store))
    caller = api_caller(app, store)
    topped_up(app, store, caller.customer_id, 5000)
    return caller


# -- authentication ------------------------------------------------------------------------------


def test_a_signed_request_reads_products_at_the_callers_prices(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=3)
    answer = buyer.call("GET", "/api/v1/products")
    assert answer.status_code == 200 and answer.content_type == "application/json"
    skus = {s["id"]: s for p in answer.get_json()["products"] for s in p["skus"]}
    assert skus[sku]["price_cents"] == 1200 and skus[sku]["stock"] == "low"
    assert "cost" not in str(answer.get_json()) and "wholesale" not in str(answer.get_json())
    assert buyer.call("GET", "/api/v1/balance").get_json() == {
        "balance_cents": 5000,
        "currency": "CNY",
    }


def test_unsigned_stale_replayed_and_altered_requests_are_refused(app, buyer):
    client = app.test_client()
    bare = client.get("/api/v1/balance", base_url=f"http://{buyer.host}")
    assert bare.status_code == 401 and slug_of(bare) == "missing-credentials"
    now = int(time.time())
    # The ±300 s window, at its edges.
    assert buyer.call("GET", "/api/v1/balance", sign={"timestamp": now - 295}).status_code == 200
    assert buyer.call("GET", "/api/v1/balance", sign={"timestamp": now + 295}).status_code == 200
    for skewed in (now - 310, now + 310):
        stale = buyer.call("GET", "/api/v1/balance", sign={"timestamp": skewed})
        assert stale.status_code == 401 and slug_of(stale) == "stale-request"
        assert abs(stale.get_json()["server_time"] - now) < 60
    # The same nonce twice: the second is a replay, even though it is correctly signed.
    nonce = uuid.uuid4().hex
    assert buyer.call("GET", "/api/v1/balance", sign={"nonce": nonce}).status_code == 200
    replay = buyer.call("GET", "/api/v1/balance", sign={"nonce": nonce})
    assert replay.status_code == 401 and slug_of(replay) == "replayed-request"
    short = buyer.call("GET", "/api/v1/balance", sign={"nonce": "abc"})
    assert slug_of(short) == "invalid-nonce"
    # A body, path or query other than the one signed.
    body = {"sku_id": 1, "quantity": 1}
    altered = buyer.call("POST", "/api/v1/orders", json_body=body, sign={"body": b'{"sku_id":2}'})
    assert altered.status_code == 401 and slug_of(altered) == "invalid-signature"
    moved = buyer.call("GET", "/api/v1/orders", sign={"path": "/api/v1/balance"})
    assert slug_of(moved) == "invalid-signature"
    query = buyer.call("GET", "/api/v1/orders", params={"limit": 5})
    assert query.status_code == 200
    wrong_secret = api_caller(app, buyer.store)
    wrong_secret.secret = buyer.secret
    assert slug_of(wrong_secret.call("GET", "/api/v1/balance")) == "invalid-signature"
    with app.app_context():
        assert verify() == []


def test_revoked_and_foreign_keys_are_unknown(app, make_store, buyer):
    from app.api import keys
    from app.api.models import ApiKey

    other_store = api_store(app, make_store)
    elsewhere = api_caller(app, other_store)
    elsewhere.host = buyer.host  # a key of another store, sent to this one
    assert slug_of(elsewhere.call("GET", "/api/v1/balance")) == "invalid-key"
    with app.app_context(), tenant_context(buyer.store):
        keys.revoke_key(db.session.scalar(select(ApiKey).where(ApiKey.key_id == buyer.key_id)))
    revoked = buyer.call("GET", "/api/v1/balance")
    assert revoked.status_code == 401 and slug_of(revoked) == "invalid-key"


def test_scopes_addresses_plans_and_blocked_customers(app, make_store, buyer):
    reader = api_caller(app, buyer.store, scopes=("read",))
    assert reader.call("GET", "/api/v1/balance").status_code == 200
    refused = reader.call("POST", "/api/v1/orders", json_body={"sku_id": 1})
    assert refused.status_code == 403 and slug_of(refused) == "insufficient-scope"

    fenced = api_caller(app, buyer.store, allowed_ips="203.0.113.0/24\n198.51.100.7")
    fenced.client_ip = "203.0.113.9"
    assert fenced.call("GET", "/api/v1/balance").status_code == 200
    fenced.client_ip = "198.51.100.8"
    outside = fenced.call("GET", "/api/v1/balance")
    assert outside.status_code == 403 and slug_of(outside) == "ip-not-allowed"

    free = api_store(app, make_store, plan="free")
    free_caller = api_caller(app, free)
    closed = free_caller.call("GET", "/api/v1/products")
    assert closed.status_code == 403 and slug_of(closed) == "api-not-enabled"

    from app.customers.models import Customer

    with app.app_context(), tenant_context(buyer.store):
        db.session.get(Customer, buyer.customer_id).is_blocked = True
        db.session.commit()
    blocked = buyer.call("GET", "/api/v1/balance")
    assert blocked.status_code == 403 and slug_of(blocked) == "account-disabled"


def test_keys_are_sealed_and_checked_when_created(app, make_store):
    from app.api import keys
    from app.api.models import ApiKey

    store = api_store(app, make_store)
    caller = api_caller(app, store)
    with app.app_context(), tenant_context(store):
        row = db.session.scalar(select(ApiKey).where(ApiKey.key_id == caller.key_id))
        assert caller.secret not in row.secret_sealed and row.secret_hint == caller.secret[-4:]
        for field, kwargs in (
            ("name", {"name": "", "scopes": ["read"]}),
            ("scopes", {"name": "x", "scopes": []}),
            ("scopes", {"name": "x", "scopes": ["read", "admin"]}),
            ("allowed_ips", {"name": "x", "scopes": ["read"], "allowed_ips": "10.0.0.300"}),
        ):
            with pytest.raises(keys.ApiKeyError) as refused:
                keys.create_key(store, caller.customer_id, **kwargs)
            assert refused.value.field == field


# -- orders --------------------------------------------------------------------------------------


def test_an_order_is_paid_from_the_balance_and_returns_its_keys(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=5)
    placed = buyer.call("POST", "/api/v1/orders", json_body={"sku_id": sku, "quantity": 2})
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert order["status"] == "delivered" and order["total_cents"] == 2400
    keys = order["items"][0]["keys"]
    assert len(keys) == 2 and all(k["card_no"] or k["secret"] for k in keys)
    assert balance_of(app, buyer.store, buyer.customer_id) == 5000 - 2400
    again = buyer.call("GET", f"/api/v1/orders/{order['order_no']}").get_json()
    assert again["items"][0]["keys"] == keys
    with app.app_context():
        assert verify() == []


def test_an_order_the_balance_cannot_pay_charges_nothing_and_keeps_no_keys(app, buyer):
    sku = card_sku(app, wholesale=3000, keys=2)  # 36.00 each, the balance is 50.00
    refused = buyer.call("POST", "/api/v1/orders", json_body={"sku_id": sku, "quantity": 2})
    assert refused.status_code == 402 and slug_of(refused) == "insufficient-balance"
    assert refused.get_json()["balance_cents"] == 5000
    assert refused.get_json()["order_total_cents"] == 7200
    assert balance_of(app, buyer.store, buyer.customer_id) == 5000
    assert [o.status for o in orders_of(app, buyer.store, buyer.customer_id)] == ["cancelled"]
    placed = buyer.call("POST", "/api/v1/orders", json_body={"sku_id": sku, "quantity": 1})
    assert placed.status_code == 201  # the cancelled order's keys went back to stock


def test_invalid_orders_name_the_field(app, buyer):
    cases = [
        ({"sku_id": "12"}, "sku_id"),
        ({"sku_id": 1, "quantity": 0}, "quantity"),
        ({"sku_id": 1, "account_fields": {"phone": 1}}, "account_fields"),
        ({"sku_id": 1, "price_cents": 1}, "price_cents"),
        ({"sku_id": 99_999_999}, "sku_id"),
    ]
    for body, field in cases:
        answer = buyer.call("POST", "/api/v1/orders", json_body=body)
        assert answer.status_code == 422 and slug_of(answer) == "invalid-request", body
        assert field in [e["field"] for e in answer.get_json()["errors"]], body
    not_json = buyer.call(
        "POST", "/api/v1/orders", raw=b"sku_id=1", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415
    broken = buyer.call("POST", "/api/v1/orders", raw=b"{nope")
    assert broken.status_code == 422
    assert orders_of(app, buyer.store, buyer.customer_id) == []


def test_the_same_idempotency_key_replays_and_another_body_conflicts(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=5)
    body = {"sku_id": sku, "quantity": 1}
    key = {"Idempotency-Key": f"po-{uuid.uuid4()}"}
    first = buyer.call("POST", "/api/v1/orders", json_body=body, headers=key)
    second = buyer.call("POST", "/api/v1/orders", json_body=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.get_data() == second.get_data()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = buyer.call("POST", "/api/v1/orders", json_body=dict(body, quantity=2), headers=key)
    assert other.status_code == 409 and slug_of(other) == "idempotency-key-reused"
    assert len(orders_of(app, buyer.store, buyer.customer_id)) == 1
    assert balance_of(app, buyer.store, buyer.customer_id) == 5000 - 1200
    # A refusal is an answer too: replayed, not retried with another outcome.
    poor = {"Idempotency-Key": f"po-{uuid.uuid4()}"}
    pricey = {"sku_id": card_sku(app, wholesale=9000, keys=1), "quantity": 1}
    assert buyer.call("POST", "/api/v1/orders", json_body=pricey, headers=poor).status_code == 402
    topped_up(app, buyer.store, buyer.customer_id, 20000)
    assert buyer.call("POST", "/api/v1/orders", json_body=pricey, headers=poor).status_code == 402


@pytest.mark.postgres
def test_one_idempotency_key_sent_concurrently_buys_once(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=10)
    body = {"sku_id": sku, "quantity": 1}
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    barrier = threading.Barrier(8)
    answers = []

    def send():
        barrier.wait()
        response = buyer.call("POST", "/api/v1/orders", json_body=body, headers=key)
        answers.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {201}, answers
    assert len({data for _, data in answers}) == 1
    assert len(orders_of(app, buyer.store, buyer.customer_id)) == 1
    assert balance_of(app, buyer.store, buyer.customer_id) == 5000 - 1200


def test_pages_of_orders_are_stable_while_orders_are_placed(app, buyer):
    sku = card_sku(app, wholesale=100, keys=30)
    placed = [
        buyer.call("POST", "/api/v1/orders", json_body={"sku_id": sku}).get_json()["order_no"]
        for _ in range(7)
    ]
    seen = []
    page = buyer.call("GET", "/api/v1/orders", params={"limit": 3}).get_json()
    seen += [o["order_no"] for o in page["orders"]]
    for _ in range(2):  # new orders arrive between the pages
        buyer.call("POST", "/api/v1/orders", json_body={"sku_id": sku})
    while page["next_cursor"]:
        page = buyer.call(
            "GET", "/api/v1/orders", params={"limit": 3, "cursor": page["next_cursor"]}
        ).get_json()
        seen += [o["order_no"] for o in page["orders"]]
    assert seen == list(reversed(placed))  # each once, newest first, none of the newer ones
    listed = buyer.call("GET", "/api/v1/orders", params={"limit": 3}).get_json()["orders"][0]
    assert "keys" not in listed["items"][0] or listed["items"][0]["keys"] == []  # not revealed
    for bad in ({"cursor": "bm9wZQ"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}):
        answer = buyer.call("GET", "/api/v1/orders", params=bad)
        assert answer.status_code == 422 and slug_of(answer) == "invalid-request", bad


def test_unpaid_orders_are_cancelled_and_others_orders_are_not_found(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=3)
    order_no, _ = customer_order(app, buyer.store, sku, buyer.customer_id)  # from the shop
    cancelled = buyer.call("POST", f"/api/v1/orders/{order_no}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = buyer.call("POST", f"/api/v1/orders/{order_no}/cancel")
    assert again.status_code == 409 and slug_of(again) == "order-not-cancellable"
    neighbour = api_caller(app, buyer.store)
    for method, path in (("GET", f"/api/v1/orders/{order_no}"),
                         ("POST", f"/api/v1/orders/{order_no}/cancel"),
                         ("GET", "/api/v1/orders/26120700000000000000")):  # fmt: skip
        hidden = neighbour.call(method, path)
        assert hidden.status_code == 404 and slug_of(hidden) == "not-found"


def test_unknown_paths_and_methods_answer_problems(app, buyer):
    missing = buyer.call("GET", "/api/v1/nothing-here")
    assert missing.status_code == 404 and slug_of(missing) == "not-found"
    wrong = buyer.call("DELETE", "/api/v1/orders")
    assert wrong.status_code == 405 and slug_of(wrong) == "method-not-allowed"
    assert "GET" in wrong.headers["Allow"]
    big = buyer.call("POST", "/api/v1/orders", raw=b"{" + b" " * 70_000 + b"}")
    assert big.status_code == 413 and slug_of(big) == "payload-too-large"
    on_apex = app.test_client().get("/api/v1/products", base_url=f"http://{APEX}")
    assert on_apex.status_code == 404


# -- webhooks ------------------------------------------------------------------------------------


def test_a_customers_webhook_receives_only_their_orders(app, buyer, site):
    from app.webhooks.models import WebhookDelivery, WebhookEndpoint

    assert slug_of(buyer.call("GET", "/api/v1/webhook")) == "not-found"
    bad = buyer.call("PUT", "/api/v1/webhook", json_body={"url": "http://127.0.0.1/hook"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "url"
    created = buyer.call(
        "PUT", "/api/v1/webhook", json_body={"url": "https://93.184.215.14/kameng"}
    )
    assert created.status_code == 201 and created.get_json()["secret"].startswith("whsec_")
    changed = buyer.call(
        "PUT",
        "/api/v1/webhook",
        json_body={"url": "https://93.184.215.14/k2", "events": ["order.delivered"]},
    )
    assert changed.status_code == 200 and "secret" not in changed.get_json()
    assert buyer.call("GET", "/api/v1/webhook").get_json()["events"] == ["order.delivered"]

    sku = card_sku(app, wholesale=100, keys=5)
    mine = buyer.call("POST", "/api/v1/orders", json_body={"sku_id": sku}).get_json()
    neighbour = api_caller(app, buyer.store)
    topped_up(app, buyer.store, neighbour.customer_id, 1000)
    neighbour.call("POST", "/api/v1/orders", json_body={"sku_id": sku})
    with app.app_context(), tenant_context(buyer.store):
        endpoint = db.session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.customer_id == buyer.customer_id)
        )
        sent = db.session.scalars(
            select(WebhookDelivery.payload).where(WebhookDelivery.endpoint_id == endpoint.id)
        ).all()
    assert len(sent) == 1 and mine["order_no"] in sent[0] and '"order.delivered"' in sent[0]
    # The store's back-office lists only the store's own endpoints.
    admin = site(buyer.host)
    admin.login_store(f"owner@{buyer.store.slug}.example.com", "s3cret-pass")
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert "93.184.215.14/k2" not in page
    assert admin.get(f"/admin/webhooks/{endpoint.id}").status_code == 404
    assert buyer.call("DELETE", "/api/v1/webhook").status_code == 204
    assert buyer.call("GET", "/api/v1/webhook").status_code == 404


# -- limits, documents, the account page ---------------------------------------------------------


def test_the_api_is_rate_limited_with_retry_after(backend, make_store):
    from app import create_app

    limited = create_app(
        backend.config(
            RATELIMIT_ENABLED=True, RATE_LIMIT_API="3 per minute", RATELIMIT_STORAGE_URI="memory://"
        )
    )
    store = api_store(limited, make_store)
    caller = api_caller(limited, store)
    statuses = [caller.call("GET", "/api/v1/balance").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited_answer = caller.call("GET", "/api/v1/balance")
    assert slug_of(limited_answer) == "rate-limited"
    assert int(limited_answer.headers["Retry-After"]) > 0
    other = api_caller(limited, store)  # another key has its own allowance
    assert other.call("GET", "/api/v1/balance").status_code == 200


def test_the_openapi_document_is_valid_and_served_with_its_docs_page(app, buyer):
    from openapi_spec_validator import validate

    client = app.test_client()
    spec = client.get("/api/v1/openapi.json", base_url=f"http://{buyer.host}")
    assert spec.status_code == 200
    document = spec.get_json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["servers"][0]["url"] == f"http://{buyer.host}"
    routes = {
        (rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in ("api.openapi", "api.docs")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    page = client.get("/api/v1/docs", base_url=f"http://{buyer.host}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "createOrder" in html and "problem-rate-limited" in html
    assert "http://" not in html.replace(f"http://{buyer.host}", "")  # no outside assets


def test_a_customer_creates_sees_once_and_revokes_a_key(app, make_store, site):
    from tests.support.customer_money import PASSWORD, customer_email, new_customer

    store = api_store(app, make_store)
    customer = new_customer(app, store)
    browser = site(f"{store.slug}.{APEX}")
    browser.submit(
        "/account/login", {"email": customer_email(app, store, customer), "password": PASSWORD}
    )
    created = browser.submit(
        "/account/api",
        {"name": "ERP", "scopes": ["read", "order"], "allowed_ips": "203.0.113.0/24"},
    )
    html = created.get_data(as_text=True)
    assert created.status_code == 201 and "只显示这一次" in html
    secret = html.split('id="new-key-secret">', 1)[1].split("<", 1)[0]
    key_id = html.split('id="new-key-id">', 1)[1].split("<", 1)[0]
    listing = browser.get("/account/api").get_data(as_text=True)
    assert key_id in listing and secret not in listing
    from tests.support.api import ApiCaller

    caller = ApiCaller(app, store, customer, key_id, secret, client_ip="203.0.113.5")
    assert caller.call("GET", "/api/v1/balance").status_code == 200
    browser.submit("/account/api", {}, action=f"/account/api/{key_id}/revoke")
    assert caller.call("GET", "/api/v1/balance").status_code == 401
    invalid = browser.submit("/account/api", {"name": "", "scopes": ["read"]})
    assert invalid.status_code == 400
    free = api_store(app, make_store, plan="free")
    other = new_customer(app, free)
    elsewhere = site(f"{free.slug}.{APEX}")
    elsewhere.submit(
        "/account/login", {"email": customer_email(app, free, other), "password": PASSWORD}
    )
    assert 'id="api-not-offered"' in elsewhere.get("/account/api").get_data(as_text=True)


def test_a_reference_is_bought_once_for_ever_and_found_again(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=5)
    body = {"sku_id": sku, "quantity": 1, "reference": "erp-1001"}
    first = buyer.call("POST", "/api/v1/orders", json_body=body)
    assert first.status_code == 201 and first.get_json()["reference"] == "erp-1001"
    again = buyer.call("POST", "/api/v1/orders", json_body=dict(body, quantity=2))
    assert again.status_code == 200  # the order placed with that reference, not a new one
    assert again.get_json()["order_no"] == first.get_json()["order_no"]
    found = buyer.call("GET", "/api/v1/orders", params={"reference": "erp-1001"}).get_json()
    assert [o["order_no"] for o in found["orders"]] == [first.get_json()["order_no"]]
    assert balance_of(app, buyer.store, buyer.customer_id) == 5000 - 1200
    # Another customer's reference space is their own.
    neighbour = api_caller(app, buyer.store)
    topped_up(app, buyer.store, neighbour.customer_id, 2000)
    assert neighbour.call("POST", "/api/v1/orders", json_body=body).status_code == 201
    bad = buyer.call("POST", "/api/v1/orders", json_body=dict(body, reference="no spaces"))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "reference"


@pytest.mark.postgres
def test_one_reference_sent_concurrently_buys_once(app, buyer):
    sku = card_sku(app, wholesale=1000, keys=10)
    body = {"sku_id": sku, "quantity": 1, "reference": f"race-{uuid.uuid4().hex[:8]}"}
    barrier = threading.Barrier(6)
    answers = []

    def send():
        barrier.wait()
        response = buyer.call("POST", "/api/v1/orders", json_body=body)
        answers.append((response.status_code, response.get_json()["order_no"]))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [200] * 5 + [201], answers
    assert len({order_no for _, order_no in answers}) == 1
    assert len(orders_of(app, buyer.store, buyer.customer_id)) == 1
    assert balance_of(app, buyer.store, buyer.customer_id) == 5000 - 1200


def test_the_worked_signing_example_in_the_guide_is_right():
    from pathlib import Path

    from app.api import signing

    text = signing.canonical(
        "POST",
        "/api/v1/orders",
        "",
        "1765065600",
        "n0nce-0123456789abcdef",
        b'{"sku_id":12,"quantity":1,"reference":"erp-1001"}',
    )
    expected = signing.signature("ks_example-secret-do-not-use", text)
    guide = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    assert f"`{expected}`" in guide


def test_an_anonymised_customer_s_keys_and_webhook_are_gone(app, buyer):
    from app.audit.services import Actor
    from app.customers.models import Customer
    from app.privacy.services import anonymise_customer
    from app.webhooks.models import WebhookEndpoint

    hook = buyer.call("PUT", "/api/v1/webhook", json_body={"url": "https://93.184.215.14/k"})
    assert hook.status_code == 201
    with app.app_context(), tenant_context(buyer.store):
        customer = db.session.get(Customer, buyer.customer_id)
        done = anonymise_customer(
            buyer.store, customer, actor=Actor("store", 1, "owner@example.com"), source="email"
        )
        db.session.commit()
        assert done["api_keys"] == 1
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    assert slug_of(buyer.call("GET", "/api/v1/balance")) == "invalid-key"
