"""Store webhooks: signed per Standard Webhooks, retried with the same id, never sent inside the
network, never to another store. Receivers are real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import ssl
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from app.db import utcnow
from app.extensions import db
from app.merchant.models import StaffUser
from app.orders.models import Order
from app.webhooks import services, signing
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.transport import SendError, Target, is_public_address, post
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.gateways.local_server import LocalGateway
from tests.test_checkout import open_order
from tests.test_jobs import wait_for_jobs
from workers.runner import execute

APEX = "kameng.test"
SECRET_RE = re.compile(r"whsec_[A-Za-z0-9+/=]+")


class Receiver(LocalGateway):
    """A consumer's endpoint: records every request; answers from a script, then 200."""

    def __init__(self):
        super().__init__()
        self.received: list[dict] = []
        self.script: list[tuple[int, dict[str, str]]] = []

    def handle(self, method, path, query, headers, body):
        self.received.append(
            {"method": method, "path": path, "headers": {k.lower(): v for k, v in headers.items()},
             "body": body}
        )  # fmt: skip
        status, extra = self.script.pop(0) if self.script else (200, {})
        return status, {"Content-Type": "text/plain", **extra}, b"ok"

    def hook_url(self, path: str = "/hook") -> str:
        return self.url + path

    def events(self) -> list[str]:
        return [json.loads(r["body"])["type"] for r in self.received]


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def private_targets(app, monkeypatch):
    """Allow loopback receivers, in this process and in worker processes (PostgreSQL + RQ)."""
    before = app.config.get("WEBHOOKS_ALLOW_PRIVATE", False)
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", "true")
    yield
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = before


def verified(secret: str, request: dict, tolerance_seconds: int = 300) -> bool:
    """The consumer's check, written from the spec (not with the code under test)."""
    headers, body = request["headers"], request["body"]
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance_seconds:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    expected_b64 = base64.b64encode(expected.digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected_b64)
        for version, _, signature in (
            e.partition(",") for e in headers["webhook-signature"].split()
        )
    )


def owner_of(site, store):
    admin = site(f"{store.slug}.{APEX}")
    assert admin.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    return admin


def add_endpoint(admin, url, events=("order.paid", "order.delivered")) -> tuple[int, str]:
    """Register an endpoint in the back-office; returns its id and the secret shown once."""
    page = admin.submit(
        "/admin/webhooks", {"url": url, "description": "ERP", "events": list(events)}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:2000]
    endpoint_id = int(re.search(r"/admin/webhooks/(\d+)/test", html).group(1))
    return endpoint_id, SECRET_RE.search(html).group(0)


def deliveries(app, store) -> list[WebhookDelivery]:
    with app.app_context(), tenant_context(store):
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        db.session.expunge_all()
        return rows


def run_jobs(app, backend):
    with app.app_context():
        wait_for_jobs(app, backend)


def sweep(app, backend):
    """What the scheduler does every minute: enqueue every store's due attempts, run them."""
    execute(app, "workers.jobs.webhooks.sweep_due_deliveries", None, [])
    run_jobs(app, backend)


def make_due(app, store, in_seconds: int = -1):
    """Move pending deliveries' next attempt (default: just now) — tests never wait on the clock."""
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(next_attempt_at=utcnow() + timedelta(seconds=in_seconds))
        )
        db.session.commit()


# -- signing ---------------------------------------------------------------------------------------


def test_the_spec_worked_example_is_signed_exactly():
    body = '{"type":"order.paid","timestamp":"2023-01-19T00:13:51Z","data":{"order_id":"A-1001"}}'
    signature = signing.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        1674087231,
        body,
    )
    assert signature == "v1,hUCZqBs3xGhXLrMFVUlY/nPhfBnu6DPSJSsUv3eAMQQ="


def test_secrets_and_message_ids_have_the_standard_shapes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 64
    message_id = signing.new_message_id()
    assert message_id.startswith("msg_") and "." not in message_id
    assert signing.new_message_id() != message_id


def test_the_retry_schedule_spans_about_three_days():
    total = sum(services.RETRY_DELAYS, timedelta())
    assert timedelta(hours=72) <= total <= timedelta(hours=78)
    assert services.MAX_ATTEMPTS == 10
    assert timedelta(seconds=5) <= services.next_delay(1) <= timedelta(seconds=5.5)
    assert services.next_delay(1, retry_after_seconds=120) == timedelta(seconds=120)


# -- order events ----------------------------------------------------------------------------------


