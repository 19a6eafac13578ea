"""Card-key import at scale on PostgreSQL: one SKU, N keys from a file, one transaction.

    python -m benchmarks.key_import --keys 1000000

Prints import_s (target ≤ 60), keys_per_s, peak_rss_mb (target < 500) and the import's report
counts. The file is written first (in a child step) so its generation is not measured.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from benchmarks.support import bench_config, emit, scratch_postgres


def write_keys(path: str, count: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(f"CARD{i:012d}----PW{(i * 7919) % 10**10:010d}\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.key_import")
    parser.add_argument("--keys", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    from app import create_app
    from app.catalog import services as catalog
    from app.catalog.models import Sku
    from app.extensions import db
    from app.inventory.services import import_keys
    from tenants.engines import registry
    from tenants.migrations import upgrade_shared

    with scratch_postgres() as database_url, tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "keys.txt")
        write_keys(path, args.keys)
        app = create_app(bench_config(database_url))
        with app.app_context():
            upgrade_shared(registry())
            category = catalog.save_category(None, name="Bench", parent_id=None)
            product = catalog.save_product(
                None, name="Bench card", category_id=category.id, delivery_type="card_key"
            )
            sku = catalog.save_sku(
                None,
                product_id=product.id,
                code="BENCH-1",
                name="1",
                face_value_cents=100,
                wholesale_cents=100,
                cost_cents=90,
            )
            sku = db.session.get(Sku, sku.id)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            start = time.perf_counter()
            with open(path, "rb") as handle:
                report = import_keys(sku, handle, separator="----", origin="cli")
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            app.extensions["kameng.jobs"].wait_until_idle(60)
            registry().dispose()
        if report.added != args.keys:
            print(f"# expected {args.keys} keys, added {report.added}", file=sys.stderr)
            return 1
        emit("keys", args.keys)
        emit("import_s", seconds)
        emit("keys_per_s", args.keys / seconds)
        emit("rss_before_import_mb", rss_before)
        emit("peak_rss_mb", peak)
        emit("added", report.added)
        emit("duplicates", report.duplicates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
