"""Complete purchases over HTTP on the production shape: gunicorn (2 workers), PostgreSQL, Redis.

    python -m benchmarks.checkout [--stores 100] [--clients 32] [--duration 20 | --purchases N]

Builds a scratch database through the real services: N stores (each with its own store-wide
markup, so amounts differ per store), one card-key product with a few SKUs and 30,000 keys, the
sandbox provider on (SANDBOX_PAYMENTS=true). Then 32 client threads, spread over a few client
processes, each buy one key at a time as a browser and the gateway would:

1. GET  /checkout?sku=ID&quantity=1 on the store host → the form and its CSRF token;
2. POST the form (e-mail, query password, provider=sandbox) → 302 to the sandbox gateway;
3. as the gateway: POST the signed notification to /payments/callback/sandbox → "success";
4. as the buyer back from the gateway: GET the signed order page → the delivered key.

Prints purchases_per_s (target ≥ 150), errors, oversold, double_delivered (all 0),
callback_to_key_p95_ms (target ≤ 100: from sending the callback to holding the key), ledger
problems, per-step latencies and where the machine's CPU went. Afterwards the database is checked:
keys sold vs keys delivered to each order, ledger `order_paid` transactions per order, and the
ledger's own verify().

Honest limits: every request comes from 127.0.0.1 (no forged X-Forwarded-For, TRUSTED_PROXIES
stays 0), so rate limiting is off for the server (RATELIMIT_ENABLED=false) and each store allows
20 unpaid orders per address and per contact — the most its settings accept; the buyers pay at
once, so a store never holds more than a handful. No job worker runs: the jobs the purchases
enqueue (delivery e-mails, low-stock checks) wait in Redis and are counted.

Exits 1 when a correctness figure is not zero (errors, oversold, double_delivered,
ledger_problems); missing a speed target is reported, not an exit status. --profile N then runs
N purchases in-process (Flask's test client) and prints milliseconds and SQL statements per step
and cProfile's top functions to stderr.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import queue
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from benchmarks.storefront import free_port, run_gunicorn
from benchmarks.support import bench_config, emit, percentile, scratch_postgres

REDIS_URL = os.environ.get("KAMENG_BENCH_REDIS", "redis://127.0.0.1:6379/11")
DOMAIN = "bench.test"
SECRET_KEY = "bench"
QUERY_PASSWORD = "lookup-1"
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
GATEWAY_LOCATION = re.compile(rf"^http://{re.escape(DOMAIN)}/pay/sandbox/(P(\d+)[0-9A-F]{{6}})$")
DELIVERED_KEY = re.compile(r"<code>(BK\d+-\d+)</code>")
MAX_ERRORS_PER_THREAD = 50


# -- data -----------------------------------------------------------------------------------------


def build_data(config: dict, stores: int, skus: int, keys: int) -> list[dict]:
    """Stores, SKUs and keys through the real services; returns what a buyer can buy where:
    [{store, host, sku_id, amount_cents, currency}] (prices are fixed during the run)."""
    from app import create_app
    from app.catalog import services as catalog
    from app.catalog.models import Product, Sku
    from app.extensions import db
    from app.inventory.services import import_keys
    from app.merchant.services import update_checkout_settings
    from app.pricing.services import save_rule
    from app.storefront.catalog import product as store_product
    from tenants.context import tenant_context
    from tenants.engines import registry
    from tenants.migrations import upgrade_shared
    from tenants.provisioning import create_tenant

    app = create_app(config)
    with app.app_context():
        upgrade_shared(registry())
        category = catalog.save_category(None, name="点卡", parent_id=None)
        product = catalog.save_product(
            None,
            name="基准点卡",
            category_id=category.id,
            delivery_type="card_key",
            description_md="**基准** 点卡",
        )
        sku_ids = []
        for s in range(skus):
            sku = catalog.save_sku(
                None,
                product_id=product.id,
                code=f"BK-{s}",
                name=f"{(s + 1) * 10} 元",
                face_value_cents=(s + 1) * 1000,
                wholesale_cents=(s + 1) * 950,
                cost_cents=(s + 1) * 900,
            )
            sku_ids.append(sku.id)
        catalog.set_published(db.session.get(Product, product.id), True)
        product_id = product.id
        per_sku = keys // skus
        for sku_id in sku_ids:
            lines = [f"BK{sku_id}-{k:06d}----PW{sku_id}{k:06d}" for k in range(per_sku)]
            report = import_keys(db.session.get(Sku, sku_id), lines, separator="----")
            if report.added != per_sku:
                raise SystemExit(f"SKU {sku_id}: imported {report.added} of {per_sku} keys")

    def open_store(i: int) -> list[dict]:
        with app.app_context():
            store = create_tenant(
                slug=f"buy{i:05d}",
                name=f"店铺 {i}",
                owner_email=f"o{i}@example.com",
                owner_password="bench-pass-1",
            ).tenant
            with tenant_context(store):
                save_rule(store, "store", 0, "percent", 1000 + (i % 10) * 100, "none")
                update_checkout_settings(
                    payment_providers=[],
                    order_expiry_minutes=15,
                    max_unpaid_per_ip=20,
                    max_unpaid_per_contact=20,
                )
                # The prices the store's checkout charges: the same catalog view create_order uses.
                shown = store_product(store, product_id)
            return [
                {
                    "store": store,
                    "host": store.primary_host,
                    "sku_id": row["id"],
                    "amount_cents": row["price_cents"],
                    "currency": row["currency"],
                }
                for row in shown["skus"]
            ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        targets = [t for rows in pool.map(open_store, range(stores)) for t in rows]
    with app.app_context():
        registry().dispose()
    return targets


# -- the buyer and the gateway --------------------------------------------------------------------


class Connection:
    """One client's HTTP connection to the server, reopened whenever the server closes it (the
    sync workers close after every response). A request is retried once only when it failed on a
    reused keep-alive connection before any answer came back."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, headers: dict, body: bytes | None = None):
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if reused and attempt == 0:
                    continue
                raise
            if response.will_close:
                self.conn.close()
                self.conn = None
            return response, data
        raise AssertionError("unreachable")


