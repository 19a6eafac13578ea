"""Schemathesis explores every documented /api/v1 operation with generated requests (signed, so
they reach the views) and checks each answer: never a 5xx, a documented status code and content
type, and a body that matches the document."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.openapi import document
from tests.support.api import api_caller, api_store
from tests.support.customer_money import topped_up
from tests.support.money import card_sku

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25


def _body_bytes(case) -> bytes:
    body = getattr(case, "body", None)
    if body is None or type(body).__name__ == "NotSet":
        return b""
    return json.dumps(body).encode()


def test_schemathesis_finds_no_server_errors(app, make_store):
    store = api_store(app, make_store)
    caller = api_caller(app, store)
    topped_up(app, store, caller.customer_id, 100_000)
    sku = card_sku(app, wholesale=100, keys=50)  # something real to buy
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(document("http://x"))))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in document("http://x")["paths"].values())
    client = app.test_client()
    SEEN = []  # (method, path template, status)

    def send(case):
        body = _body_bytes(case)
        query = urlencode(case.query or {}, doseq=True)
        path = quote(case.formatted_path, safe="/-_.~!$&'()*+,;=:@")
        headers = {k: str(v) for k, v in (case.headers or {}).items()}
        headers.update(caller.headers(case.method, path, query, body))
        if body:
            headers["Content-Type"] = "application/json"
        response = client.open(
            path + (f"?{query}" if query else ""),
            method=case.method,
            data=body,
            headers=headers,
            base_url=f"http://{caller.host}",
        )
        case.validate_response(response, checks=CHECKS)
        SEEN.append((case.method, case.path, response.status_code))

    for operation in operations:
        if operation.method.upper() == "POST" and operation.path == "/api/v1/orders":
            # One real purchase among the generated ones (random ids seldom name a real SKU).
            send(operation.Case(body={"sku_id": sku, "quantity": 1}, media_type="application/json"))

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def explore(case):
            send(case)

        explore()
    reached = {(method, path) for method, path, status in SEEN if status < 300}
    assert {("GET", "/api/v1/products"), ("GET", "/api/v1/orders"), ("POST", "/api/v1/orders")} <= (
        reached
    ), "the generated requests should also get through to real work"
