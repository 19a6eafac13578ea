"""Fixtures: a real database per test run (PostgreSQL + Redis when available, and the embedded
SQLite default always), one application per backend, and helpers that read like a user story."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

from tests.support import backends
from tests.support.gateways.alipay import fake_alipay  # noqa: F401  (fixture)
from tests.support.gateways.epay import fake_epay  # noqa: F401  (fixture)
from tests.support.gateways.stripe import fake_stripe  # noqa: F401  (fixture)
from tests.support.gateways.wechat import fake_wechat  # noqa: F401  (fixture)
from tests.support.topups import simulator  # noqa: F401  (fixture)
from tests.support.web import SiteClient

BACKENDS = backends.available()


def pytest_sessionstart(session):
    """Compile the translation catalogs, as `make` does, so plain `pytest` runs work too."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("app/translations/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    with backends.provision(request.param, tmp_path_factory.mktemp(request.param)) as info:
        yield info


@pytest.fixture(scope="session")
def app(backend):
    from app import create_app
    from tenants.engines import registry
    from tenants.migrations import upgrade_shared

    application = create_app(backend.config())
    with application.app_context():
        upgrade_shared(registry())
    yield application
    with application.app_context():
        application.extensions["kameng.jobs"].close()
        registry().dispose()


@pytest.fixture(autouse=True)
def session_rate_limits(request):
    """flask-limiter keeps `enabled` on the one shared extension, so a test that builds a
    rate-limited app (test_web_flows, test_customers) would turn limits on for the session app
    too: every test starts with what the session app was configured with."""
    if "app" in request.fixturenames:
        from app.extensions import limiter

        limiter.enabled = request.getfixturevalue("app").config["RATELIMIT_ENABLED"]


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


_store_counter = itertools.count(1)


def unique_slug(prefix: str = "s") -> str:
    return f"{prefix}{next(_store_counter)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def make_store(app):
    """Open a store through the real provisioning service; returns its TenantRef."""
    from tenants.provisioning import create_tenant

    def make(slug: str | None = None, *, name: str = "Test Store", password: str = "s3cret-pass"):
        slug = slug or unique_slug()
        with app.app_context():
            return create_tenant(
                slug=slug,
                name=name,
                owner_email=f"owner@{slug}.example.com",
                owner_password=password,
            ).tenant

    return make


@pytest.fixture
def platform_admin(app):
    from app.platform.services import ensure_platform_admin

    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    with app.app_context():
        ensure_platform_admin(email, "admin-pass-1")
    return email, "admin-pass-1"


@pytest.fixture
def site(app):
    """site(host) -> a browser-like client for that host (cookies kept per host)."""

    def make(host: str) -> SiteClient:
        return SiteClient(app, host)

    return make


@pytest.fixture
def apex(app, site):
    return site(app.config["PLATFORM_DOMAIN"])


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CI") == "true" and "postgresql" not in BACKENDS:
        raise pytest.UsageError("CI=true but PostgreSQL/Redis are not reachable")
    for item in items:
        on_postgres = "[postgresql" in item.nodeid
        if item.get_closest_marker("postgres") and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only behaviour"))