def test_a_paid_order_is_announced_signed_paid_then_delivered(
    app, backend, make_store, site, apex, receiver, private_targets
):
    store = make_store()
    endpoint_id, secret = add_endpoint(owner_of(site, store), receiver.hook_url())
    item = make_product(app, skus=[(1000, 800)])
    key = f"KEY-{uuid.uuid4().hex}"
    add_keys(app, item["sku_ids"][0], [key])

    pay_path, _ = open_order(app, site, store, item["sku_ids"][0], email="buyer@example.com")
    assert apex.submit(pay_path, {"decision": "approve"}).status_code == 302
    run_jobs(app, backend)

    assert sorted(receiver.events()) == ["order.delivered", "order.paid"]
    with app.app_context(), tenant_context(store):
        order = db.session.scalar(select(Order))
        total_cents, order_no = order.total_cents, order.order_no
    for request in receiver.received:
        assert request["method"] == "POST" and request["path"] == "/hook"
        assert request["headers"]["content-type"] == "application/json"
        assert request["headers"]["webhook-id"].startswith("msg_")
        assert verified(secret, request)
        body = json.loads(request["body"])
        assert body["data"]["order_no"] == order_no
        assert body["data"]["status"] == body["type"].removeprefix("order.")
        assert body["data"]["total_cents"] == total_cents
        assert body["data"]["items"][0]["sku_id"] == item["sku_ids"][0]
        assert body["data"]["items"][0]["quantity"] == 1
        # Neither the buyer's contact nor the card key leaves the store.
        assert b"buyer@example.com" not in request["body"] and key.encode() not in request["body"]
    sent = deliveries(app, store)
    assert {d.status for d in sent} == {"succeeded"}
    assert {d.endpoint_id for d in sent} == {endpoint_id}
    # The body stored is byte for byte the body that was signed and sent.
    by_id = {d.message_id: d.payload.encode() for d in sent}
    assert all(by_id[r["headers"]["webhook-id"]] == r["body"] for r in receiver.received)


def test_only_subscribed_events_and_active_endpoints_receive(
    app, backend, make_store, site, apex, receiver, private_targets
):
    store = make_store()
    admin = owner_of(site, store)
    add_endpoint(admin, receiver.hook_url("/delivered"), events=["order.delivered"])
    disabled_id, _ = add_endpoint(admin, receiver.hook_url("/disabled"))
    admin.submit(
        f"/admin/webhooks/{disabled_id}",
        {"active": "0"},
        action=f"/admin/webhooks/{disabled_id}/active",
    )
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"K-{uuid.uuid4().hex}"])

    pay_path, _ = open_order(app, site, store, item["sku_ids"][0])
    apex.submit(pay_path, {"decision": "approve"})
    run_jobs(app, backend)

    assert [(r["path"], t) for r, t in zip(receiver.received, receiver.events(), strict=True)] == [
        ("/delivered", "order.delivered")
    ]


def test_a_store_never_receives_another_stores_events(
    app, backend, make_store, site, apex, receiver, private_targets
):
    selling, other = make_store(), make_store()
    add_endpoint(owner_of(site, selling), receiver.hook_url("/selling"))
    other_id, _ = add_endpoint(owner_of(site, other), receiver.hook_url("/other"))
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"K-{uuid.uuid4().hex}"])

    pay_path, _ = open_order(app, site, selling, item["sku_ids"][0])
    apex.submit(pay_path, {"decision": "approve"})
    run_jobs(app, backend)

    assert {r["path"] for r in receiver.received} == {"/selling"}
    assert len(receiver.received) == 2
    assert deliveries(app, other) == []
    # The other store's back-office shows its own (empty) log, not the selling store's.
    log = owner_of(site, other).get(f"/admin/webhooks/{other_id}").get_data(as_text=True)
    assert "尚未发送任何消息" in log and "msg_" not in log


# -- retries, redirects, resend --------------------------------------------------------------------


def test_a_failing_receiver_is_retried_with_the_same_webhook_id(
    app, backend, make_store, site, receiver, private_targets
):
    store = make_store()
    admin = owner_of(site, store)
    endpoint_id, secret = add_endpoint(admin, receiver.hook_url())
    receiver.script = [(500, {})]
    admin.submit(f"/admin/webhooks/{endpoint_id}", {}, action=f"/admin/webhooks/{endpoint_id}/test")
    run_jobs(app, backend)

    [first] = deliveries(app, store)
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert first.last_error == "HTTP 500"
    wait = first.next_attempt_at - first.last_attempt_at
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=6)

    make_due(app, store, in_seconds=3600)  # a slow machine must not make it due already
    sweep(app, backend)  # not due yet: nothing is sent
    assert len(receiver.received) == 1
    make_due(app, store)
    sweep(app, backend)

    assert len(receiver.received) == 2
    ids = {r["headers"]["webhook-id"] for r in receiver.received}
    assert ids == {first.message_id}
    assert all(verified(secret, r) for r in receiver.received)
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    [done] = deliveries(app, store)
    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 2, 200)
    assert done.delivered_at is not None and done.next_attempt_at is None


