"""A second, independent Kameng platform in the test process: its own database (an SQLite file,
jobs in-process), its own keys and caches, served over real HTTP on 127.0.0.1. Its store answers
on the host `localhost`, so another platform can reach it by name."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import make_server

from tests.support.backends import BackendInfo

UPSTREAM_DOMAIN = "kameng-a.test"


@dataclass
class Served:
    app: object
    port: int

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"


@contextmanager
def serve(app):
    """Serve a Flask app on 127.0.0.1 (a free port) from a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(app, server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def independent_platform(tmp_path, **overrides):
    """Platform A: created, migrated, served; closed and disposed afterwards."""
    from app import create_app
    from tenants.engines import registry
    from tenants.migrations import upgrade_shared

    info = BackendInfo("sqlite", f"sqlite:///{tmp_path / 'upstream.db'}", tmp_path)
    config = info.config(
        PLATFORM_DOMAIN=UPSTREAM_DOMAIN,
        DATA_ENCRYPTION_KEYS="a1:" + "B" * 43 + "=",  # another platform, other keys
        DATA_HMAC_KEY="upstream-hmac-key",
        SECRET_KEY="upstream-secret-key",
        WEBHOOKS_ALLOW_PRIVATE=True,  # its webhooks reach the other platform on 127.0.0.1
        **overrides,
    )
    application = create_app(config)
    with application.app_context():
        upgrade_shared(registry())
    try:
        with serve(application) as served:
            yield served
    finally:
        with application.app_context():
            application.extensions["kameng.jobs"].close()
            registry().dispose()


def answer_on_localhost(app, store_id: int) -> None:
    """Make `localhost` the store's primary host (a verified custom domain; its plan allows)."""
    from app.audit.services import Actor
    from app.db import utcnow
    from app.domains.services import make_primary
    from app.extensions import db
    from tenants.models import TenantDomain
    from tenants.resolver import resolver

    with app.app_context():
        domain = TenantDomain(
            tenant_id=store_id, host="localhost", kind="custom", verified_at=utcnow()
        )
        db.session.add(domain)
        db.session.commit()
        make_primary(store_id, domain, actor=Actor("platform", 0, "test"))
        resolver().invalidate()
