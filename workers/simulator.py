"""A top-up supplier on a real local socket, for development, demos and tests.

It speaks the wire format of a typical Chinese 直充 supplier: parameters as a form (or a JSON
object), every request signed `md5("k=v&…" + "&key=" + key)` over the sorted non-empty parameters
other than `sign` (lowercase hex), answers in JSON. `code` 0 means the request was read; the order
itself is in `status`:

    POST /api/order    reference, sku, quantity, account, face_value (cents), callback_url,
                       timestamp, sign  ->  {code, order_id, reference, status, message, ...}
    POST /api/query    reference, timestamp, sign  ->  the order, or status "not_found"
    POST /api/balance  timestamp, sign  ->  {code, balance}  (cents)
    GET  /api/products timestamp, sign  ->  {code, products: [{code, name, cost, stock, ...}]}

A repeated reference answers the order it already has and never buys twice. An order answered
"processing" settles after `callback_delay_ms` and, if it named a callback_url, the simulator
POSTs a signed form there until it hears "success". Knobs (attributes, changeable while it runs):
latency_ms, failure_rate, timeout_rate (record the order, then sleep `stall_seconds` so the
client's answer is lost), processing_rate, callback_delay_ms, partial (quantity > 1 delivers
half), fault ("http_500" or "garbled": every request answered that way), balance_cents.

    python -m workers.simulator --port 8765 --latency-ms 50 --failure-rate 0.1
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_KEY = "simulator-key"
MAX_CLOCK_SKEW_SECONDS = 300
MAX_QUANTITY = 100
FAILURE_REASONS = ("运营商系统维护，充值失败", "充值账号不存在或已停机", "充值渠道繁忙，请稍后再试")
KNOBS = frozenset(
    {
        "latency_ms",
        "failure_rate",
        "timeout_rate",
        "processing_rate",
        "callback_delay_ms",
        "callback_retries",
        "partial",
        "stall_seconds",
        "fault",
        "balance_cents",
        "key",
    }
)
FAULTS = ("", "http_500", "garbled")


def sign(params: dict[str, str], key: str) -> str:
    """The simulator's signature: sorted non-empty params but `sign`, `k=v&…&key=KEY`, md5 hex."""
    content = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])
    return hashlib.md5(f"{content}&key={key}".encode()).hexdigest()


@dataclass
class Product:
    code: str
    name: str
    face_value_cents: int
    cost_cents: int
    stock: int


def default_products() -> dict[str, Product]:
    products = (
        Product("CM10", "中国移动话费 10 元", 1000, 985, 10_000),
        Product("CM50", "中国移动话费 50 元", 5000, 4925, 10_000),
        Product("CU100", "中国联通话费 100 元", 10000, 9850, 10_000),
        Product("QB10", "腾讯 Q 币 10 个", 1000, 960, 500),
        Product("FAIL10", "必定失败的测试商品", 1000, 1000, 10_000),
    )
    return {p.code: p for p in products}


@dataclass
class SimulatedOrder:
    order_id: str
    reference: str
    sku: str
    quantity: int
    account: str
    face_value_cents: int
    callback_url: str
    status: str  # success | processing | failed
    message: str = ""
    delivered_quantity: int | None = None
    cost_cents: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # other parameters, e.g. a game server
    callbacks: list[dict] = field(default_factory=list)  # each delivery attempt and its reply

    def answer(self) -> dict:
        view = {
            "code": 0,
            "order_id": self.order_id,
            "reference": self.reference,
            "sku": self.sku,
            "status": self.status,
            "message": self.message,
            "quantity": self.quantity,
            "cost": self.cost_cents,
        }
        if self.delivered_quantity is not None:
            view["delivered_quantity"] = self.delivered_quantity
        return view


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled answer never holds up stop()
    request_queue_size = 128  # the listen backlog: bursts of concurrent orders are queued
    allow_reuse_address = True