def test_a_message_fails_for_good_after_the_last_attempt(
    app, backend, make_store, site, receiver, private_targets
):
    store = make_store()
    admin = owner_of(site, store)
    endpoint_id, _ = add_endpoint(admin, receiver.hook_url())
    receiver.script = [(503, {})] * 2
    admin.submit(f"/admin/webhooks/{endpoint_id}", {}, action=f"/admin/webhooks/{endpoint_id}/test")
    run_jobs(app, backend)
    with app.app_context(), tenant_context(store):
        db.session.execute(update(WebhookDelivery).values(attempts=services.MAX_ATTEMPTS - 1))
        db.session.commit()
    make_due(app, store)
    sweep(app, backend)

    [delivery] = deliveries(app, store)
    assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert delivery.next_attempt_at is None and delivery.last_status_code == 503
    sweep(app, backend)
    assert len(receiver.received) == 2


def test_an_endpoint_that_answers_gone_is_disabled(
    app, backend, make_store, site, receiver, private_targets
):
    store = make_store()
    admin = owner_of(site, store)
    endpoint_id, _ = add_endpoint(admin, receiver.hook_url())
    receiver.script = [(410, {})]
    admin.submit(f"/admin/webhooks/{endpoint_id}", {}, action=f"/admin/webhooks/{endpoint_id}/test")
    run_jobs(app, backend)

    [delivery] = deliveries(app, store)
    assert (delivery.status, delivery.last_status_code) == ("failed", 410)
    with app.app_context(), tenant_context(store):
        assert db.session.get(WebhookEndpoint, endpoint_id).is_active is False


def test_redirects_are_not_followed(app, backend, make_store, site, receiver, private_targets):
    store = make_store()
    admin = owner_of(site, store)
    endpoint_id, _ = add_endpoint(admin, receiver.hook_url())
    receiver.script = [(302, {"Location": receiver.hook_url("/elsewhere")})]
    admin.submit(f"/admin/webhooks/{endpoint_id}", {}, action=f"/admin/webhooks/{endpoint_id}/test")
    run_jobs(app, backend)

    assert [r["path"] for r in receiver.received] == ["/hook"]
    [delivery] = deliveries(app, store)
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert "redirects are not followed" in delivery.last_error


def test_resend_sends_the_same_message_again_with_a_new_signature(
    app, backend, make_store, site, receiver, private_targets
):
    store = make_store()
    admin = owner_of(site, store)
    endpoint_id, old_secret = add_endpoint(admin, receiver.hook_url())
    page = f"/admin/webhooks/{endpoint_id}"
    admin.submit(page, {}, action=f"{page}/test")
    run_jobs(app, backend)
    [delivery] = deliveries(app, store)
    assert delivery.status == "succeeded" and delivery.event_type == "webhook.test"

    rolled = admin.submit(page, {}, action=f"{page}/secret").get_data(as_text=True)
    new_secret = SECRET_RE.search(rolled).group(0)
    assert new_secret != old_secret
    time.sleep(1)  # so the new attempt's timestamp differs
    resent = admin.submit(page, {}, action=f"{page}/deliveries/{delivery.message_id}/resend")
    assert resent.status_code == 302
    run_jobs(app, backend)

    first, second = receiver.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == delivery.message_id
    assert first["body"] == second["body"]
    assert int(second["headers"]["webhook-timestamp"]) > int(first["headers"]["webhook-timestamp"])
    assert verified(old_secret, first) and verified(new_secret, second)
    assert not verified(old_secret, second)
    [again] = deliveries(app, store)
    assert (again.status, again.attempts) == ("succeeded", 1)
    log = admin.get(page).get_data(as_text=True)
    assert delivery.message_id in log and "webhook.test" in log


# -- who may do what -------------------------------------------------------------------------------