class PurchaseFailed(Exception):
    pass


def _session_cookie(response) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            return header.split(";", 1)[0]
    return ""


def purchase(
    connection: Connection, gateway, target: dict, email: str, txn_id: str, query_password: str
) -> dict:
    """One complete purchase; returns its step timings (seconds) and the delivered keys."""
    host, sku_id = target["host"], target["sku_id"]
    page = f"/checkout?sku={sku_id}&quantity=1"
    t0 = time.perf_counter()
    response, body = connection.request("GET", page, {"Host": host})
    if response.status != 200:
        raise PurchaseFailed(f"GET checkout: {response.status}")
    token = CSRF_FIELD.search(body.decode())
    cookie = _session_cookie(response)
    if token is None or not cookie:
        raise PurchaseFailed("GET checkout: no CSRF token or session cookie")
    form = {
        "csrf_token": token.group(1),
        "contact_email": email,
        "provider": "sandbox",
    }
    if query_password:
        form["query_password"] = query_password
    t1 = time.perf_counter()
    response, body = connection.request(
        "POST",
        page,
        {
            "Host": host,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        urlencode(form).encode(),
    )
    location = GATEWAY_LOCATION.match(response.getheader("Location", ""))
    if response.status != 302 or location is None:
        raise PurchaseFailed(f"POST checkout: {response.status} {body[:200]!r}")
    cookie = _session_cookie(response) or cookie
    payment_no, order_no = location.group(1), location.group(2)
    with gateway.app_context():
        params = {
            "payment_no": payment_no,
            "txn_id": txn_id,
            "amount": str(target["amount_cents"]),
            "currency": target["currency"],
            "status": "SUCCESS",
        }
        params["sign"] = gateway.sandbox.sign(params)
        # Where the gateway sends the buyer back (the return_url of the payment).
        order_path = gateway.order_path(target["store"], order_no)
    t2 = time.perf_counter()
    response, body = connection.request(
        "POST",
        "/payments/callback/sandbox",
        {"Host": DOMAIN, "Content-Type": "application/x-www-form-urlencoded"},
        urlencode(params).encode(),
    )
    if response.status != 200 or body != b"success":
        raise PurchaseFailed(f"callback: {response.status} {body[:200]!r}")
    t3 = time.perf_counter()
    response, body = connection.request("GET", order_path, {"Host": host, "Cookie": cookie})
    keys = DELIVERED_KEY.findall(body.decode()) if response.status == 200 else []
    if len(keys) != 1:
        raise PurchaseFailed(f"order page: {response.status}, {len(keys)} keys shown")
    t4 = time.perf_counter()
    return {
        "checkout_get": t1 - t0,
        "checkout_post": t2 - t1,
        "callback": t3 - t2,
        "order_page": t4 - t3,
        "callback_to_key": t4 - t2,
        "total": t4 - t0,
        "order": f"{target['store'].id}:{order_no}",
        "keys": keys,
    }


def make_gateway(secret_key: str):
    """A bare Flask app holding the shared secret: the sandbox gateway signs with the app's own
    SandboxProvider.sign, and the return link is the app's own order_page_url."""
    from flask import Flask

    from app.payments.providers.sandbox import SandboxProvider
    from app.storefront.access import order_page_url

    gateway = Flask("kameng-bench-gateway")
    gateway.config.update(
        SECRET_KEY=secret_key,
        PREFERRED_URL_SCHEME="http",
        PUBLIC_PORT=None,
        PLATFORM_DOMAIN=DOMAIN,
    )
    gateway.sandbox = SandboxProvider({})

    def order_path(store, order_no: str) -> str:
        return order_page_url(store, order_no).split(store.primary_host, 1)[1]

    gateway.order_path = order_path
    return gateway


def client_process(
    index, port, targets, threads, phase, quota, duration, ready, start, counter, results,
    query_password,
):  # fmt: skip
    """A client process: `threads` buyers, each buying one key at a time until the shared quota
    is used up or the duration has passed (counted from the parent's start signal)."""
    gateway = make_gateway(SECRET_KEY)
    lock = threading.Lock()
    timings: list[dict] = []
    errors: Counter = Counter()
    samples: list[str] = []
    finished = [0.0]
    with ready.get_lock():
        ready.value += 1

    def claim(deadline: float) -> int | None:
        with counter.get_lock():
            n = counter.value
            if (quota and n >= quota) or (duration and time.time() >= deadline):
                return None
            counter.value = n + 1
            return n

    def buyer(thread_no: int) -> None:
        connection = Connection(port)
        deadline = start_at[0] + duration
        failures = 0
        while (n := claim(deadline)) is not None:
            target = targets[(n * 7919) % len(targets)]
            try:
                result = purchase(
                    connection,
                    gateway,
                    target,
                    email=f"{phase}{n}@buyers.example.com",
                    txn_id=f"{phase}-{index}-{thread_no}-{n}",
                    query_password=query_password,
                )
            except Exception as error:  # any failure is counted, and the buyer goes on
                failures += 1
                with lock:
                    errors[str(error).split(":", 1)[0]] += 1
                    if len(samples) < 5:
                        samples.append(f"{target['host']} sku {target['sku_id']}: {error}")
                if failures >= MAX_ERRORS_PER_THREAD:
                    break
                continue
            with lock:
                timings.append(result)
                finished[0] = max(finished[0], time.time())

    before = os.times()
    start.wait()
    start_at = [time.time()]
    workers = [threading.Thread(target=buyer, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    after = os.times()
    results.put(
        {
            "timings": timings,
            "errors": dict(errors),
            "samples": samples,
            "finished": finished[0],
            "cpu_s": (after.user - before.user) + (after.system - before.system),
        }
    )


# -- CPU accounting from /proc --------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / TICKS, sum(fields) / TICKS


def process_cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def processes_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == name:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds used by the gunicorn processes, PostgreSQL and Redis between start and stop."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def _snapshot(self) -> dict:
        groups = {
            "gunicorn": [self.server_pid, *children(self.server_pid)],
            "postgres": processes_named("postgres"),
            "redis": processes_named("redis-server"),
        }
        snapshot = {
            name: {pid: process_cpu_s(pid) for pid in pids} for name, pids in groups.items()
        }
        snapshot["machine"] = machine_busy_s()
        return snapshot

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self) -> dict:
        after = self._snapshot()
        used = {
            name: sum(cpu - self.before[name].get(pid, 0.0) for pid, cpu in after[name].items())
            for name in ("gunicorn", "postgres", "redis")
        }
        used["busy"] = after["machine"][0] - self.before["machine"][0]
        used["capacity"] = after["machine"][1] - self.before["machine"][1]
        return used


# -- running --------------------------------------------------------------------------------------


def run_clients(
    port, targets, clients, processes, phase, quota, duration, query_password, meter=None
):
    """Run the buyers; returns (results merged over processes, elapsed seconds, cpu usage)."""
    context = multiprocessing.get_context("spawn")
    ready, start, counter = context.Value("i", 0), context.Event(), context.Value("l", 0)
    results = context.Queue()
    share = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    workers = [
        context.Process(
            target=client_process,
            args=(
                i,
                port,
                targets,
                share[i],
                phase,
                quota,
                duration,
                ready,
                start,
                counter,
                results,
                query_password,
            ),
            daemon=True,
        )
        for i in range(processes)
        if share[i]
    ]
    for worker in workers:
        worker.start()
    deadline = time.time() + 120
    while ready.value < len(workers):  # every client process imported and at the start line
        if time.time() > deadline or not all(worker.is_alive() for worker in workers):
            raise SystemExit("the client processes did not start")
        time.sleep(0.05)
    if meter:
        meter.start()
    started = time.time()
    start.set()
    merged = {"timings": [], "errors": Counter(), "samples": [], "finished": started, "cpu_s": 0.0}
    for _ in workers:
        while True:
            try:
                part = results.get(timeout=5)
                break
            except queue.Empty:
                if not any(worker.is_alive() for worker in workers):
                    raise SystemExit("a client process died without reporting") from None
        merged["timings"] += part["timings"]
        merged["errors"].update(part["errors"])
        merged["samples"] += part["samples"]
        merged["finished"] = max(merged["finished"], part["finished"])
        merged["cpu_s"] += part["cpu_s"]
    usage = meter.stop() if meter else None
    for worker in workers:
        worker.join(timeout=30)
    return merged, max(merged["finished"] - started, 1e-9), usage


def drain(stream, keep: deque) -> None:
    """Read the server's log so it never blocks on a full pipe; keep the last lines."""
    for line in iter(stream.readline, b""):
        keep.append(line.decode(errors="replace").rstrip())


# -- checking the outcome in the database ---------------------------------------------------------


def audit(config: dict, stores: list, keys_at_start: int, delivered_seen: dict) -> dict:
    """Count what must be zero: keys sold beyond stock or to two orders, orders paid twice."""
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.inventory.models import CardKey
    from app.ledger.models import LedgerTransaction
    from app.ledger.services import verify
    from app.orders.models import Order, OrderItem
    from app.payments.models import Payment
    from tenants.context import tenant_context
    from tenants.engines import registry

    app = create_app(config)
    with app.app_context():
        sold = dict(
            db.session.execute(
                select(CardKey.order_ref, func.count())
                .where(CardKey.status == "sold")
                .group_by(CardKey.order_ref)
            ).all()
        )
        by_status = dict(
            db.session.execute(select(CardKey.status, func.count()).group_by(CardKey.status)).all()
        )
        paid_transactions = Counter(
            key.rsplit(":", 1)[0].split(":", 1)[1]
            for key in db.session.scalars(
                select(LedgerTransaction.idempotency_key).where(
                    LedgerTransaction.kind == "order_paid"
                )
            )
        )
        paid_payments = Counter(
            f"{tenant_id}:{order_no}"
            for tenant_id, order_no in db.session.execute(
                select(Payment.tenant_id, Payment.order_no).where(Payment.status == "succeeded")
            )
        )
        ledger_problems = verify()
        db.session.remove()
        orders: dict[str, tuple[str, int]] = {}
        for store in stores:
            with tenant_context(store):
                for order_no, status, quantity in db.session.execute(
                    select(Order.order_no, Order.status, func.sum(OrderItem.quantity))
                    .join(OrderItem, OrderItem.order_id == Order.id)
                    .group_by(Order.order_no, Order.status)
                ):
                    orders[f"{store.id}:{order_no}"] = (status, int(quantity))
                db.session.remove()
        registry().dispose()
    sold_total = sum(sold.values())
    # A sold key belongs to a delivered order, and no order holds more keys than it bought.
    misplaced = sum(
        1
        for ref, count in sold.items()
        if ref not in orders
        or orders[ref][0] not in ("delivered", "partially_refunded")
        or count > orders[ref][1]
    )
    shared_keys = sum(1 for refs in delivered_seen.values() if len(refs) > 1)
    paid_twice = sum(
        1
        for ref, (_, quantity) in orders.items()
        if paid_transactions[ref] > 1 or paid_payments[ref] > 1 or sold.get(ref, 0) > quantity
    )
    statuses = Counter(status for status, _ in orders.values())
    return {
        "oversold": max(0, sold_total - keys_at_start) + misplaced + shared_keys,
        "double_delivered": paid_twice,
        "ledger_problems": len(ledger_problems),
        "ledger_problem_samples": [f"{p.what}: {p.detail}" for p in ledger_problems[:5]],
        "orders": len(orders),
        "delivered_orders": statuses["delivered"],
        "unpaid_orders": statuses["pending_payment"],
        "keys_sold": sold_total,
        "keys_reserved": by_status.get("reserved", 0),
        "order_paid_transactions": sum(paid_transactions.values()),
    }


# -- profile: the same flow in one process --------------------------------------------------------


def profile_in_process(
    config: dict, targets: list[dict], purchases: int, query_password: str
) -> None:
    """The same four steps through Flask's test client (no HTTP server), one buyer at a time:
    milliseconds and SQL statements per step, then cProfile's view of where the time goes;
    printed to stderr."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from app import create_app
    from tenants.engines import registry

    app = create_app(config)
    gateway = make_gateway(SECRET_KEY)
    statements = [0]

    def count_statement(*_args):
        statements[0] += 1

    class Answer:
        """A test-client response seen through the http.client interface purchase() uses."""

        def __init__(self, response):
            self.status = response.status_code
            self.headers = type("Headers", (), {"get_all": response.headers.getlist})()
            self.getheader = lambda name, default=None: response.headers.get(name, default)

    class TestConnection:
        """A new buyer per purchase; the test client keeps the cookies, as a browser would."""

        client = None
        per_step: list[int] = []

        def request(self, method, path, headers, body=None):
            base_url = f"http://{headers['Host']}"
            headers = {k: v for k, v in headers.items() if k not in ("Host", "Cookie")}
            before = statements[0]
            response = self.client.open(
                path, method=method, base_url=base_url, headers=headers, data=body
            )
            self.per_step.append(statements[0] - before)
            return Answer(response), response.get_data()

    connection = TestConnection()

    def run(count: int, phase: str) -> list[dict]:
        done = []
        for n in range(count):
            connection.client = app.test_client()
            connection.per_step = []
            target = targets[(n * 7919) % len(targets)]
            result = purchase(
                connection, gateway, target, f"{phase}{n}@buyers.example.com", f"{phase}{n}",
                query_password,
            )  # fmt: skip
            result["statements"] = connection.per_step
            done.append(result)
        return done

    event.listen(Engine, "before_cursor_execute", count_statement)
    try:
        run(min(50, purchases), "pw")  # warm the caches
        done = run(purchases, "pt")  # timed without the profiler's overhead
        profiler = cProfile.Profile()
        profiler.enable()
        run(purchases, "pp")
        profiler.disable()
    finally:
        event.remove(Engine, "before_cursor_execute", count_statement)
    steps = ("checkout_get", "checkout_post", "callback", "order_page")
    print(
        f"# in-process, one buyer at a time: {len(done) / sum(d['total'] for d in done):.1f} "
        "purchases/s; per step ms (SQL statements): "
        + ", ".join(
            f"{step} {1000 * sum(d[step] for d in done) / len(done):.2f} "
            f"({sum(d['statements'][i] for d in done) / len(done):.1f})"
            for i, step in enumerate(steps)
        ),
        file=sys.stderr,
    )
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(r"/app/|/tenants/|/workers/", 60)
    stats.sort_stats("tottime").print_stats(25)
    print(buffer.getvalue(), file=sys.stderr)
    with app.app_context():
        registry().dispose()


# -- main -----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.checkout")
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20, help="seconds of purchases")
    parser.add_argument("--purchases", type=int, default=0, help="a fixed count instead")
    parser.add_argument("--skus", type=int, default=4)
    parser.add_argument("--keys", type=int, default=30_000, help="card keys over all SKUs")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=200, help="purchases before measuring")
    parser.add_argument(
        "--no-query-password",
        action="store_true",
        help="buyers leave the optional query password empty (skips its scrypt hash)",
    )
    parser.add_argument(
        "--profile", type=int, default=0, help="then N purchases in-process under cProfile"
    )
    args = parser.parse_args(argv)
    query_password = "" if args.no_query_password else QUERY_PASSWORD
    # Stopped from outside: unwind through the finally blocks (stop gunicorn, drop the database).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    duration = 0 if args.purchases else args.duration

    from redis import Redis

    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    with scratch_postgres() as database_url, tempfile.TemporaryDirectory() as folder:
        config = bench_config(
            database_url,
            REDIS_URL=REDIS_URL,
            JOBS_IN_PROCESS=False,
            PLATFORM_DOMAIN=DOMAIN,
            INSTANCE_PATH=folder,
            SECRET_KEY=SECRET_KEY,
            SANDBOX_PAYMENTS=True,
        )
        started = time.time()
        targets = build_data(config, args.stores, args.skus, args.keys)
        keys_at_start = (args.keys // args.skus) * args.skus
        print(f"# data built in {time.time() - started:.0f}s", file=sys.stderr)
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            PLATFORM_DOMAIN=DOMAIN,
            SECRET_KEY=SECRET_KEY,
            DATA_HMAC_KEY=config["DATA_HMAC_KEY"],
            DATA_ENCRYPTION_KEYS=config["DATA_ENCRYPTION_KEYS"],
            KAMENG_INSTANCE_PATH=folder,
            SANDBOX_PAYMENTS="true",
            RATELIMIT_ENABLED="false",
        )
        port = free_port()
        server = run_gunicorn("wsgi:app", port, env)
        log: deque = deque(maxlen=40)
        threading.Thread(target=drain, args=(server.stderr, log), daemon=True).start()
        try:
            warm, _, _ = run_clients(
                port, targets, args.clients, args.client_processes, "w", args.warmup, 0,
                query_password,
            )  # fmt: skip
            if warm["errors"]:
                print("# warm-up errors:", *warm["samples"], *log, sep="\n", file=sys.stderr)
            meter = CpuMeter(server.pid)
            measured, elapsed, usage = run_clients(
                port, targets, args.clients, args.client_processes, "m", args.purchases,
                duration, query_password, meter,
            )  # fmt: skip
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except Exception:
                server.kill()
        if measured["errors"]:
            print(
                "# errors:", *measured["samples"], "# server log:", *log, sep="\n", file=sys.stderr
            )
        delivered_seen: dict[str, set] = {}
        for run in (warm, measured):
            for timing in run["timings"]:
                for key in timing["keys"]:
                    delivered_seen.setdefault(key, set()).add(timing["order"])
        stores = list({t["store"].id: t["store"] for t in targets}.values())
        outcome = audit(config, stores, keys_at_start, delivered_seen)
        jobs_waiting = {
            name: redis.llen(f"rq:queue:{name}")
            for name in ("fulfilment", "default", "notifications")
        }
        if args.profile:
            profile_in_process(config, targets, args.profile, query_password)
        redis.flushdb()

    timings = measured["timings"]
    completed = len(timings)
    errors = sum(measured["errors"].values()) + sum(warm["errors"].values())
    expected_delivered = completed + len(warm["timings"])
    if outcome["delivered_orders"] != expected_delivered:
        print(
            f"# {outcome['delivered_orders']} orders delivered, buyers completed "
            f"{expected_delivered}",
            file=sys.stderr,
        )
        errors += abs(outcome["delivered_orders"] - expected_delivered)
    for sample in outcome["ledger_problem_samples"]:
        print(f"# ledger: {sample}", file=sys.stderr)

    def p(step: str, q: float) -> float:
        return 1000 * percentile([t[step] for t in timings], q) if timings else float("nan")

    capacity = usage["capacity"]
    emit("stores", args.stores)
    emit("clients", args.clients)
    emit("query_password", "no" if args.no_query_password else "yes")
    emit("purchases", completed)
    emit("elapsed_s", elapsed)
    emit("purchases_per_s", completed / elapsed)
    emit("errors", errors)
    emit("oversold", outcome["oversold"])
    emit("double_delivered", outcome["double_delivered"])
    emit("ledger_problems", outcome["ledger_problems"])
    emit("callback_to_key_p50_ms", p("callback_to_key", 50))
    emit("callback_to_key_p95_ms", p("callback_to_key", 95))
    emit("purchase_p50_ms", p("total", 50))
    emit("purchase_p95_ms", p("total", 95))
    for step in ("checkout_get", "checkout_post", "callback", "order_page"):
        emit(f"{step}_p50_ms", p(step, 50))
    emit("delivered_orders", outcome["delivered_orders"])
    emit("unpaid_orders", outcome["unpaid_orders"])
    emit("keys_sold", outcome["keys_sold"])
    emit("keys_reserved", outcome["keys_reserved"])
    emit("order_paid_transactions", outcome["order_paid_transactions"])
    emit("jobs_waiting", sum(jobs_waiting.values()))
    server_cpu_s = usage["gunicorn"] + usage["postgres"] + usage["redis"]
    emit("server_cpu_ms_per_purchase", 1000 * server_cpu_s / max(completed, 1))
    emit("cpu_busy_share", usage["busy"] / capacity)
    emit("cpu_gunicorn_share", usage["gunicorn"] / capacity)
    emit("cpu_postgres_share", usage["postgres"] / capacity)
    emit("cpu_redis_share", usage["redis"] / capacity)
    emit("cpu_client_share", measured["cpu_s"] / capacity)
    # Anything else running on the machine meanwhile (other people's tests, say): a noisy run.
    known = usage["gunicorn"] + usage["postgres"] + usage["redis"] + measured["cpu_s"]
    emit("cpu_other_share", max(0.0, usage["busy"] - known) / capacity)
    clean = errors == 0 and outcome["oversold"] == 0 and outcome["double_delivered"] == 0
    return 0 if clean and outcome["ledger_problems"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