class Simulator:
    """The supplier: start() serves it from a daemon thread; `url` is its base URL."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        key: str = DEFAULT_KEY,
        latency_ms: int = 0,
        failure_rate: float = 0.0,
        timeout_rate: float = 0.0,
        processing_rate: float = 0.0,
        callback_delay_ms: int = 0,
        callback_retries: int = 3,
        partial: bool = False,
        stall_seconds: float = 30.0,
        balance_cents: int = 10_000_000,
        fault: str = "",
        seed: int | None = None,
    ):
        self.host, self.port = host, port
        self.key = key
        self.latency_ms = latency_ms
        self.failure_rate = failure_rate
        self.timeout_rate = timeout_rate
        self.processing_rate = processing_rate
        self.callback_delay_ms = callback_delay_ms
        self.callback_retries = callback_retries
        self.partial = partial
        self.stall_seconds = stall_seconds
        self.balance_cents = balance_cents
        self.fault = fault
        self.products = default_products()
        self.orders: dict[str, SimulatedOrder] = {}  # by our client's reference
        self.callbacks: list[dict] = []  # every callback attempt, in order
        self._purchases: Counter[str] = Counter()  # reference -> times actually bought
        self._received: Counter[str] = Counter()  # reference -> order requests received
        self._random = random.Random(seed)
        self._order_numbers = itertools.count(1)
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # settlements and callback deliveries not finished yet
        self._timers: set[threading.Timer] = set()
        self._server: _Server | None = None

    # -- running ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Simulator:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "KamengSupplierSimulator/1.0"

            def _answer(self):
                simulator._serve(self)

            do_GET = do_POST = _answer

            def log_message(self, format, *args):  # quiet: the orders are the log
                pass

        self._server = _Server((self.host, self.port), Handler)
        # A short poll interval: stop() returns at once instead of after up to half a second.
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        serve.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def configure(self, **knobs) -> None:
        """Change knobs while running, e.g. configure(failure_rate=0.5, latency_ms=200)."""
        unknown = set(knobs) - KNOBS
        if unknown:
            raise ValueError(f"unknown simulator knobs: {', '.join(sorted(unknown))}")
        if knobs.get("fault", "") not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        with self._lock:
            for name, value in knobs.items():
                setattr(self, name, value)

    # -- inspection ---------------------------------------------------------------------------

    def placed_count(self, reference: str) -> int:
        """How many times `reference` was actually bought (never more than 1 if all is well)."""
        with self._lock:
            return self._purchases[reference]

    def received_count(self, reference: str) -> int:
        """How many order requests arrived for `reference`, repeats included."""
        with self._lock:
            return self._received[reference]

    def order(self, reference: str) -> SimulatedOrder | None:
        with self._lock:
            return self.orders.get(reference)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every pending settlement and callback delivery is done."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # -- HTTP ---------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        fault = self.fault
        if fault == "http_500":
            self._write(handler, 500, b"Internal Server Error", "text/plain")
            return
        if fault == "garbled":
            self._write(handler, 200, b'{"code":0,"order_id":"SIM', "application/json")
            return
        try:
            params = self._params(parts.query, body, handler.headers.get("Content-Type", ""))
        except ValueError:
            self._json(handler, 400, {"code": 1002, "message": "参数格式错误"})
            return
        route = (handler.command, parts.path)
        stall = False
        if route == ("POST", "/api/order"):
            status, answer, stall = self._place(params)
        elif route == ("POST", "/api/query"):
            status, answer = self._query(params)
        elif route == ("POST", "/api/balance"):
            status, answer = self._balance(params)
        elif route == ("GET", "/api/products"):
            status, answer = self._catalog(params)
        else:
            status, answer = 404, {"code": 404, "message": "接口不存在"}
        if stall:  # the order is recorded; the client gives up before the answer comes
            time.sleep(self.stall_seconds)
        self._json(handler, status, answer)

    @staticmethod
    def _params(query: str, body: bytes, content_type: str) -> dict[str, str]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "json" in content_type and body:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            params.update({k: "" if v is None else str(v) for k, v in document.items()})
        elif body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return params

    def _json(self, handler, status: int, answer: dict) -> None:
        body = json.dumps(answer, ensure_ascii=False).encode()
        self._write(handler, status, body, "application/json; charset=utf-8")

    @staticmethod
    def _write(handler, status: int, body: bytes, content_type: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            pass

    def _refusal(self, params: dict[str, str], required: tuple[str, ...]) -> dict | None:
        """Why a request is refused before it is read (signature, clock, missing fields)."""
        if not hmac.compare_digest(params.get("sign", "").lower(), sign(params, self.key)):
            return {"code": 1001, "message": "签名错误"}
        try:
            skew = abs(time.time() - int(params.get("timestamp", "")))
        except ValueError:
            skew = None
        if skew is None or skew > MAX_CLOCK_SKEW_SECONDS:
            return {"code": 1003, "message": "时间戳无效或已过期"}
        missing = [name for name in required if not params.get(name)]
        if missing:
            return {"code": 1002, "message": f"缺少参数 {', '.join(missing)}"}
        return None

    # -- the supplier's business --------------------------------------------------------------

    def _place(self, params: dict[str, str]) -> tuple[int, dict, bool]:
        refusal = self._refusal(params, ("reference", "sku", "quantity"))
        if refusal:
            return 200, refusal, False
        try:
            quantity = int(params["quantity"])
            face_value_cents = int(params.get("face_value") or 0)
        except ValueError:
            return 200, {"code": 1002, "message": "quantity 或 face_value 不是整数"}, False
        if not 1 <= quantity <= MAX_QUANTITY or face_value_cents < 0:
            return 200, {"code": 1002, "message": f"数量须在 1 到 {MAX_QUANTITY} 之间"}, False
        reference = params["reference"]
        settle_later = False
        with self._lock:
            self._received[reference] += 1
            stall = self._random.random() < self.timeout_rate
            order = self.orders.get(reference)
            if order is None:  # a repeat answers the order it already has
                order = self._new_order(params, quantity, face_value_cents)
                self.orders[reference] = order
                self._purchases[reference] += 1
                settle_later = order.status == "processing"
            answer = order.answer()
        if settle_later:
            self._schedule(self.callback_delay_ms / 1000, self._settle_and_notify, reference)
        return 200, answer, stall

    def _new_order(self, params: dict[str, str], quantity: int, face_value_cents: int):
        known = {"reference", "sku", "quantity", "account", "face_value", "callback_url"}
        order = SimulatedOrder(
            order_id=f"SIM{datetime.now():%Y%m%d}{next(self._order_numbers):06d}",
            reference=params["reference"],
            sku=params["sku"],
            quantity=quantity,
            account=params.get("account", ""),
            face_value_cents=face_value_cents,
            callback_url=params.get("callback_url", ""),
            status="processing",
            extra={k: v for k, v in params.items() if k not in known | {"timestamp", "sign"}},
        )
        product = self.products.get(order.sku)
        if order.sku.upper().startswith("FAIL"):
            order.status, order.message = "failed", "该商品维护中，下单失败"
        elif product is None:
            order.status, order.message = "failed", "商品不存在"
        elif self._random.random() < self.processing_rate:
            order.message = "充值处理中"
        else:
            self._settle(order)
        if order.status == "failed":
            order.delivered_quantity = 0
        return order

    def _settle(self, order: SimulatedOrder) -> None:
        """Decide a processing order (lock held): deliver what stock and balance allow."""
        product = self.products[order.sku]
        delivered = order.quantity // 2 if self.partial and order.quantity > 1 else order.quantity
        delivered = min(delivered, product.stock)
        cost_cents = product.cost_cents * delivered
        if self._random.random() < self.failure_rate:
            order.status, order.message = "failed", self._random.choice(FAILURE_REASONS)
        elif delivered == 0:
            order.status, order.message = "failed", "库存不足"
        elif cost_cents > self.balance_cents:
            order.status, order.message = "failed", "账户余额不足"
        else:
            product.stock -= delivered
            self.balance_cents -= cost_cents
            order.status, order.cost_cents = "success", cost_cents
            order.message = (
                "充值成功"
                if delivered == order.quantity
                else f"部分成功：{delivered}/{order.quantity}"
            )
        order.delivered_quantity = delivered if order.status == "success" else 0

    def _settle_and_notify(self, reference: str) -> None:
        with self._lock:
            order = self.orders[reference]
            self._settle(order)
            notification = {
                "reference": order.reference,
                "order_id": order.order_id,
                "status": order.status,
                "message": order.message,
                "quantity": str(order.quantity),
                "delivered_quantity": str(order.delivered_quantity),
                "timestamp": str(int(time.time())),
            }
            notification["sign"] = sign(notification, self.key)
            url = order.callback_url
        if url:
            self._deliver(order, url, notification, attempt=1)

    def _deliver(self, order: SimulatedOrder, url: str, notification: dict, attempt: int) -> None:
        """POST the notification; a reply other than "success" is retried a few times."""
        request = urllib.request.Request(url, data=urlencode(notification).encode(), method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                status, text = reply.status, reply.read(200).decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, ""
        except OSError as error:
            status, text = 0, str(error)
        record = {"url": url, "params": notification, "attempt": attempt, "status": status}
        record["reply"] = text
        with self._lock:
            order.callbacks.append(record)
            self.callbacks.append(record)
        accepted = status == 200 and text.strip().lower() == "success"
        if not accepted and attempt < self.callback_retries:
            delay = max(self.callback_delay_ms / 1000, 0.1) * attempt
            self._schedule(delay, self._deliver, order, url, notification, attempt + 1)

    def _schedule(self, delay: float, function, *args) -> None:
        """Run `function` after `delay` seconds on a timer thread, counted for wait_idle()."""
        timer: threading.Timer

        def run():
            try:
                function(*args)
            finally:
                with self._idle:
                    self._timers.discard(timer)
                    self._pending -= 1
                    self._idle.notify_all()

        timer = threading.Timer(delay, run)
        timer.daemon = True
        with self._lock:
            self._pending += 1
            self._timers.add(timer)
        timer.start()

    def _query(self, params: dict[str, str]) -> tuple[int, dict]:
        refusal = self._refusal(params, ("reference",))
        if refusal:
            return 200, refusal
        with self._lock:
            order = self.orders.get(params["reference"])
            if order is None:
                return 200, {
                    "code": 0,
                    "reference": params["reference"],
                    "status": "not_found",
                    "message": "订单不存在",
                }
            return 200, order.answer()

    def _balance(self, params: dict[str, str]) -> tuple[int, dict]:
        refusal = self._refusal(params, ())
        if refusal:
            return 200, refusal
        with self._lock:
            return 200, {"code": 0, "balance": self.balance_cents}

    def _catalog(self, params: dict[str, str]) -> tuple[int, dict]:
        refusal = self._refusal(params, ())
        if refusal:
            return 200, refusal
        with self._lock:
            products = [
                {
                    "code": p.code,
                    "name": p.name,
                    "face_value": p.face_value_cents,
                    "cost": p.cost_cents,
                    "stock": p.stock,
                }
                for p in self.products.values()
            ]
        return 200, {"code": 0, "products": products}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m workers.simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the signing key both sides share")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--stall-seconds", type=float, default=30.0)
    parser.add_argument("--processing-rate", type=float, default=0.0)
    parser.add_argument("--callback-delay-ms", type=int, default=0)
    parser.add_argument("--partial", action="store_true", help="quantity > 1 delivers half")
    parser.add_argument("--balance-cents", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    simulator = Simulator(
        args.host,
        args.port,
        key=args.key,
        latency_ms=args.latency_ms,
        failure_rate=args.failure_rate,
        timeout_rate=args.timeout_rate,
        stall_seconds=args.stall_seconds,
        processing_rate=args.processing_rate,
        callback_delay_ms=args.callback_delay_ms,
        partial=args.partial,
        balance_cents=args.balance_cents,
        seed=args.seed,
    ).start()
    print(f"supplier simulator on {simulator.url} (key {simulator.key!r}); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
