"""A small client of the Kameng store API v1 (signing, idempotency, problems, pagination).

Used by the `kameng` supplier connector (one Kameng platform docked to another) and meant to be
copied by B2B buyers: it needs only `requests` and app.api.signing (pure, standard library).

    client = KamengClient("https://acme.example.com", "kk_…", "ks_…")
    order = client.create_order(sku_id=12, quantity=1, reference="my-order-1001")
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import requests

from app.api import signing

API_PREFIX = "/api/v1"


class TransportError(RuntimeError):
    """No usable answer (connection, timeout, 5xx, not JSON): the outcome is unknown."""


class ApiError(RuntimeError):
    """The API answered with a problem (4xx)."""

    def __init__(self, status: int, problem: dict):
        self.status = status
        self.problem = problem
        self.slug = str(problem.get("type", "")).rsplit("#problem-", 1)[-1]
        super().__init__(f"{status} {self.slug}: {problem.get('detail', '')}")


class KamengClient:
    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret: str,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        verify: bool | str = True,
    ):
        parts = urlsplit(base_url.rstrip("/"))
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/") or ""
        self.key_id, self.secret, self.timeout = key_id, secret, timeout
        self.session = session or requests.Session()
        self.verify = verify

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        headers: dict | None = None,
    ) -> tuple[int, dict | None, dict]:
        """Send one signed request; (status, JSON or None, response headers). Raises ApiError
        for a 4xx problem and TransportError when the outcome is unknown."""
        full_path = self.prefix + API_PREFIX + path
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        sent = signing.sign_headers(self.key_id, self.secret, method, full_path, query, data)
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = self.origin + full_path + (f"?{query}" if query else "")
        try:
            response = self.session.request(
                method, url, data=data or None, headers=sent, timeout=self.timeout,
                verify=self.verify, allow_redirects=False,
            )  # fmt: skip
        except requests.RequestException as error:
            raise TransportError(f"{method} {full_path}: {error}") from error
        if response.status_code >= 500:
            raise TransportError(f"{method} {full_path}: HTTP {response.status_code}")
        if response.status_code == 204:
            return 204, None, dict(response.headers)
        try:
            payload = response.json()
        except ValueError:
            raise TransportError(f"{method} {full_path}: not JSON") from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, payload)
        return response.status_code, payload, dict(response.headers)

    # -- endpoints -------------------------------------------------------------------------------

    def products(self) -> list[dict]:
        return self.request("GET", "/products")[1]["products"]

    def product(self, product_id: int) -> dict:
        return self.request("GET", f"/products/{product_id}")[1]

    def balance(self) -> dict:
        return self.request("GET", "/balance")[1]

    def create_order(
        self,
        *,
        sku_id: int,
        quantity: int = 1,
        account_fields: dict | None = None,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """Place an order paid from the balance. `reference` (your order number) makes it
        idempotent for ever; `idempotency_key` replays the first answer for 24 hours."""
        body = {"sku_id": sku_id, "quantity": quantity}
        if account_fields:
            body["account_fields"] = dict(account_fields)
        if reference:
            body["reference"] = reference
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.request("POST", "/orders", body=body, headers=headers)[1]

    def order(self, order_no: str) -> dict:
        return self.request("GET", f"/orders/{order_no}")[1]

    def orders(
        self, *, cursor: str | None = None, limit: int = 20, reference: str | None = None
    ) -> dict:
        params = {"cursor": cursor, "limit": limit, "reference": reference}
        return self.request("GET", "/orders", params=params)[1]

    def order_by_reference(self, reference: str) -> dict | None:
        """Your order with this reference, keys included, or None."""
        found = self.orders(reference=reference, limit=1)["orders"]
        return self.order(found[0]["order_no"]) if found else None

    def iter_orders(self, *, limit: int = 100) -> Iterator[dict]:
        cursor = None
        while True:
            page = self.orders(cursor=cursor, limit=limit)
            yield from page["orders"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def cancel(self, order_no: str) -> dict:
        return self.request("POST", f"/orders/{order_no}/cancel")[1]

    def webhook(self) -> dict:
        return self.request("GET", "/webhook")[1]

    def set_webhook(self, url: str, events: list[str] | None = None) -> dict:
        body = {"url": url} if events is None else {"url": url, "events": events}
        return self.request("PUT", "/webhook", body=body)[1]

    def delete_webhook(self) -> None:
        self.request("DELETE", "/webhook")
