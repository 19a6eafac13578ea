"""Shared helpers: a throw-away PostgreSQL database, timing, percentiles."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager

PG_ADMIN_URL = os.environ.get("KAMENG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_postgres(keep: bool = False):
    """A fresh database for one benchmark run; dropped afterwards unless keep=True."""
    import psycopg

    name = f"kameng_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_config(database_url: str, **extra) -> dict:
    config = {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="kameng-bench-"),
        "REDIS_URL": None,
        "JOBS_IN_PROCESS": True,
        "PLATFORM_DOMAIN": "bench.test",
        "SECRET_KEY": "bench",
        "DATA_ENCRYPTION_KEYS": "k1:" + "B" * 43 + "=",
        "DATA_HMAC_KEY": "bench",
        "RATELIMIT_ENABLED": False,
        "HOST_CACHE_TTL_SECONDS": 300.0,
    }
    config.update(extra)
    return config


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def emit(name: str, value) -> None:
    if isinstance(value, float):
        value = f"{value:.3f}"
    print(f"{name}={value}", flush=True)
