"""Tenancy at scale on PostgreSQL: provisioning, migrating every store, host resolution, and
store home-page latency with many stores against one.

    python -m benchmarks.tenancy --tenants 1000

Prints provision_ms_p50, migrate_all_s (--parallel 2 by default), resolve_us_p50 and
home_p50_ratio_<N>_vs_1. Uses a scratch database that is dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from sqlalchemy import inspect, text, update

from benchmarks.support import bench_config, emit, median, scratch_postgres, timed


def home_latencies(app, hosts: list[str], requests: int) -> list[float]:
    """Latencies of GET / on store hosts, after one warm-up pass per host.

    Background jobs (welcome e-mails of new stores) are drained first so they do not compete
    for the CPU while we measure.
    """
    with app.app_context():
        app.extensions["kameng.jobs"].wait_until_idle(600)
    client = app.test_client()
    for host in hosts:
        client.get("/", base_url=f"http://{host}")
    samples = []
    for i in range(requests):
        host = hosts[i % len(hosts)]
        start = time.perf_counter()
        response = client.get("/", base_url=f"http://{host}")
        samples.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"GET / on {host} answered {response.status_code}")
    return samples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tenancy")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)

    from app import create_app
    from tenants import migrations
    from tenants.engines import registry
    from tenants.models import Tenant
    from tenants.provisioning import create_tenant
    from tenants.resolver import resolver

    with scratch_postgres(keep=args.keep) as database_url:
        config = bench_config(database_url)
        app = create_app(config)
        with app.app_context():
            migrations.upgrade_shared(registry())

        def provision(i: int):
            with app.app_context():
                return create_tenant(
                    slug=f"store{i:05d}",
                    name=f"Store {i}",
                    owner_email=f"owner{i}@example.com",
                    owner_password="bench-pass-1",
                ).tenant

        # One store, then the home page with one store.
        seconds, first = timed(provision, 0)
        provision_ms = [seconds * 1000]
        home_one = home_latencies(app, [first.primary_host], args.requests)

        stores = [first]
        for i in range(1, args.tenants):
            seconds, store = timed(provision, i)
            provision_ms.append(seconds * 1000)
            stores.append(store)
            if i % 100 == 0:
                print(f"# provisioned {i}", file=sys.stderr, flush=True)
        emit("tenants", args.tenants)
        emit("provision_ms_p50", median(provision_ms))

        # Home page with N stores: requests spread over every store's host.
        hosts = [s.primary_host for s in stores]
        random.Random(7).shuffle(hosts)
        home_many = home_latencies(app, hosts, args.requests)

        # Host resolution, cached: a dictionary hit per request.
        with app.app_context():
            host_resolver = resolver()
            for host in hosts:
                host_resolver.resolve(host)
            samples = []
            for i in range(20000):
                host = hosts[i % len(hosts)]
                start = time.perf_counter_ns()
                host_resolver.resolve(host)
                samples.append((time.perf_counter_ns() - start) / 1000)
        emit("resolve_us_p50", median(samples))

        # Migrate every store: take each schema back to empty, then `tenants migrate`.
        with app.app_context():
            engines = registry()
            for store in stores:
                schema = engines.schema_for(store.id)
                with engines.for_tenant(store.id).begin() as conn:
                    for table in inspect(conn).get_table_names(schema=schema):
                        conn.execute(text(f'DROP TABLE "{schema}"."{table}"'))
            with engines.platform().begin() as conn:
                conn.execute(update(Tenant.__table__).values(schema_revision=None))
            start = time.perf_counter()
            results = migrations.migrate_all(
                engines, parallel=args.parallel, config_overrides=config
            )
            migrate_s = time.perf_counter() - start
        failed = [r for r in results if not r.ok]
        if failed or len(results) != args.tenants:
            raise SystemExit(f"migration failed for {len(failed)} stores: {failed[:3]}")
        emit("migrate_all_s", migrate_s)
        emit("migrate_parallel", args.parallel)

        emit("home_p50_ms_1", median(home_one) * 1000)
        emit(f"home_p50_ms_{args.tenants}", median(home_many) * 1000)
        emit(f"home_p50_ratio_{args.tenants}_vs_1", median(home_many) / median(home_one))
        with app.app_context():
            app.extensions["kameng.jobs"].wait_until_idle(120)
            registry().dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
