"""Batch top-up: how long checking and placing a batch take, on PostgreSQL.

    python -m benchmarks.batch [--rows 1000] [--repeat 2]

Builds a scratch database through the real services: a store, a supplier (the simulator, in
this process, answering at once), a direct top-up SKU, a customer whose balance covers every
batch. Then, --repeat times: the rows are read from pasted text and checked (check_ms), kept
as a draft and confirmed, and placed by calling the placement job's function here (place_ms:
every row's order created and all of them paid from the balance in one transaction — the time
that transaction holds the customer's, the store's and the platform's ledger rows). The top-ups
then run on in-process workers; batch_done_s is from confirmation until every row is final.

Prints rows, check_ms, place_ms, place_ms_per_row, batch_done_s, failed_rows and
ledger_problems (both must be 0). Exits 1 when a correctness figure is not zero.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks.support import bench_config, emit, scratch_postgres

PHONE = [
    {"name": "account", "label": "手机号", "regex": "^1[3-9][0-9]{9}$", "example": "13800138000"}
]


def build(app, simulator, rows: int, repeat: int):
    from app.catalog import services as catalog
    from app.catalog.models import Product
    from app.customers.balance import account_code
    from app.customers.services import register_customer
    from app.extensions import db
    from app.ledger.services import post
    from app.suppliers.services import configure_connector, save_offer
    from tenants.context import tenant_context
    from tenants.engines import registry
    from tenants.migrations import upgrade_shared
    from tenants.provisioning import create_tenant

    with app.app_context():
        upgrade_shared(registry())
        supplier = catalog.save_supplier(None, name="模拟供货商", status="active")
        configure_connector(
            supplier, "simulator", {"base_url": simulator.url, "key": simulator.key}
        )
        category = catalog.save_category(None, name="话费", parent_id=None)
        product = catalog.save_product(
            None, name="移动话费直充", category_id=category.id, delivery_type="direct_topup",
            description_md="直充", input_schema=PHONE,
        )  # fmt: skip
        sku = catalog.save_sku(
            None, product_id=product.id, code="BATCH-CM10", name="10 元",
            face_value_cents=1000, wholesale_cents=985, cost_cents=980,
        )  # fmt: skip
        catalog.set_published(db.session.get(Product, product.id), True)
        save_offer(sku.id, supplier.id, supplier_sku_code="CM10", cost_cents=980)
        store = create_tenant(
            slug="batch", name="批量店", owner_email="o@example.com", owner_password="bench-pass-1"
        ).tenant
    with app.app_context(), tenant_context(store):
        customer = register_customer(email="b2b@example.com", password="bench-pass-1")
        amount = rows * 1000 * repeat + 100_000
        post(
            "bench:batch:credit", "balance_topup",
            [("clearing:sandbox", amount), (account_code(store.id, customer.id), -amount)],
            currency="CNY", tenant_id=store.id,
        )  # fmt: skip
        db.session.commit()
        return store, customer.id


def run(rows: int, repeat: int) -> int:
    from app import create_app
    from app.audit.services import Actor
    from app.batches import services
    from app.extensions import db
    from app.ledger.services import verify
    from tenants.context import tenant_context
    from workers.simulator import Simulator

    failed_rows = problems = 0
    with scratch_postgres() as url, Simulator(seed=1) as simulator:
        app = create_app(
            bench_config(url, BATCH_MAX_ROWS=rows, BATCH_MAX_FILE_BYTES=4 * 1024 * 1024)
        )
        store, customer_id = build(app, simulator, rows, repeat)
        for round_no in range(repeat):
            text = "\n".join(f"BATCH-CM10,1{3 + i % 7}{round_no}{i:08d},1" for i in range(rows))
            with app.app_context(), tenant_context(store):
                started = time.perf_counter()
                checked = services.check_rows(store, customer_id, services.rows_from_text(text))
                check_ms = (time.perf_counter() - started) * 1000
                actor = Actor("customer", customer_id, "b2b@example.com", "127.0.0.1")
                batch = services.save_draft(
                    store, customer_id, checked, source="paste", actor=actor
                )
                batch.status = "queued"  # confirmed, its job not sent: placed here, timed
                db.session.commit()
                confirmed, batch_id, batch_no = time.perf_counter(), batch.id, batch.batch_no
                started = time.perf_counter()
                outcome = services.place(store, batch_id)
                place_ms = (time.perf_counter() - started) * 1000
            assert outcome == "processing", outcome
            deadline = time.monotonic() + 300
            while True:
                with app.app_context(), tenant_context(store):
                    progress = services.progress(services.find_batch(batch_no))
                if progress.status == "done" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            failed_rows += progress.failed + progress.pending
            emit("rows", rows)
            emit("check_ms", check_ms)
            emit("place_ms", place_ms)
            emit("place_ms_per_row", place_ms / rows)
            emit("batch_done_s", time.perf_counter() - confirmed)
        app.extensions["kameng.jobs"].wait_until_idle(60)
        with app.app_context():
            problems = len(verify())
        app.extensions["kameng.jobs"].close()
        from tenants.engines import registry

        with app.app_context():
            registry().dispose()
    emit("failed_rows", failed_rows)
    emit("ledger_problems", problems)
    return 1 if failed_rows or problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    return run(args.rows, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
