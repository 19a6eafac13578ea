"""Operations: alive and ready probes, Prometheus metrics only for the monitoring network,
request ids, and JSON log lines that carry the request and store but never secrets."""

import json
import logging

from sqlalchemy import update

from app.extensions import db
from app.observability.logs import ContextFilter, JsonFormatter
from tenants.models import Tenant
from tests.support.money import card_sku, paid_order


def test_alive_and_ready(apex, app, make_store):
    assert apex.get("/healthz").json == {"status": "ok"}
    ready = apex.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert set(ready.json["checks"]) == {"database", "redis", "migrations"}

    store = make_store()
    with app.app_context():
        db.session.execute(
            update(Tenant).where(Tenant.id == store.id).values(schema_revision="t0001")
        )
        db.session.commit()
    behind = apex.get("/readyz")
    assert behind.status_code == 503
    assert "behind" in behind.json["checks"]["migrations"]["detail"]
    with app.app_context():
        from tenants.migrations import tenant_head

        db.session.execute(
            update(Tenant).where(Tenant.id == store.id).values(schema_revision=tenant_head())
        )
        db.session.commit()
    assert apex.get("/readyz").status_code == 200


def test_metrics_are_for_the_monitoring_network_only(apex, app, make_store, monkeypatch):
    store = make_store()
    paid_order(app, store, card_sku(app))
    scraped = apex.get("/metrics")
    assert scraped.status_code == 200
    text = scraped.text
    assert 'kameng_order_transitions_total{to_status="delivered"}' in text
    assert 'kameng_payment_notifications_total{outcome="delivered",provider="sandbox"}' in text
    assert "kameng_http_request_seconds_bucket" in text and "kameng_queue_depth" in text
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert apex.get("/metrics", environ_base=outside).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token")
    with_token = apex.get(
        "/metrics", environ_base=outside, headers={"Authorization": "Bearer scrape-token"}
    )
    assert with_token.status_code == 200
    wrong = apex.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 404


def test_every_response_carries_a_request_id(apex):
    given = apex.get("/healthz", headers={"X-Request-ID": "edge-42.a_b"})
    assert given.headers["X-Request-ID"] == "edge-42.a_b"
    forged = apex.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(forged.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_request_and_store_and_redact_secrets(app, make_store):
    from tenants.context import tenant_context

    store = make_store()
    record = logging.LogRecord("kameng.test", logging.INFO, __file__, 1, "paid %s", ("K1",), None)
    record.kameng_order = "K1"
    record.kameng_api_secret = "s3cr3t"
    with app.test_request_context("/", headers={"X-Request-ID": "req-1"}):
        app.preprocess_request()
        with tenant_context(store):
            ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "paid K1" and line["request_id"] == "req-1"
    assert line["store"] == store.id and line["order"] == "K1"
    assert line["api_secret"] == "[redacted]" and "s3cr3t" not in json.dumps(line)
