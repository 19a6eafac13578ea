"""Top-up throughput of the fulfilment workers on the production shape: `python -m workers`
processes (queues fulfilment > default > notifications) and the scheduler on PostgreSQL + Redis,
a supplier (the simulator, in this process) answering every request in 50 ms.

    python -m benchmarks.fulfilment [--orders 400] [--workers 2] [--latency-ms 50]
                                    [--paced 200 --rate 20] [--profile 100]

Builds a scratch database through the real services: a few stores, a supplier with the
simulator connector, a direct top-up SKU offered by it. Orders are created with create_order +
start_payment and paid with the sandbox gateway's signed notification (process_notification, in
this process), exactly as the payment callback does; the workers are what is measured.

1. Throughput: the workers are started and suspended (`rq suspend`), N orders are paid (their
   submit jobs wait in Redis), the workers resume. topups_per_s = N ÷ (last top-up finished −
   first top-up submitted); ceiling_per_s = workers ÷ supplier latency (a worker holds one top-up
   for at least one supplier round trip); efficiency = topups_per_s ÷ ceiling (target ≥ 0.80).
2. Latency: with the workers running, M more orders are paid at a steady rate (default half the
   ceiling); paid_to_submitted_p95_ms = Topup.submitted_at − Order.paid_at (target ≤ 1000).

Afterwards: errors (top-ups not `success`, orders not `delivered`), references the supplier
bought more than once (must be 0), the ledger's verify(); and where the workers' time went: RQ's
own timestamps of every job (time inside jobs vs between them), the supplier round trips
recorded on each top-up, CPU seconds per top-up of the workers (horses included), PostgreSQL and
Redis, and PostgreSQL transactions and new connections per top-up. --profile N then runs N
submit jobs in this process (warm connection pool, no fork) under cProfile, printed to stderr.

Exits 0 unless the run itself broke; a missed target is printed, not an exit status. The scratch
database, the Redis database (KAMENG_BENCH_REDIS, db 9 by default) and every process started are
cleaned up however the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.checkout import machine_busy_s, processes_named
from benchmarks.support import bench_config, emit, percentile, scratch_postgres

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("KAMENG_BENCH_REDIS", "redis://127.0.0.1:6379/9")
DOMAIN = "bench.test"
SECRET_KEY = "bench"
PHONE = [
    {"name": "account", "label": "手机号", "regex": "^1[3-9][0-9]{9}$", "example": "13800138000"}
]
QUEUES = ("fulfilment", "default", "notifications")
TICKS = os.sysconf("SC_CLK_TCK")


# -- data -----------------------------------------------------------------------------------------


def build_data(app, stores: int, simulator) -> list[tuple]:
    """Stores, a simulator supplier and a top-up SKU it offers; returns [(store, sku_id)]."""
    from app.catalog import services as catalog
    from app.catalog.models import Product
    from app.extensions import db
    from app.merchant.services import update_checkout_settings
    from app.suppliers.services import configure_connector, save_offer
    from tenants.context import tenant_context
    from tenants.migrations import upgrade_shared
    from tenants.provisioning import create_tenant

    with app.app_context():
        from tenants.engines import registry

        upgrade_shared(registry())
        supplier = catalog.save_supplier(None, name="模拟供货商", status="active")
        configure_connector(
            supplier, "simulator", {"base_url": simulator.url, "key": simulator.key}
        )
        category = catalog.save_category(None, name="话费", parent_id=None)
        product = catalog.save_product(
            None,
            name="移动话费直充",
            category_id=category.id,
            delivery_type="direct_topup",
            description_md="**直充** 到账",
            input_schema=PHONE,
        )
        sku = catalog.save_sku(
            None,
            product_id=product.id,
            code="TOPUP-CM10",
            name="10 元",
            face_value_cents=1000,
            wholesale_cents=985,
            cost_cents=980,
        )
        catalog.set_published(db.session.get(Product, product.id), True)
        save_offer(sku.id, supplier.id, supplier_sku_code="CM10", cost_cents=980)
        sku_id = sku.id
    targets = []
    for i in range(stores):
        with app.app_context():
            store = create_tenant(
                slug=f"topup{i:03d}",
                name=f"话费店 {i}",
                owner_email=f"o{i}@example.com",
                owner_password="bench-pass-1",
            ).tenant
            with tenant_context(store):
                update_checkout_settings(
                    payment_providers=[],
                    order_expiry_minutes=60,
                    max_unpaid_per_ip=20,
                    max_unpaid_per_contact=20,
                )
        targets.append((store, sku_id))
    return targets


def open_orders(app, targets: list[tuple], count: int, threads: int = 4) -> list[tuple]:
    """`count` unpaid top-up orders with their sandbox payments: [(store, order_no, payment_no)]."""
    from app.orders.services import create_order
    from app.payments.services import start_payment
    from tenants.context import tenant_context

    def open_one(n: int) -> tuple:
        store, sku_id = targets[n % len(targets)]
        with app.app_context(), tenant_context(store):
            order = create_order(
                store,
                sku_id=sku_id,
                quantity=1,
                contact_email=f"b{uuid.uuid4().hex[:12]}@buyers.example.com",
                account_fields={"account": f"138{n % 100_000_000:08d}"},
            )
            payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
            return store, order.order_no, payment.payment_no

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(open_one, range(count)))


def pay(app, payment_no: str) -> str:
    """The sandbox gateway's signed notification, applied as the callback route applies it."""
    from sqlalchemy import select

    from app.extensions import db
    from app.payments.config import load_provider
    from app.payments.models import Payment
    from app.payments.providers import Notification
    from app.payments.services import process_notification

    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_no == payment_no))
        params = load_provider("sandbox").notification(
            payment, approve=True, txn_id=f"T{payment_no}"
        )
        db.session.remove()
        return process_notification("sandbox", Notification("POST", {}, b"", params))[0]