def test_secrets_are_sealed_and_only_owners_and_admins_change_webhooks(
    app, make_store, site, receiver, private_targets
):
    store = make_store()
    endpoint_id, secret = add_endpoint(owner_of(site, store), receiver.hook_url())
    with app.app_context(), tenant_context(store):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert secret not in endpoint.secret_sealed and secret[6:] not in endpoint.secret_sealed
        assert services.endpoint_secret(store, endpoint) == secret
        clerk = StaffUser(email="clerk@example.com", name="Clerk", role="support")
        clerk.set_password("clerk-pass-1")
        db.session.add(clerk)
        db.session.commit()

    staff = site(f"{store.slug}.{APEX}")
    staff.login_store("clerk@example.com", "clerk-pass-1")
    listing = staff.get("/admin/webhooks")
    assert listing.status_code == 403 and receiver.hook_url() not in listing.get_data(as_text=True)
    assert staff.get(f"/admin/webhooks/{endpoint_id}").status_code == 403
    token = staff.csrf_token("/admin/")
    for action in ("test", "secret", "active", "delete"):
        refused = staff.post(f"/admin/webhooks/{endpoint_id}/{action}", data={"csrf_token": token})
        assert refused.status_code == 403
    created = staff.post(
        "/admin/webhooks",
        data={"csrf_token": token, "url": receiver.hook_url(), "events": ["order.paid"]},
    )
    assert created.status_code == 403
    with app.app_context(), tenant_context(store):
        assert [e.is_active for e in db.session.scalars(select(WebhookEndpoint))] == [True]
        assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_bad_endpoints_are_refused_with_the_field_that_is_wrong(app, make_store, site):
    store = make_store()
    admin = owner_of(site, store)
    for url, events, message in (
        ("ftp://example.com/hook", ["order.paid"], "https:// 或 http://"),
        ("https://user:pw@example.com/hook", ["order.paid"], "用户名和密码"),
        ("https://example.com/" + "x" * 600, ["order.paid"], "500"),
        ("https://93.184.215.14/hook", [], "请至少选择一个事件"),
        ("https://93.184.215.14/hook", ["order.nope"], "请至少选择一个事件"),
    ):
        page = admin.submit("/admin/webhooks", {"url": url, "events": events})
        assert page.status_code == 400 and message in page.get_data(as_text=True), url
    with app.app_context(), tenant_context(store):
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


# -- SSRF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("64:ff9b::a01:203", False),  # NAT64 around 10.1.2.3
        ("2001:db8::1", False),  # documentation
    ],
)
def test_only_public_addresses_are_reachable(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_private_and_loopback_endpoints_are_refused_at_registration(app, make_store, site):
    assert app.config["WEBHOOKS_ALLOW_PRIVATE"] is False
    store = make_store()
    admin = owner_of(site, store)
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9000/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "http://0.0.0.0/",
    ):
        page = admin.submit("/admin/webhooks", {"url": url, "events": ["order.paid"]})
        assert page.status_code == 400, url
        assert "Webhook 只发往公网地址" in page.get_data(as_text=True), url
    with app.app_context(), tenant_context(store):
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_private_targets_are_refused_at_delivery_when_the_setting_is_off(
    app, backend, make_store, site, receiver, private_targets, monkeypatch
):
    store = make_store()
    admin = owner_of(site, store)
    endpoint_id, _ = add_endpoint(admin, receiver.hook_url())
    # Registered while allowed; the operator turns the setting off (or DNS now says loopback).
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    monkeypatch.delenv("WEBHOOKS_ALLOW_PRIVATE")
    admin.submit(f"/admin/webhooks/{endpoint_id}", {}, action=f"/admin/webhooks/{endpoint_id}/test")
    run_jobs(app, backend)

    assert receiver.received == []
    [delivery] = deliveries(app, store)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error.startswith("Refused:") and "127.0.0.1" in delivery.last_error


def test_the_request_goes_to_the_checked_address_with_the_name_in_the_host_header(receiver):
    """No second DNS lookup: a name that resolves nowhere is still sent to the pinned address."""
    port = int(receiver.url.rsplit(":", 1)[1])
    target = Target(
        "http", "hooks.invalid", port, "/hook?x=1", (ipaddress.ip_address("127.0.0.1"),)
    )
    answer = post(target, {"webhook-id": "msg_1"}, b"{}")
    assert answer.status_code == 200 and answer.excerpt == "ok"
    [request] = receiver.received
    assert request["headers"]["host"] == f"hooks.invalid:{port}"
    assert request["path"] == "/hook"


def test_https_to_a_pinned_address_checks_the_certificate_for_the_name(tmp_path):
    cert, key = _self_signed_certificate(tmp_path, "hooks.example")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.headers["Host"])
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port, loopback = server.server_address[1], (ipaddress.ip_address("127.0.0.1"),)
        good = Target("https", "hooks.example", port, "/", loopback)
        assert post(good, {}, b"{}", ca_certs=str(cert)).status_code == 204
        assert seen == [f"hooks.example:{port}"]
        wrong_name = Target("https", "other.example", port, "/", loopback)
        with pytest.raises(SendError):
            post(wrong_name, {}, b"{}", ca_certs=str(cert))
        with pytest.raises(SendError):  # not signed by a CA we trust
            post(good, {}, b"{}")
    finally:
        server.shutdown()
        server.server_close()


def _self_signed_certificate(folder, name):
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
