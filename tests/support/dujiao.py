"""A fake dujiao-next site (Site B): a real local HTTP server speaking its site-to-site Open API
(`/api/v1/upstream/*`) as ../shared/protocols/dujiao-next-openapi.md describes it — HMAC over
method, path, timestamp and body MD5 within ±60 s, `{"ok":…}` envelopes with HTTP statuses,
wallet payment on `POST /orders`, `downstream_order_no` idempotent per credential, orders that
stay `paid` until the site delivers them, and signed callbacks (fixed signing path) to the
order's `callback_url`.

The signing here is written from the notes, independently of app.docking.dujiao_wire."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import requests

from tests.support.gateways.local_server import LocalGateway

API_KEY = "dj_key_example"
API_SECRET = "dj_secret_example_0123456789abcdef"
PREFIX = "/api/v1/upstream"


def dj_signature(secret: str, method: str, path: str, stamp: str, body: bytes) -> str:
    text = f"{method}\n{path}\n{stamp}\n{hashlib.md5(body).hexdigest()}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass
class DjSku:
    id: int
    price: str
    keys: list[str] = field(default_factory=list)
    unlimited: bool = False
    spec: str = "默认"


@dataclass
class DjProduct:
    id: int
    title: str
    skus: list[DjSku]
    fulfillment_type: str = "auto"
    category_id: int = 1


@dataclass
class DjOrder:
    order_id: int
    order_no: str
    downstream_order_no: str
    sku_id: int
    quantity: int
    amount: Decimal
    callback_url: str
    status: str = "paid"
    payload: str = ""
    delivered_at: str = ""


class FakeDujiaoNext(LocalGateway):
    def __init__(self, wallet: str = "100.00"):
        super().__init__()
        self.wallet = Decimal(wallet)
        self.products: list[DjProduct] = []
        self.orders: list[DjOrder] = []
        self.callbacks: list[tuple[int, str]] = []  # (HTTP status, body) of each sent
        self.callback_target = ""  # base URL the callbacks go to instead of the URL's host
        self.stall_next_order = 0.0
        self.down = False

    # -- set-up and the site's own actions ---------------------------------------------------------

    def add(self, product: DjProduct) -> DjProduct:
        with self.lock:
            self.products.append(product)
            return product

    def sku(self, sku_id: int) -> tuple[DjProduct, DjSku] | None:
        for product in self.products:
            for sku in product.skus:
                if sku.id == sku_id:
                    return product, sku
        return None

    def deliver(self, order_id: int, *, send_callback: bool = True) -> DjOrder:
        """The site fulfils a paid order (its asynchronous procurement) and tells us."""
        with self.lock:
            order = next(o for o in self.orders if o.order_id == order_id)
            _, sku = self.sku(order.sku_id)
            order.payload = "\n".join(sku.keys[: order.quantity])
            del sku.keys[: order.quantity]
            order.status = "delivered"
            order.delivered_at = "2026-03-01T12:01:00Z"
        if send_callback:
            self.send_callback(order)
        return order

    def callback_body(self, order: DjOrder) -> bytes:
        event = {
            "event": "order.fulfilled" if order.status == "delivered" else "order.status_changed",
            "order_id": order.order_id,
            "order_no": order.order_no,
            "downstream_order_no": order.downstream_order_no,
            "status": order.status,
            "timestamp": int(time.time()),
        }
        if order.status == "delivered":
            event["fulfillment"] = {
                "type": "auto", "status": "delivered", "payload": order.payload,
                "delivery_data": None, "delivered_at": order.delivered_at,
            }  # fmt: skip
        return json.dumps(event, separators=(",", ":")).encode()

    def send_callback(self, order: DjOrder, *, secret: str = API_SECRET) -> requests.Response:
        body = self.callback_body(order)
        stamp = str(int(time.time()))
        parts = urlsplit(order.callback_url)
        url = (self.callback_target or f"{parts.scheme}://{parts.netloc}") + parts.path
        response = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Dujiao-Next-Api-Key": API_KEY,
                "Dujiao-Next-Timestamp": stamp,
                # The fixed signing path, whatever the callback URL's own path is.
                "Dujiao-Next-Signature": dj_signature(
                    secret, "POST", "/api/v1/upstream/callback", stamp, body
                ),
                "Host": parts.netloc,
            },
            timeout=10,
        )
        self.callbacks.append((response.status_code, response.text))
        return response

    # -- the wire ----------------------------------------------------------------------------------

    def handle(self, method, path, query, headers, body):
        if self.down:
            return 503, {"Content-Type": "text/plain"}, b"maintenance"
        key = headers.get("Dujiao-Next-Api-Key")
        stamp = headers.get("Dujiao-Next-Timestamp")
        given = headers.get("Dujiao-Next-Signature")
        if not (key and stamp and given):
            return self._error(401, "missing_auth_headers")
        if not stamp.isdigit():
            return self._error(401, "invalid_timestamp")
        if abs(time.time() - int(stamp)) > 60:
            return self._error(401, "timestamp_expired")
        if key != API_KEY:
            return self._error(403, "invalid_api_key")
        if not hmac.compare_digest(dj_signature(API_SECRET, method, path, stamp, body), given):
            return self._error(401, "invalid_signature")
        route = path[len(PREFIX) :]
        if method == "POST" and route == "/ping":
            return self._ok(
                site_name="Fake 独角",
                protocol_version="1.0",
                user_id=7,
                balance=f"{self.wallet:.2f}",
                currency="CNY",
                member_level=None,
            )
        if method == "GET" and route == "/categories":
            return self._ok(
                categories=[
                    {
                        "id": 1,
                        "parent_id": 0,
                        "slug": "games",
                        "name": {"zh-CN": "游戏"},
                        "icon": "",
                        "sort_order": 0,
                    }
                ]
            )
        if method == "GET" and route == "/products":
            return self._products(query)
        if method == "POST" and route == "/orders":
            return self._create(json.loads(body or b"{}"))
        if method == "GET" and route.startswith("/orders/"):
            return self._order(route.rsplit("/", 1)[1])
        return self._error(404, "not_found")

    def _ok(self, **fields):
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"ok": True, **fields}).encode(),
        )

    def _error(self, status, code, message=""):
        body = {"ok": False, "error_code": code, "error_message": message or code}
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _products(self, query):
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        page, size = int(params.get("page", 1)), int(params.get("page_size", 20))
        items = [
            {
                "id": p.id, "slug": f"p{p.id}", "title": {"zh-CN": p.title},
                "description": {"zh-CN": f"{p.title} 自动发货"}, "price_amount": p.skus[0].price,
                "fulfillment_type": p.fulfillment_type, "manual_form_schema": None,
                "is_active": True, "category_id": p.category_id,
                "skus": [
                    {"id": s.id, "sku_code": f"S{s.id}", "spec_values": {"面值": s.spec},
                     "price_amount": s.price, "is_active": True,
                     "stock_status": "unlimited" if s.unlimited else (
                         "out_of_stock" if not s.keys else "in_stock"),
                     "stock_quantity": -1 if s.unlimited else len(s.keys)}
                    for s in p.skus
                ],
            }
            for p in self.products
        ]  # fmt: skip
        chunk = items[(page - 1) * size : page * size]
        return self._ok(items=chunk, total=len(items), page=page, page_size=size)

    def _view(self, order: DjOrder) -> dict:
        view = {"order_id": order.order_id, "order_no": order.order_no, "status": order.status,
                "amount": f"{order.amount:.2f}", "currency": "CNY"}  # fmt: skip
        return view

    def _create(self, body):
        ref = body.get("downstream_order_no")
        if ref:
            existing = next((o for o in self.orders if o.downstream_order_no == ref), None)
            if existing is not None:
                return self._ok(**self._view(existing))
        found = self.sku(int(body.get("sku_id") or 0))
        quantity = int(body.get("quantity") or 0)
        if found is None or quantity < 1:
            return self._error(400, "sku_unavailable")
        callback_url = body.get("callback_url") or ""
        if callback_url:
            host = urlsplit(callback_url).hostname or ""
            if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.startswith("10."):
                return self._error(400, "invalid_callback_url")
        _, sku = found
        if not sku.unlimited and len(sku.keys) < quantity:
            return self._error(409, "insufficient_stock")
        amount = Decimal(sku.price) * quantity
        if self.wallet < amount:
            return self._error(402, "insufficient_balance")
        self.wallet -= amount
        order_id = 100 + len(self.orders) + 1
        order = DjOrder(order_id, f"DJ{order_id:08d}", ref or "", sku.id, quantity, amount,
                        callback_url)  # fmt: skip
        self.orders.append(order)
        if self.stall_next_order:
            stall, self.stall_next_order = self.stall_next_order, 0.0
            self.lock.release()
            try:
                time.sleep(stall)
            finally:
                self.lock.acquire()
        return self._ok(**self._view(order))

    def _order(self, order_id: str):
        order = next((o for o in self.orders if str(o.order_id) == order_id), None)
        if order is None:
            return self._error(404, "order_not_found")
        view = self._view(order)
        if order.status == "delivered":
            view["fulfillment"] = {
                "type": "auto",
                "status": "delivered",
                "payload": order.payload,
                "delivery_data": None,
                "delivered_at": order.delivered_at,
            }
        return self._ok(**view)
