"""The production shape end to end (deploy/prod_local.py): Caddy with on-demand TLS from its
internal CA → two gunicorn processes → PgBouncer in transaction mode → PostgreSQL; Redis; two RQ
workers and the scheduler — real processes on loopback.

Buyers purchase over HTTPS on two store subdomains and one verified custom domain while one web
process and one worker (in the middle of a supplier call) are killed. Every purchase a buyer
finished is paid and delivered exactly once, nothing a buyer abandoned is paid, each store's
schema holds only its own orders, an unverified domain gets no certificate."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import case, select, update

from deploy.prod_local import ProdLocal, missing_binaries
from tests.support import backends
from tests.support.catalog import add_keys, make_product
from tests.support.loopback_https import RETRYABLE_STATUS, Browser, tls_handshake_fails
from tests.support.topups import simulated_supplier, topup_product
from tests.support.workers import wait_until
from workers.simulator import Simulator

pytestmark = [pytest.mark.slow]

APEX = "kameng.test"
STORES = {  # tag: (slug, name); C is served on its custom domain
    "a": ("alpha", "Shape Store Alpha"),
    "b": ("bravo", "Shape Store Bravo"),
    "c": ("charlie", "Shape Store Charlie"),
}
CUSTOM_DOMAIN = "shop.charlie-brand.test"
HOSTS = {"a": f"alpha.{APEX}", "b": f"bravo.{APEX}", "c": CUSTOM_DOMAIN}  # where buyers shop
UNVERIFIED_DOMAIN = "shop.alpha-unverified.test"
CARD_PURCHASES_PER_HOST = 4
TOPUPS_PER_STORE = 2  # on a and b
PHONE = "13800138000"


def _unavailable() -> str | None:
    missing = missing_binaries()
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install -y caddy pgbouncer; CI does)"
    if not backends._postgres_reachable():  # noqa: SLF001
        return "PostgreSQL is not reachable on " + backends.PG_ADMIN_URL
    return None


@pytest.fixture
def shape(request):
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the production-shape test: {reason}")
        pytest.skip(reason)
    # Not pytest's tmp_path: other pytest sessions on this machine prune its numbered folders
    # while this one may still be running.
    folder = Path(tempfile.mkdtemp(prefix="kameng-shape-"))
    failures_before = request.session.testsfailed
    running = ProdLocal(
        folder,
        database=f"kameng_shape_{uuid.uuid4().hex[:8]}",
        platform_domain=APEX,
        postgres_url=backends.PG_ADMIN_URL,
        web_workers=2,
        run_simulator=False,  # the test's own simulator, whose orders it can count
        settings={
            # Every buyer comes from 127.0.0.1 through Caddy: per-address limits would stop
            # the test, not an attacker.
            "RATELIMIT_ENABLED": "false",
            "RISK_IP_PER_MINUTE": 100000,
            "RISK_IP_PER_HOUR": 100000,
            "RISK_CONTACT_PER_MINUTE": 1000,
            "RISK_CONTACT_PER_HOUR": 1000,
            "SUPPLIER_TIMEOUT_SECONDS": 10,
            "HOST_CACHE_TTL_SECONDS": 5,
        },
    )
    try:
        running.start()
        yield running
    finally:
        running.stop(drop_database=True)
        if request.session.testsfailed > failures_before:
            print(f"\nproduction shape logs kept in {folder / 'logs'}:")
            for log in sorted((folder / "logs").glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def shape_app(shape, monkeypatch):
    """The platform as seen from here, with the settings of the shape's processes (it
    connects through PgBouncer too)."""
    from app import create_app
    from tenants.engines import registry

    for name, value in shape.app_settings().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOG_FORMAT", "text")  # json would replace the root logger's handlers
    application = create_app()
    yield application
    with application.app_context():
        application.extensions["kameng.jobs"].close()
        registry().dispose()


@dataclass
class Purchase:
    tag: str  # the store
    host: str
    kind: str  # card_key | topup
    email: str
    order_no: str = ""
    order_url: str = ""
    page: str = ""
    finished_at: float = 0.0


def buy(shape: ProdLocal, browser: Browser, purchase: Purchase, sku_id: int) -> Purchase:
    """What a buyer does: the checkout form, the sandbox payment page (approve), the order page.
    A step interrupted by a dying web process is done again, as a buyer pressing reload would:
    a repeated checkout leaves an unpaid order behind, a repeated approval is a duplicate."""
    checkout = shape.url(purchase.host, f"/checkout?sku={sku_id}&quantity=1")
    form = {"contact_email": purchase.email, "query_password": "lookup-1"}
    if purchase.kind == "topup":
        form["field_account"] = PHONE
    pay_url = _post_until_redirect(browser, checkout, form)
    assert pay_url.startswith(shape.url(APEX, "/pay/sandbox/P")), pay_url
    purchase.order_url = _post_until_redirect(browser, pay_url, {"decision": "approve"})
    purchase.order_no = re.search(r"/order/(\d+)\?", purchase.order_url).group(1)
    page = browser.get(purchase.order_url)
    assert page.status_code == 200, (purchase.order_url, page.status_code)
    purchase.page = page.text
    purchase.finished_at = time.monotonic()
    return purchase


def _post_until_redirect(browser: Browser, page_url: str, form: dict, attempts: int = 8) -> str:
    for attempt in range(attempts):
        try:
            sent = browser.submit(page_url, form)
        except requests.ConnectionError:
            sent = None
        if sent is not None and sent.status_code not in RETRYABLE_STATUS:
            errors = re.findall(r'class="form-error[^"]*"[^>]*>([^<]*)<', sent.text)
            assert sent.status_code == 302, (page_url, sent.status_code, errors or sent.text[:800])
            return sent.headers["Location"]
        browser.retried += 1
        time.sleep(0.3 * (attempt + 1))
    raise AssertionError(f"{page_url}: never answered")


def seed(app, simulator: Simulator) -> dict:
    """Three stores (C on the pro plan with its verified custom domain as primary host), an
    unverified domain on A, a card-key SKU with stock and a direct top-up SKU."""
    from app.audit.services import Actor
    from app.domains import services as domains
    from app.extensions import db
    from app.merchant.services import update_checkout_settings
    from tenants.context import tenant_context
    from tenants.models import TenantDomain
    from tenants.provisioning import create_tenant
    from tenants.resolver import tenant_by_id

    stores = {}
    with app.app_context():
        for tag, (slug, name) in STORES.items():
            stores[tag] = create_tenant(
                slug=slug, name=name, owner_email=f"owner@{slug}.example.com",
                owner_password="owner-pass-1", plan="pro" if tag == "c" else "free",
            ).tenant  # fmt: skip
        db.session.remove()
        for store in stores.values():
            # Every buyer here shares one address: allow more than 3 unpaid orders from it.
            with tenant_context(tenant_by_id(store.id)):
                update_checkout_settings(
                    payment_providers=[], order_expiry_minutes=15,
                    max_unpaid_per_ip=20, max_unpaid_per_contact=3,
                )  # fmt: skip
                db.session.remove()
        owner = Actor("store", None, "owner@charlie.example.com")
        with tenant_context(tenant_by_id(stores["c"].id)):
            domain = domains.add_domain(stores["c"].id, CUSTOM_DOMAIN, actor=owner)
            record = domains.verification_record(domain)
            verified = domains.verify_domain(
                stores["c"].id, domain, actor=owner, lookup=lambda name: [record.value]
            )
            assert verified
            domains.make_primary(stores["c"].id, domain, actor=owner)
            db.session.remove()
        with tenant_context(tenant_by_id(stores["a"].id)):
            domains.add_domain(stores["a"].id, UNVERIFIED_DOMAIN, actor=Actor("store", None))
            db.session.remove()
        hosts = dict(
            db.session.execute(
                select(TenantDomain.host, TenantDomain.verified_at.is_not(None))
            ).all()
        )
        db.session.remove()
    assert hosts[CUSTOM_DOMAIN] and not hosts[UNVERIFIED_DOMAIN]
    cards = make_product(app, name="Shape card", skus=[(1000, 800)])
    card_sku = cards["sku_ids"][0]
    total_cards = CARD_PURCHASES_PER_HOST * 3
    # Spare keys: a checkout repeated after a dying web process reserves keys for an order
    # nobody pays.
    add_keys(
        app, card_sku, [f"SHAPE-{i:03d}-{uuid.uuid4().hex[:12]}" for i in range(total_cards * 3)]
    )
    supplier = simulated_supplier(app, simulator, "Shape supplier")
    topups = topup_product(app, [(supplier, "CM10")])
    return {"stores": stores, "card_sku": card_sku, "topup_sku": topups["sku_ids"][0]}


def purchases_to_make() -> list[Purchase]:
    """Interleaved so that top-ups are in flight early, while buyers keep buying cards."""
    plan = []
    for round_ in range(CARD_PURCHASES_PER_HOST):
        for tag in ("a", "b", "c"):
            email = f"{tag}-card-{round_}@buyers.example.com"
            plan.append(Purchase(tag, HOSTS[tag], "card_key", email))
        if round_ < TOPUPS_PER_STORE:
            for tag in ("a", "b"):
                email = f"{tag}-topup-{round_}@buyers.example.com"
                plan.append(Purchase(tag, HOSTS[tag], "topup", email))
    return plan


def worker_mid_supplier_call(shape: ProdLocal, app) -> str | None:
    """The shape's worker process now waiting for a supplier's answer: running a top-up's submit
    job whose top-up is already `submitted` (the order request has left)."""
    from redis import Redis
    from rq import Worker

    names = {rq_name: process for process, rq_name in shape.rq_names.items()}
    for worker in Worker.all(connection=Redis.from_url(shape.redis_url)):
        job = worker.get_current_job()
        if worker.name not in names or job is None:
            continue
        path, _tenant_id, args = job.args
        if path == "workers.jobs.fulfilment.submit_topup" and topup_status(app, args[0]) == (
            "submitted"
        ):
            return names[worker.name]
    return None


def topup_status(app, topup_no: str) -> str | None:
    from app.extensions import db
    from app.fulfilment.models import Topup

    with app.app_context():
        return db.session.scalar(select(Topup.status).where(Topup.topup_no == topup_no))


def move_topup_clocks_back(app, order_nos) -> None:
    """As if the sweeper's 60 s patience with an unanswered top-up had passed (the scheduler
    process then re-drives it: a query by our reference, never a second order)."""
    from app.db import utcnow
    from app.extensions import db
    from app.fulfilment.models import FINAL, Topup

    long_ago = utcnow() - timedelta(minutes=2)
    with app.app_context():
        db.session.execute(
            update(Topup)
            .where(Topup.order_no.in_(list(order_nos)), Topup.status.not_in(tuple(FINAL)))
            .values(
                next_check_at=utcnow() - timedelta(seconds=1),
                created_at=long_ago,
                submitted_at=case((Topup.submitted_at.is_(None), None), else_=long_ago),
            )
        )
        db.session.commit()


def topups_by_order(app, order_nos) -> dict:
    from app.extensions import db
    from app.fulfilment.models import Topup

    with app.app_context():
        rows = db.session.execute(
            select(Topup.order_no, Topup.status, Topup.reference).where(
                Topup.order_no.in_(list(order_nos))
            )
        ).all()
    return {row.order_no: row for row in rows}


def pgbouncer_show(shape: ProdLocal, what: str) -> list[dict]:
    """PgBouncer's admin console (simple query protocol only, hence libpq directly)."""
    import psycopg

    url = f"postgresql://postgres@127.0.0.1:{shape.ports.pgbouncer}/pgbouncer"
    with psycopg.connect(url, autocommit=True) as conn:
        result = conn.pgconn.exec_(f"SHOW {what}".encode())
        names = [result.fname(i).decode() for i in range(result.nfields)]
        return [
            {names[c]: (result.get_value(r, c) or b"").decode() for c in range(result.nfields)}
            for r in range(result.ntuples)
        ]


