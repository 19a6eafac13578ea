"""API callers for tests: a store that offers the API, a customer with a key, signed requests
through the Flask test client (the real app, the real database)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from app.api import keys, signing
from app.billing import services as billing
from tenants.context import tenant_context
from tenants.resolver import tenant_by_id
from tests.support.customer_money import new_customer

APEX = "kameng.test"


def api_store(app, make_store, plan: str = "pro"):
    """A store whose plan includes API access (a fresh TenantRef carrying the plan)."""
    store = make_store()
    with app.app_context():
        if plan != "free":
            billing.assign_plan(store.id, plan, actor="test")
        return tenant_by_id(store.id)


@dataclass
class ApiCaller:
    app: object
    store: object
    customer_id: int
    key_id: str
    secret: str
    client_ip: str = "127.0.0.1"
    host: str = ""

    def __post_init__(self):
        self.host = self.host or f"{self.store.slug}.{APEX}"

    def headers(self, method, path, query="", body=b"", **overrides) -> dict:
        sent = signing.sign_headers(
            self.key_id, self.secret, method, path, query, body, **overrides
        )
        return sent

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body=None,
        raw: bytes | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        sign: dict | None = None,
    ):
        """A signed request; `sign` overrides what is signed (timestamp, nonce, body, path)."""
        body = (
            raw
            if raw is not None
            else (b"" if json_body is None else json.dumps(json_body).encode())
        )
        query = urlencode(params or {})
        sign = dict(sign or {})
        signed_body = sign.pop("body", body)
        signed_path = sign.pop("path", path)
        sent = self.headers(method, signed_path, query, signed_body, **sign)
        if json_body is not None or raw is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        client = self.app.test_client()
        return client.open(
            path + (f"?{query}" if query else ""),
            method=method,
            data=body,
            headers=sent,
            base_url=f"http://{self.host}",
            environ_base={"REMOTE_ADDR": self.client_ip},
        )


def api_caller(app, store, *, scopes=("read", "order"), allowed_ips="", customer_id=None):
    customer_id = customer_id or new_customer(app, store)
    with app.app_context(), tenant_context(store):
        key, secret = keys.create_key(
            store, customer_id, name=f"key-{uuid.uuid4().hex[:4]}", scopes=scopes,
            allowed_ips=allowed_ips,
        )  # fmt: skip
        return ApiCaller(app, store, customer_id, key.key_id, secret)
