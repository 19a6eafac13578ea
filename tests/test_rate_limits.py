"""Rate limits as a client meets them: every named limit answers 429 with Retry-After and a
translated page (problem+json on JSON endpoints and the API), payment and supplier callbacks are
never limited, order lookup is limited per order/contact as well as per address, and the lookup
and password-reset answers are the same whether the order or account exists or not."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from flask import request

from app.extensions import db, limiter
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from tests.support.money import card_sku
from tests.support.web import SiteClient
from tests.test_refunds import open_payment

APEX = "kameng.test"
TOO_MANY = "尝试次数过多，请稍后再试。"


# How the JSON API is meant to use the limiter: one budget per key for all its endpoints.
# (Defined once: the limiter keeps decorated views by name, process-wide.)
API_PROBE = SiteBlueprint("api_probe", __name__, site="platform", url_prefix="/api/v1")
api_limit = ratelimits.shared("api", key=lambda: f"key:{request.headers.get('X-Key', '')}")


@API_PROBE.get("/ping")
@api_limit
def ping():
    return {"pong": True}


@API_PROBE.get("/pong")
@api_limit
def pong():
    return {"ping": True}


@pytest.fixture(scope="module")
def limited(backend):
    """An application with every named limit at one request per minute (memory storage), and an
    /api/v1 probe that uses the shared API limit the way the API is meant to."""
    from app import create_app

    one = {f"RATE_LIMIT_{name.upper()}": "1 per minute" for name in ratelimits.LIMITS}
    application = create_app(
        backend.config(
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            LOGIN_RATE_LIMIT="1 per minute",
            **one,
        )
    )
    application.register_blueprint(API_PROBE)
    return application


@pytest.fixture
def fresh(limited):
    """The limiter on, with empty counters, for this test."""
    limiter.enabled = True
    limiter.reset()
    yield limited
    limiter.reset()


def client(app, host, address=None):
    site = SiteClient(app, host)
    if address:
        site.client.environ_base["REMOTE_ADDR"] = address
    return site


def assert_limited(response, *, json_body=False):
    assert response.status_code == 429, response.status_code
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Cache-Control"] == "no-store"
    if json_body:
        assert response.mimetype == "application/problem+json"
        problem = json.loads(response.get_data(as_text=True))
        assert problem["status"] == 429 and problem["detail"] == TOO_MANY
        assert problem["retry_after"] == int(response.headers["Retry-After"])
    else:
        assert response.mimetype == "text/html"
        assert TOO_MANY in response.get_data(as_text=True)


def assert_second_is_limited(site, method, path, form_page, is_json):
    """Two requests as a browser would send them (POSTs with the session's CSRF token, which
    is checked before the limiter counts): the first passes the limiter, the second not."""
    data = {"csrf_token": site.csrf_token(form_page)} if method == "POST" else None
    base = f"http://{site.host}"
    first = site.client.open(path, method=method, data=data, base_url=base)
    assert first.status_code != 429
    again = site.client.open(path, method=method, data=data, base_url=base)
    assert_limited(again, json_body=is_json)


STORE_REQUESTS = [
    # (named limit, method, path, "json" for a JSON answer / who signs in first)
    ("checkout", "POST", "/checkout?sku={sku}&quantity=1", False),
    ("captcha", "GET", "/captcha.png", False),
    ("order_page", "GET", "/order/{order_no}?t=wrong", False),
    ("order_pay", "POST", "/order/{order_no}/pay", False),
    ("order_status", "GET", "/order/{order_no}/status", "json"),
    ("order_lookup", "POST", "/lookup", False),
    ("ticket_open", "POST", "/order/{order_no}/ticket", False),
    ("ticket_page", "GET", "/ticket/T123", False),
    ("ticket_reply", "POST", "/ticket/T123/reply", False),
    ("ticket_escalate", "POST", "/ticket/T123/escalate", False),
    ("balance_topup", "POST", "/account/balance", "customer"),
    ("login", "POST", "/account/login", False),
    ("login", "POST", "/admin/login", False),
    ("password", "POST", "/account/reset", False),
    ("password", "POST", "/account/register", False),
    ("store_welcome", "GET", "/admin/welcome", False),
    ("view_as_platform", "GET", "/admin/view", False),
    ("withdrawal_request", "POST", "/admin/finance/withdraw", "owner"),
    ("verification_submit", "POST", "/admin/finance/verification", "owner"),
    ("staff_invite", "POST", "/admin/staff/invitations", "owner"),
    ("staff_accept", "POST", "/admin/invitations/x", False),
]
APEX_REQUESTS = [
    ("store_signup", "POST", "/open", False),
    ("slug_check", "GET", "/open/check?slug=abc", "json"),
    ("login", "POST", "/platform/login", False),
    ("supplier_apply", "POST", "/supplier/apply", False),
    ("supplier_upload", "POST", "/supplier/skus/1/keys", "supplier"),
    ("withdrawal_request", "POST", "/supplier/finance/withdraw", "supplier"),
    ("verification_submit", "POST", "/supplier/finance/verification", "supplier"),
]


def test_every_named_limit_is_applied_somewhere():
    used = {name for name, *_ in STORE_REQUESTS + APEX_REQUESTS}
    # Tested with their features: the API's (test_api), posters and unsubscribing (test_growth).
    assert set(ratelimits.LIMITS) - used == {
        "order_lookup_target",
        "api",
        "api_ip",
        "poster",
        "unsubscribe",
    }


def sign_in(app, site, who, store=None):
    """Views for signed-in users check the sign-in first: sign in as `who` (one login)."""
    from app.catalog.models import Supplier
    from app.customers import services as customers
    from app.supplier_portal.models import SupplierUser
    from tenants.context import tenant_context

    email = f"{who}-{uuid.uuid4().hex[:8]}@example.com"
    if who == "owner":
        answer = site.login_store(f"owner@{store.slug}.example.com", "s3cret-pass")
    elif who == "customer":
        with app.app_context(), tenant_context(store):
            customers.register_customer(email=email, password="a-good-pass-1")
        data = {"email": email, "password": "a-good-pass-1"}
        answer = site.submit("/account/login", data)
    else:
        with app.app_context():
            supplier = Supplier(name=f"Limits {uuid.uuid4().hex[:8]}")
            db.session.add(supplier)
            db.session.flush()
            user = SupplierUser(email=email, name="S", supplier_id=supplier.id)
            user.set_password("supplier-pass-1")
            db.session.add(user)
            db.session.commit()
        answer = site.submit("/supplier/login", {"email": email, "password": "supplier-pass-1"})
    assert answer.status_code == 302


@pytest.mark.parametrize("name, method, path, kind", STORE_REQUESTS)
def test_each_store_limit_answers_429_with_retry_after(
    fresh, app, make_store, name, method, path, kind
):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=2)
    path = path.format(sku=sku, order_no="260101000000000001")
    shop = client(fresh, f"{store.slug}.{APEX}", address=f"192.0.2.{uuid.uuid4().int % 200}")
    if kind in ("owner", "customer"):
        sign_in(app, shop, kind, store)
    assert_second_is_limited(shop, method, path, "/lookup", kind == "json")


@pytest.mark.parametrize("name, method, path, kind", APEX_REQUESTS)
def test_each_platform_limit_answers_429_with_retry_after(fresh, app, name, method, path, kind):
    apex = client(fresh, APEX, address=f"198.51.100.{uuid.uuid4().int % 200}")
    if kind == "supplier":
        sign_in(app, apex, kind)
    assert_second_is_limited(apex, method, path, "/open", kind == "json")


def test_the_api_shares_one_budget_per_key_and_answers_problem_json(fresh):
    apex = client(fresh, APEX)
    assert apex.get("/api/v1/ping", headers={"X-Key": "a"}).status_code == 200
    limited = apex.get("/api/v1/pong", headers={"X-Key": "a"})  # another endpoint, same key
    assert_limited(limited, json_body=True)
    assert apex.get("/api/v1/pong", headers={"X-Key": "b"}).status_code == 200  # another key


def test_payment_and_supplier_callbacks_are_never_rate_limited(fresh, app, make_store):
    store = make_store()
    sku = card_sku(app, wholesale=100, keys=2)
    _, payment_no = open_payment(app, store, sku)
    gateway = client(fresh, APEX, address="203.0.113.250")
    answers = [
        gateway.post("/payments/callback/sandbox", data={"payment_no": payment_no}).status_code
        for _ in range(5)
    ]
    answers += [gateway.post("/suppliers/callback/999999", data={}).status_code for _ in range(3)]
    answers += [gateway.post("/webhooks/stripe", data=b"{}").status_code for _ in range(3)]
    assert 429 not in answers


def test_lookup_of_one_order_is_limited_from_any_address(fresh, make_store, monkeypatch):
    monkeypatch.setitem(fresh.config, "RATE_LIMIT_ORDER_LOOKUP", "100 per minute")
    monkeypatch.setitem(fresh.config, "RATE_LIMIT_ORDER_LOOKUP_TARGET", "2 per hour")
    store = make_store()
    guess = {"needle": "260101000000000042", "query_password": "guess"}
    answers = []
    for index in range(3):  # a distributed guess at one order's query password
        shop = client(fresh, f"{store.slug}.{APEX}", address=f"203.0.113.{index + 1}")
        answers.append(shop.submit("/lookup", dict(guess, query_password=f"g{index}")))
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert_limited(answers[2])
    other = client(fresh, f"{store.slug}.{APEX}", address="203.0.113.9")
    assert other.submit("/lookup", {"needle": "someone@example.com"}).status_code == 200


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)


def test_lookup_and_password_reset_answer_alike_for_known_and_unknown(app, make_store, site):
    from app.customers import services as customers
    from tenants.context import tenant_context

    store = make_store()
    sku = card_sku(app, wholesale=100, keys=2)
    known_email = f"known-{uuid.uuid4().hex[:6]}@example.com"
    order_no, _ = open_payment(app, store, sku, email=known_email)
    with app.app_context(), tenant_context(store):
        customers.register_customer(email=known_email, password="a-good-pass-1")
    shop = site(f"{store.slug}.{APEX}")

    def lookup(needle, password=""):
        data = {"needle": needle, "query_password": password}
        page = shop.submit("/lookup", data).get_data(as_text=True)
        return without_tokens(page).replace(needle, "NEEDLE")  # the form shows it again

    unknown_no = "260101" + "9" * 12
    assert lookup(order_no, "wrong-pass") == lookup(unknown_no, "wrong-pass")
    assert lookup(known_email) == lookup(f"nobody-{uuid.uuid4().hex[:6]}@example.com")

    def reset(email):
        answer = shop.submit("/account/reset", {"email": email})
        return answer.status_code, without_tokens(answer.get_data(as_text=True))

    assert reset(known_email) == reset(f"nobody-{uuid.uuid4().hex[:6]}@example.com")