def test_purchases_through_caddy_and_pgbouncer_survive_a_killed_web_process_and_worker(
    shape, shape_app
):
    from app.extensions import db
    from app.inventory.services import stock_counts
    from app.ledger.models import LedgerTransaction
    from app.ledger.services import verify
    from app.orders.models import Order
    from tenants.context import tenant_context
    from tenants.resolver import tenant_by_id

    app, root_ca = shape_app, str(shape.root_ca)
    with Simulator(latency_ms=2000) as simulator:  # a supplier call lasts 2 s: room for a kill
        seeded = seed(app, simulator)
        stores = seeded["stores"]

        # Certificates: on demand for the hosts the app serves, none for the others.
        assert tls_handshake_fails(shape.ports.https, UNVERIFIED_DOMAIN, root_ca)
        assert tls_handshake_fails(shape.ports.https, f"nosuch.{APEX}", root_ca)
        assert not tls_handshake_fails(shape.ports.https, CUSTOM_DOMAIN, root_ca)
        outsider = Browser(root_ca)
        ask = outsider.get(shape.url(APEX, f"/internal/tls-ask?domain={HOSTS['a']}"))
        assert ask.status_code == 404  # the ask endpoint is Caddy's, not the internet's
        # The old subdomain of C now redirects to its custom domain.
        moved = outsider.get(shape.url(f"charlie.{APEX}", "/"))
        assert moved.status_code in (301, 302, 308)
        assert moved.headers["Location"].startswith(f"https://{CUSTOM_DOMAIN}:")

        plan = purchases_to_make()
        browsers = [Browser(root_ca) for _ in range(4)]
        done: list[Purchase] = []
        done_lock, stop_looking = threading.Lock(), threading.Event()
        mixups: list[str] = []

        def buyer(index: int) -> None:
            for purchase in plan[index :: len(browsers)]:
                sku = seeded["topup_sku"] if purchase.kind == "topup" else seeded["card_sku"]
                buy(shape, browsers[index], purchase, sku)
                with done_lock:
                    done.append(purchase)

        def window_shopper() -> None:
            """Store fronts fetched back to back across stores: each shows its own name only."""
            browser = Browser(root_ca)
            while not stop_looking.is_set():
                for tag, host in HOSTS.items():
                    page = browser.get(shape.url(host, "/"))
                    names = [n for t, (_, n) in STORES.items() if n in page.text]
                    if page.status_code != 200 or names != [STORES[tag][1]]:
                        mixups.append(f"{host}: {page.status_code} {names}")
                stop_looking.wait(0.1)

        def worker_killer() -> str:
            """A worker dies while it waits for the supplier's answer to a top-up."""
            name = wait_until(
                lambda: worker_mid_supplier_call(shape, app), 120, 0.05, "a worker mid-call"
            )
            shape.kill(name)
            return name

        with ThreadPoolExecutor(len(browsers) + 2) as pool:
            killing = pool.submit(worker_killer)
            shopping = pool.submit(window_shopper)
            buying = [pool.submit(buyer, i) for i in range(len(browsers))]
            try:
                # A web process dies (master and workers at once) once purchases are under way.
                wait_until(
                    lambda: len(done) >= 3 or any(f.done() for f in buying),
                    120,
                    0.05,
                    "the first purchases",
                )
                for future in buying:
                    if future.done():
                        future.result()  # a buyer who gave up says why
                shape.kill("web1")
                done_before_web_kill = len(done)
                killed_worker = killing.result()
                for future in buying:
                    future.result()
            finally:
                stop_looking.set()
            shopping.result()

        assert len(done) == len(plan)
        assert len(done) > done_before_web_kill  # the shape kept selling without web1
        assert not shape.processes["web1"].alive() and not shape.processes[killed_worker].alive()
        assert mixups == []
        print(f"retried requests: {sum(b.retried for b in browsers)}")

        # The top-ups of the killed worker are re-driven by the scheduler and the other worker.
        topup_orders = [p.order_no for p in done if p.kind == "topup"]

        def topups_final() -> bool:
            found = topups_by_order(app, topup_orders)
            if len(found) == len(topup_orders) and all(
                t.status == "success" for t in found.values()
            ):
                return True
            move_topup_clocks_back(app, topup_orders)
            return False

        wait_until(topups_final, 90, 3.0, "every top-up to succeed")
        for topup in topups_by_order(app, topup_orders).values():
            assert simulator.placed_count(topup.reference) == 1, topup.reference  # bought once

    # Exactly the purchases buyers finished are paid, each once, each in its own store.
    def paid_and_delivered() -> dict:
        found = {}
        for tag, store in stores.items():
            with app.app_context(), tenant_context(tenant_by_id(store.id)):
                found[tag] = dict(
                    db.session.execute(
                        select(Order.order_no, Order.status).where(
                            Order.status.not_in(("pending_payment", "expired", "cancelled"))
                        )
                    ).all()
                )
                db.session.remove()
        return found

    wanted = {tag: {p.order_no for p in done if p.tag == tag} for tag in STORES}
    wait_until(
        lambda: all(
            set(orders) == wanted[tag] and set(orders.values()) == {"delivered"}
            for tag, orders in paid_and_delivered().items()
        ),
        30,
        0.5,
        "every finished purchase delivered, in its own store only",
    )
    assert sum(len(orders) for orders in wanted.values()) == len(plan)  # no order_no twice

    # No store's schema holds another's orders, and no order page opens on another store.
    for tag, store in stores.items():
        with app.app_context(), tenant_context(tenant_by_id(store.id)):
            emails = db.session.scalars(select(Order.contact_email)).all()
            db.session.remove()
        assert emails and {e.split("-")[0] for e in emails} == {tag}, emails
    alpha_order = next(p for p in done if p.tag == "a")
    elsewhere = alpha_order.order_url.replace(HOSTS["a"], HOSTS["b"])
    assert outsider.get(elsewhere).status_code == 404

    # Card keys: every buyer saw a key, no key went to two buyers, stock agrees.
    cards = [p for p in done if p.kind == "card_key"]
    keys = [re.search(r"SHAPE-\d{3}-[0-9a-f]{12}", p.page).group(0) for p in cards]
    assert len(set(keys)) == len(cards)
    assert all("已发货" in p.page for p in cards)
    with app.app_context():
        assert stock_counts([seeded["card_sku"]])[seeded["card_sku"]]["sold"] == len(cards)
        paid_entries = Counter(
            db.session.scalars(
                select(LedgerTransaction.idempotency_key).where(
                    LedgerTransaction.idempotency_key.like("order:%:paid")
                )
            ).all()
        )
        assert verify() == []
    expected = {f"order:{stores[p.tag].id}:{p.order_no}:paid" for p in done}
    assert set(paid_entries) == expected and set(paid_entries.values()) == {1}

    # All of it went through PgBouncer, pooling transactions.
    config = {row["key"]: row["value"] for row in pgbouncer_show(shape, "CONFIG")}
    assert config["pool_mode"] == "transaction"
    stats = {row["database"]: row for row in pgbouncer_show(shape, "STATS")}
    assert int(stats[shape.database]["total_xact_count"]) > 100
