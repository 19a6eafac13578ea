"""`/admin/docking`: the store's log of calls to its acg-faka-compatible endpoints, newest first."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from app.docking.models import DockingCall
from app.extensions import db
from app.merchant.permissions import requires
from app.merchant.views import bp as merchant
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

PER_PAGE = 100
OUTCOMES = ("ok", "replayed", "refused", "denied")


@merchant.get("/docking")
@requires("view_audit")
def docking_log():
    store = current_tenant._get_current_object()
    key_id = (request.args.get("key") or "").strip()[:40]
    outcome = request.args.get("outcome") or ""
    before = request.args.get("before", type=int)
    query = select(DockingCall).order_by(DockingCall.id.desc()).limit(PER_PAGE + 1)
    if key_id:
        query = query.where(DockingCall.key_id == key_id)
    if outcome in OUTCOMES:
        query = query.where(DockingCall.outcome == outcome)
    if before:
        query = query.where(DockingCall.id < before)
    calls = db.session.scalars(query).all()
    more = len(calls) > PER_PAGE
    calls = calls[:PER_PAGE]
    return render_console(
        "merchant/docking.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        docking_url=tenant_url(store, ""),
        calls=calls,
        filters={"key": key_id, "outcome": outcome if outcome in OUTCOMES else ""},
        outcomes=OUTCOMES,
        next_before=calls[-1].id if more and calls else None,
    )
