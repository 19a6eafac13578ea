"""Runs one job: in an app context, bound to its store, committing on success."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.utils import import_string

from tenants.context import tenant_context

log = logging.getLogger(__name__)

_worker_app: Flask | None = None


def set_worker_app(app: Flask) -> None:
    """`python -m workers` builds the application once and hands it here."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def run_job(path: str, tenant_id: int | None, args: list):
    """The function RQ executes for every Kameng job."""
    return execute(_app(), path, tenant_id, args)


def execute(app: Flask, path: str, tenant_id: int | None, args):
    func = import_string(path)
    from app.extensions import db
    from tenants.resolver import tenant_by_id

    with app.app_context():
        tenant = None
        if tenant_id is not None:
            tenant = tenant_by_id(tenant_id)
            if tenant is None:
                log.warning("job %s skipped: store %s no longer exists", path, tenant_id)
                return None
        with tenant_context(tenant):
            try:
                result = func(*args)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()
        return result