def pay_all(app, orders: list[tuple], threads: int = 4) -> None:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = Counter(pool.map(lambda o: pay(app, o[2]), orders))
    if set(outcomes) != {"fulfilling"}:
        raise SystemExit(f"payments: {dict(outcomes)}")


def pay_paced(app, orders: list[tuple], rate: float, threads: int = 4) -> None:
    """One payment every 1/rate seconds (open loop: a slow payment does not delay the next)."""
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = []
        for n, order in enumerate(orders):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(pay, app, order[2]))
        outcomes = Counter(f.result() for f in futures)
    if set(outcomes) != {"fulfilling"}:
        raise SystemExit(f"paced payments: {dict(outcomes)}")


# -- processes ------------------------------------------------------------------------------------


# Diagnostic (--simple-worker): `python -m workers` as it is, but with RQ's SimpleWorker, which
# runs each job in the worker process itself instead of a forked work horse.
SIMPLE_WORKER = (
    "import rq, rq.worker; rq.Worker = rq.worker.SimpleWorker; "
    "from workers.__main__ import main; main()"
)


def start_process(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def stop_process(process: subprocess.Popen) -> None:
    """Cold shutdown: the process, its work horse (own process group) and its group."""
    if process.poll() is not None:
        return
    for pid in children(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and of the children it has waited for (RQ's work horses)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


class Meter:
    """CPU seconds (workers with their horses, PostgreSQL, Redis, this process, the machine)
    and PostgreSQL counters of the scratch database, between start() and stop()."""

    def __init__(self, worker_pids: list[int], database: str):
        self.worker_pids, self.database = worker_pids, database

    def _snapshot(self) -> dict:
        import psycopg

        from benchmarks.support import PG_ADMIN_URL

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            commits, rollbacks, sessions = conn.execute(
                "SELECT xact_commit, xact_rollback, sessions FROM pg_stat_database "
                "WHERE datname = %s",
                (self.database,),
            ).fetchone()
        own = os.times()
        return {
            "workers": sum(tree_cpu_s(pid) for pid in self.worker_pids),
            "postgres": sum(tree_cpu_s(pid) for pid in processes_named("postgres")),
            "redis": sum(tree_cpu_s(pid) for pid in processes_named("redis-server")),
            "bench": own.user + own.system,
            "machine": machine_busy_s()[0],
            "transactions": commits + rollbacks,
            "sessions": sessions,
            "elapsed": time.monotonic(),
        }

    def start(self) -> None:
        # pg_stat_database is updated when a backend's transaction ends, with a short delay.
        time.sleep(0.6)
        self.before = self._snapshot()

    def stop(self) -> dict:
        time.sleep(0.6)
        after = self._snapshot()
        return {name: after[name] - self.before[name] for name in after}


def wait_for_workers(redis, count: int, processes: list[subprocess.Popen]) -> None:
    from rq import Worker

    deadline = time.time() + 60
    while len(Worker.all(connection=redis)) < count:
        if time.time() > deadline or any(p.poll() is not None for p in processes):
            raise SystemExit("the workers did not start (see their logs)")
        time.sleep(0.1)


# -- reading the outcome --------------------------------------------------------------------------


def outcome(app, orders: list[tuple]) -> dict:
    """Per order: its top-up's times and state, the order's status and paid_at."""
    from sqlalchemy import select

    from app.extensions import db
    from app.fulfilment.models import Topup, TopupCall
    from app.orders.models import Order
    from tenants.context import tenant_context

    numbers = [order_no for _, order_no, _ in orders]
    rows: dict[str, dict] = {}
    with app.app_context():
        for topup in db.session.scalars(select(Topup).where(Topup.order_no.in_(numbers))):
            rows[topup.order_no] = {
                "topup_id": topup.id,
                "status": topup.status,
                "reference": topup.reference,
                "created_at": topup.created_at,
                "submitted_at": topup.submitted_at,
                "finished_at": topup.finished_at,
                "attempt": topup.attempt,
            }
        calls = db.session.execute(
            select(TopupCall.topup_id, TopupCall.action, TopupCall.latency_ms).where(
                TopupCall.topup_id.in_([r["topup_id"] for r in rows.values()])
            )
        ).all()
        db.session.remove()
        by_store: dict[int, tuple] = {}
        for store, order_no, _ in orders:
            by_store.setdefault(store.id, (store, []))[1].append(order_no)
        for store, order_nos in by_store.values():
            with tenant_context(store):
                for order_no, status, paid_at in db.session.execute(
                    select(Order.order_no, Order.status, Order.paid_at).where(
                        Order.order_no.in_(order_nos)
                    )
                ):
                    rows.setdefault(order_no, {}).update(order_status=status, paid_at=paid_at)
                db.session.remove()
    place_ms = [latency for _, action, latency in calls if action == "place"]
    return {"rows": rows, "place_ms": place_ms, "calls": Counter(a for _, a, _ in calls)}


def finished_count(app, order_nos: list[str]) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.fulfilment.models import FINAL, Topup

    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Topup)
            .where(Topup.order_no.in_(order_nos), Topup.status.in_(tuple(FINAL)))
        )
        db.session.remove()
        return count


def wait_until_final(app, orders: list[tuple], timeout: float) -> None:
    numbers = [order_no for _, order_no, _ in orders]
    deadline = time.time() + timeout
    while finished_count(app, numbers) < len(numbers):
        if time.time() > deadline:
            raise SystemExit(f"top-ups not final after {timeout:.0f} s")
        time.sleep(0.1)


def settled(app, orders: list[tuple], timeout: float = 30) -> dict:
    """The outcome once no order is left `fulfilling` (each order moves on just after its
    top-up's final state is committed), or as it is after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        found = outcome(app, orders)
        if time.time() > deadline or all(
            r.get("order_status") != "fulfilling" for r in found["rows"].values()
        ):
            return found
        time.sleep(0.2)


def job_times(redis, since: float, until: float) -> dict[str, list[tuple]]:
    """(enqueued_at, started_at, ended_at, worker) of the jobs RQ kept that started between
    `since` and `until` (epoch seconds), by job function."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    found: dict[str, list[tuple]] = defaultdict(list)
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        ids = FinishedJobRegistry(queue=queue).get_job_ids()
        ids += FailedJobRegistry(queue=queue).get_job_ids()
        for job in Job.fetch_many(ids, connection=redis):
            if job is None or not job.started_at or not job.ended_at:
                continue
            if not since <= job.started_at.timestamp() <= until:
                continue
            path = job.args[0] if job.args else job.func_name
            found[path.rsplit(".", 1)[-1]].append(
                (job.enqueued_at, job.started_at, job.ended_at, job.worker_name)
            )
    return found


def ms(delta) -> float:
    return delta.total_seconds() * 1000


# -- profile: submit jobs in this process ---------------------------------------------------------


def profile_in_process(app, targets: list[tuple], count: int) -> None:
    """`count` submit jobs run here one by one (warm pool, no fork): ms per job, then cProfile."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import event, select
    from sqlalchemy.engine import Engine

    from app.extensions import db
    from app.fulfilment.models import Topup
    from workers.runner import execute

    orders = open_orders(app, targets, 2 * count)
    pay_all(app, orders)  # their jobs wait in Redis (suspended workers); run here instead
    with app.app_context():
        topups = db.session.execute(
            select(Topup.topup_no, Topup.tenant_id).where(
                Topup.order_no.in_([o for _, o, _ in orders])
            )
        ).all()
        db.session.remove()
    timed, profiled = topups[:count], topups[count:]
    statements = [0]

    def count_statement(*_args):
        statements[0] += 1

    event.listen(Engine, "before_cursor_execute", count_statement)
    started, cpu = time.perf_counter(), os.times()
    try:
        for topup_no, tenant_id in timed:
            execute(app, "workers.jobs.fulfilment.submit_topup", tenant_id, [topup_no])
    finally:
        event.remove(Engine, "before_cursor_execute", count_statement)
    per_job = (time.perf_counter() - started) / len(timed) * 1000
    cpu_ms = (sum(os.times()[:2]) - sum(cpu[:2])) / len(timed) * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    for topup_no, tenant_id in profiled:
        execute(app, "workers.jobs.fulfilment.submit_topup", tenant_id, [topup_no])
    profiler.disable()
    print(
        f"# in-process submit job (warm pool, no fork): {per_job:.1f} ms each including the "
        f"supplier, {cpu_ms:.1f} ms CPU of this process (the simulator's included), "
        f"{statements[0] / len(timed):.1f} SQL statements",
        file=sys.stderr,
    )
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(r"/app/|/tenants/|/workers/", 40)
    stats.sort_stats("tottime").print_stats(20)
    print(buffer.getvalue(), file=sys.stderr)


# -- main -----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fulfilment")
    parser.add_argument("--orders", type=int, default=400, help="paid at once (throughput)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=50, help="the supplier's answer time")
    parser.add_argument("--paced", type=int, default=200, help="paid at --rate (latency)")
    parser.add_argument("--rate", type=float, default=0.0, help="default: half the ceiling")
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--no-scheduler", action="store_true", help="no periodic jobs")
    parser.add_argument("--profile", type=int, default=0, help="then N jobs in-process")
    parser.add_argument(
        "--simple-worker",
        action="store_true",
        help="diagnostic: workers run jobs in-process (RQ SimpleWorker) instead of forking",
    )
    args = parser.parse_args(argv)
    # Stopped from outside: unwind through the finally blocks (processes, database, Redis).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    logging.basicConfig(level=logging.WARNING)  # the app's INFO lines would drown the figures
    from redis import Redis

    from app import create_app
    from tenants.engines import registry
    from workers.simulator import Simulator

    ceiling = args.workers / (args.latency_ms / 1000)
    rate = args.rate or ceiling / 2
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    try:
        with (
            scratch_postgres() as database_url,
            tempfile.TemporaryDirectory(prefix="kameng-bench-") as folder,
            Simulator(latency_ms=args.latency_ms) as simulator,
        ):
            config = bench_config(
                database_url,
                REDIS_URL=REDIS_URL,
                JOBS_IN_PROCESS=False,
                PLATFORM_DOMAIN=DOMAIN,
                INSTANCE_PATH=folder,
                SECRET_KEY=SECRET_KEY,
                SANDBOX_PAYMENTS=True,
            )
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
            )
            app = create_app(config)
            processes: list[subprocess.Popen] = []
            try:
                result = run(args, app, env, Path(folder), simulator, redis, processes, rate)
            finally:
                for process in processes:
                    stop_process(process)
                with app.app_context():
                    registry().dispose()
    finally:
        redis.flushdb()
    report(args, result, ceiling, rate)
    return 0


def run(args, app, env, logs, simulator, redis, processes, rate) -> dict:
    """Build the data, start the workers (and the scheduler), run both phases; the raw results."""
    from rq.suspension import resume, suspend

    started = time.time()
    targets = build_data(app, args.stores, simulator)
    throughput_orders = open_orders(app, targets, args.orders)
    paced_orders = open_orders(app, targets, args.paced)
    print(f"# data built in {time.time() - started:.0f}s", file=sys.stderr)
    for name in QUEUES:  # the stores' welcome e-mails are not what we measure
        redis.delete(f"rq:queue:{name}")
    suspend(redis)
    command = ["-c", SIMPLE_WORKER] if args.simple_worker else ["-m", "workers"]
    for n in range(args.workers):
        processes.append(
            start_process([*command, "--queues", *QUEUES], env, logs / f"worker{n}.log")
        )
    workers = list(processes)
    wait_for_workers(redis, args.workers, processes)
    if not args.no_scheduler:
        processes.append(start_process(["-m", "workers.schedule"], env, logs / "schedule.log"))

    # 1. Throughput: a backlog of paid orders, then the workers go.
    pay_all(app, throughput_orders)
    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    meter = Meter([w.pid for w in workers], database)
    meter.start()
    resumed = time.time()
    resume(redis)
    wait_until_final(app, throughput_orders, timeout=600)
    wall_s = time.time() - resumed
    usage = meter.stop()
    first = settled(app, throughput_orders)
    phase_end = time.time()

    # 2. Latency: payments arrive at a steady rate while the workers run.
    pay_paced(app, paced_orders, rate)
    wait_until_final(app, paced_orders, timeout=600)
    second = settled(app, paced_orders)
    jobs = job_times(redis, resumed, phase_end)
    queued_after = {name: redis.llen(f"rq:queue:{name}") for name in QUEUES}

    if args.profile:
        suspend(redis)
        profile_in_process(app, targets, args.profile)

    from app.ledger.services import verify

    with app.app_context():
        ledger_problems = len(verify())
    references = [r["reference"] for o in (first, second) for r in o["rows"].values()]
    return {
        "first": first,
        "second": second,
        "wall_s": wall_s,
        "usage": usage,
        "jobs": jobs,
        "queued_after": queued_after,
        "ledger_problems": ledger_problems,
        "bought_twice": sum(1 for ref in references if simulator.placed_count(ref) != 1),
        "exited": [w.pid for w in workers if w.poll() is not None],
    }


def report(args, result: dict, ceiling: float, rate: float) -> None:
    """The figures on stdout; where the workers' time went, and missed targets, on stderr."""
    first, second, usage, jobs = result["first"], result["second"], result["usage"], result["jobs"]
    rows = first["rows"]
    n = len(rows)
    submitted = [r["submitted_at"] for r in rows.values() if r.get("submitted_at")]
    finished = [r["finished_at"] for r in rows.values() if r.get("finished_at")]
    span_s = (max(finished) - min(submitted)).total_seconds()
    topups_per_s = n / span_s
    efficiency = topups_per_s / ceiling
    paced = second["rows"].values()
    paid_to_submitted = [ms(r["submitted_at"] - r["paid_at"]) for r in paced]
    paid_to_final = [ms(r["finished_at"] - r["paid_at"]) for r in paced]
    errors = sum(
        1
        for o in (first, second)
        for r in o["rows"].values()
        if r.get("status") != "success" or r.get("order_status") != "delivered"
    )
    emit("orders", n)
    emit("workers", args.workers)
    emit("supplier_latency_ms", args.latency_ms)
    emit("topups_per_s", topups_per_s)
    emit("ceiling_per_s", ceiling)
    emit("efficiency", efficiency)
    emit("paced_orders", len(paced))
    emit("paced_rate_per_s", rate)
    emit("paid_to_submitted_p50_ms", percentile(paid_to_submitted, 50))
    emit("paid_to_submitted_p95_ms", percentile(paid_to_submitted, 95))
    emit("paid_to_final_p95_ms", percentile(paid_to_final, 95))
    emit("errors", errors)
    emit("bought_twice", result["bought_twice"])
    emit("ledger_problems", result["ledger_problems"])

    out = sys.stderr
    print("# where the time went, throughput phase (ms per top-up unless said):", file=out)
    per_topup = args.workers * span_s * 1000 / n
    print(f"#   worker time per top-up (workers x span / N): {per_topup:.1f}", file=out)
    for name, runs in sorted(jobs.items(), key=lambda item: -len(item[1])):
        durations = [ms(ended - begun) for _, begun, ended, _ in runs]
        print(
            f"#   job {name}: {len(runs)} runs, mean {sum(durations) / len(durations):.1f}, "
            f"p95 {percentile(durations, 95):.1f} (started -> ended, RQ's timestamps)",
            file=out,
        )
    place = first["place_ms"]
    if place:
        print(
            f"#   supplier round trip (TopupCall.latency_ms of each place): mean "
            f"{sum(place) / len(place):.1f}, p95 {percentile(place, 95):.1f}",
            file=out,
        )
    gaps = []
    by_worker: dict[str, list] = defaultdict(list)
    for runs in jobs.values():
        for _, begun, ended, worker in runs:
            by_worker[worker].append((begun, ended))
    for spans in by_worker.values():
        spans.sort()
        gaps += [ms(b[0] - a[1]) for a, b in zip(spans, spans[1:], strict=False)]
    if gaps:
        print(
            f"#   a worker between two jobs (dequeue, fork, RQ bookkeeping): mean "
            f"{sum(gaps) / len(gaps):.1f}, p50 {percentile(gaps, 50):.1f}",
            file=out,
        )
    ours = sum(usage[k] for k in ("workers", "postgres", "redis", "bench"))
    print(
        "#   CPU: workers with their horses {:.1f}, PostgreSQL (all databases) {:.1f}, Redis "
        "{:.1f}, this process (the simulator) {:.1f}; the machine was {:.0%} busy ({} cores), "
        "{:.0%} of that by other processes".format(
            usage["workers"] * 1000 / n,
            usage["postgres"] * 1000 / n,
            usage["redis"] * 1000 / n,
            usage["bench"] * 1000 / n,
            usage["machine"] / (usage["elapsed"] * os.cpu_count()),
            os.cpu_count(),
            max(0.0, usage["machine"] - ours) / max(usage["machine"], 1e-9),
        ),
        file=out,
    )
    print(
        f"#   PostgreSQL: {usage['transactions'] / n:.1f} transactions and "
        f"{usage['sessions'] / n:.2f} new connections per top-up; supplier calls "
        f"{dict(first['calls'])}; jobs still queued at the end {result['queued_after']}",
        file=out,
    )
    if result["exited"]:
        print(f"# workers that exited during the run: {result['exited']}", file=out)
    if efficiency < 0.80:
        print(f"# efficiency {efficiency:.2f} misses the target (>= 0.80)", file=out)
    if percentile(paid_to_submitted, 95) > 1000:
        print("# paid_to_submitted_p95_ms misses the target (<= 1000)", file=out)
    if errors or result["bought_twice"] or result["ledger_problems"]:
        print("# correctness figures are not all zero", file=out)


if __name__ == "__main__":
    sys.exit(main())
