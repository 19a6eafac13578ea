"""Storefront throughput on the production shape: gunicorn (2 workers), PostgreSQL, Redis.

    python -m benchmarks.storefront [--tenants 1000] [--skus 2000] [--duration 15]

Builds a scratch database with N stores and a catalog of M SKUs (store-wide markups, some card-key
stock), then loads store home and product pages across every store host with wrk (32
connections), and a bare Flask endpoint served the same way. Prints storefront_rps, hello_rps,
storefront_vs_hello (target ≥ 0.40) and storefront_p99_ms (target < 50).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.support import bench_config, emit, scratch_postgres

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("KAMENG_BENCH_REDIS", "redis://127.0.0.1:6379/12")
DOMAIN = "bench.test"

WRK_SCRIPT = """
local hosts = {}
local paths = {}
for line in io.lines("%(hosts)s") do hosts[#hosts + 1] = line end
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  local host = hosts[(i * 7919) %% #hosts + 1]
  local path = paths[(i * 104729) %% #paths + 1]
  return wrk.format("GET", path, {["Host"] = host, ["Accept-Encoding"] = "gzip, deflate"})
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_data(config: dict, tenants: int, skus: int) -> tuple[list[str], list[str]]:
    """Stores and catalog through the real services; returns (store hosts, storefront paths)."""
    from app import create_app
    from app.catalog import services as catalog
    from app.catalog.models import Product, Sku
    from app.extensions import db
    from app.inventory.services import import_keys
    from app.pricing.services import save_rule
    from tenants.context import tenant_context
    from tenants.engines import registry
    from tenants.migrations import upgrade_shared
    from tenants.provisioning import create_tenant

    app = create_app(config)
    with app.app_context():
        upgrade_shared(registry())
        per_product = 10
        products = max(1, skus // per_product)
        categories = [
            catalog.save_category(None, name=f"分类 {c}", parent_id=None) for c in range(20)
        ]
        product_ids = []
        for p in range(products):
            product = catalog.save_product(
                None,
                name=f"商品 {p}",
                category_id=categories[p % len(categories)].id,
                delivery_type="card_key",
                description_md=f"**商品 {p}** 说明",
            )
            for s in range(per_product):
                catalog.save_sku(
                    None,
                    product_id=product.id,
                    code=f"B-{p}-{s}",
                    name=f"{(s + 1) * 10} 元",
                    face_value_cents=(s + 1) * 1000,
                    wholesale_cents=(s + 1) * 950,
                    cost_cents=(s + 1) * 900,
                )
            catalog.set_published(db.session.get(Product, product.id), True)
            product_ids.append(product.id)
        for p in range(0, products, 5):  # some stock on a fifth of the SKUs
            sku = db.session.scalar(db.select(Sku).where(Sku.code == f"B-{p}-0"))
            import_keys(sku, [f"KEY-{p}-{k:04d}" for k in range(20)])

    def open_store(i: int):
        with app.app_context():
            store = create_tenant(
                slug=f"shop{i:05d}",
                name=f"店铺 {i}",
                owner_email=f"o{i}@example.com",
                owner_password="bench-pass-1",
            ).tenant
            with tenant_context(store):
                save_rule(store, "store", 0, "percent", 1000 + (i % 10) * 100, "up_10")
            return store.primary_host

    with ThreadPoolExecutor(max_workers=4) as pool:
        hosts = list(pool.map(open_store, range(tenants)))
    paths = ["/"] * 4 + [
        f"/p/{pid}" for pid in random.Random(1).sample(product_ids, min(50, len(product_ids)))
    ]
    from tenants.engines import registry as reg

    with app.app_context():
        reg().dispose()
    return hosts, paths


def run_gunicorn(app_path: str, port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            app_path,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start: " + process.stderr.read().decode()[-2000:])


def warm_up(port: int, hosts: list[str], paths: list[str]) -> None:
    """Visit every page once, as steady traffic would have, so the run measures warm caches."""
    import http.client

    def visit(host: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for path in paths:
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"warm-up: {host}{path} answered {response.status}")
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(visit, hosts))


def wrk(port: int, duration: int, script: str | None, connections: int) -> tuple[float, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", script]
    output = subprocess.run(
        command + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses:\n{output}")
    return rps, float(p99.group(1)) * scale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storefront")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
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
        )
        started = time.time()
        hosts, paths = build_data(config, args.tenants, args.skus)
        print(f"# data built in {time.time() - started:.0f}s", file=sys.stderr)
        hosts_file, paths_file = Path(folder, "hosts.txt"), Path(folder, "paths.txt")
        hosts_file.write_text("\n".join(hosts) + "\n")
        paths_file.write_text("\n".join(paths) + "\n")
        script = Path(folder, "storefront.lua")
        script.write_text(WRK_SCRIPT % {"hosts": hosts_file, "paths": paths_file})
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            PLATFORM_DOMAIN=DOMAIN,
            SECRET_KEY="bench",
            DATA_HMAC_KEY="bench",
            DATA_ENCRYPTION_KEYS=config["DATA_ENCRYPTION_KEYS"],
            KAMENG_INSTANCE_PATH=folder,
        )
        results = {}
        for name, app_path, lua in (
            ("hello", "benchmarks.hello_app:app", None),
            ("storefront", "wsgi:app", str(script)),
        ):
            port = free_port()
            server = run_gunicorn(app_path, port, env)
            try:
                if lua:
                    started = time.time()
                    warm_up(port, hosts, paths)
                    print(f"# warmed up in {time.time() - started:.0f}s", file=sys.stderr)
                wrk(port, 3, lua, args.connections)  # warm the workers
                results[name] = wrk(port, args.duration, lua, args.connections)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
        redis.flushdb()
    storefront_rps, storefront_p99 = results["storefront"]
    hello_rps, hello_p99 = results["hello"]
    emit("tenants", args.tenants)
    emit("skus", args.skus)
    emit("storefront_rps", storefront_rps)
    emit("hello_rps", hello_rps)
    emit("storefront_vs_hello", storefront_rps / hello_rps)
    emit("storefront_p99_ms", storefront_p99)
    emit("hello_p99_ms", hello_p99)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
