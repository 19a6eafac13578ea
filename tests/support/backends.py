"""Test databases: a fresh PostgreSQL database (and Redis db) per run, or an SQLite folder."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PG_ADMIN_URL = os.environ.get("KAMENG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# One Redis database per test process: pytest-xdist workers (gw0, gw1, …) must not share queues.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("KAMENG_TEST_REDIS", f"redis://127.0.0.1:6379/{13 - _WORKER}")
TEST_DOMAIN = "kameng.test"


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2):
            return True
    except Exception:
        return False


def _redis_reachable() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


def available() -> list[str]:
    """Backends to run the suite on: KAMENG_TEST_BACKENDS, else what this machine has."""
    wanted = os.environ.get("KAMENG_TEST_BACKENDS")
    if wanted:
        return [b.strip() for b in wanted.split(",") if b.strip()]
    found = ["sqlite"]
    if _postgres_reachable() and _redis_reachable():
        found.insert(0, "postgresql")
    elif os.environ.get("CI") == "true":
        found.insert(0, "postgresql")  # fails loudly in provision(): CI must have both
    return found


@dataclass
class BackendInfo:
    name: str
    database_url: str
    instance_path: Path
    redis_url: str | None = None
    extra: dict = field(default_factory=dict)

    def config(self, **overrides) -> dict:
        config = {
            "TESTING": True,
            "INSTANCE_PATH": str(self.instance_path),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PLATFORM_DOMAIN": TEST_DOMAIN,
            "SECRET_KEY": "test-secret-key",
            "DATA_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
            "DATA_HMAC_KEY": "test-hmac-key",
            "RATELIMIT_ENABLED": False,
            "HOST_CACHE_TTL_SECONDS": 5.0,
            "SANDBOX_PAYMENTS": True,
            "SUPPLIER_TIMEOUT_SECONDS": 1.5,
            # On in production; tests/test_two_factor.py turns it on for its own app.
            "REQUIRE_OWNER_TWO_FACTOR": False,
        }
        config.update(self.extra)
        config.update(overrides)
        return config

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def env(self) -> dict:
        """Environment for a subprocess (CLI, worker) that must use this same backend."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            PLATFORM_DOMAIN=TEST_DOMAIN,
            SECRET_KEY="test-secret-key",
            DATA_ENCRYPTION_KEYS="k1:" + "A" * 43 + "=",
            DATA_HMAC_KEY="test-hmac-key",
            KAMENG_INSTANCE_PATH=str(self.instance_path),
            SANDBOX_PAYMENTS="true",
            SUPPLIER_TIMEOUT_SECONDS="1.5",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        else:
            env.pop("REDIS_URL", None)
        return env


@contextmanager
def provision(name: str, tmp: Path):
    if name == "sqlite":
        yield BackendInfo("sqlite", f"sqlite:///{tmp / 'platform.db'}", tmp)
        return
    if name != "postgresql":
        raise ValueError(name)
    import psycopg
    from redis import Redis

    database = f"kameng_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield BackendInfo(
            "postgresql",
            f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://"),
            tmp,
            redis_url=REDIS_URL,
        )
    finally:
        redis.flushdb()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
