"""Audit log pages: the store's own events (`/admin/audit`) and every store's (`/platform/audit`),
filtered by actor, action and dates, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, request

from app.audit.services import AuditQuery, search
from app.merchant.permissions import requires
from app.merchant.views import bp as merchant
from app.platform.views import bp as platform
from app.platform.views import platform_login_required
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

PER_PAGE = 50


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters(tenant_id: int | None, platform_wide: bool) -> tuple[AuditQuery, dict]:
    """The query the page's filter form asks for, and the values to show back in the form."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))
    shown = {
        "actor": (request.args.get("actor") or "").strip()[:254],
        "action": (request.args.get("action") or "").strip()[:60],
        "from": first.isoformat() if first else "",
        "to": last.isoformat() if last else "",
    }
    query = AuditQuery(
        tenant_id=tenant_id,
        platform_wide=platform_wide,
        actor=shown["actor"],
        action=shown["action"],
        since=datetime.combine(first, time.min, tzinfo=zone) if first else None,
        until=datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) if last else None,
    )
    return query, shown


def _page_of(query: AuditQuery):
    before = request.args.get("before", type=int)
    events = search(query, before_id=before, limit=PER_PAGE + 1)
    more = len(events) > PER_PAGE
    events = events[:PER_PAGE]
    return events, (events[-1].id if more and events else None)


@merchant.get("/audit")
@requires("view_audit")
def audit():
    store = current_tenant._get_current_object()
    query, shown = _filters(store.id, platform_wide=False)
    events, next_before = _page_of(query)
    return render_console(
        "merchant/audit.html", store=store, storefront_url=tenant_url(store, "/"),
        events=events, next_before=next_before, filters=shown, endpoint="merchant.audit",
    )  # fmt: skip


@platform.get("/audit")
@platform_login_required
def audit_console():
    store_id = request.args.get("store", type=int)
    query, shown = _filters(store_id, platform_wide=True)
    shown["store"] = str(store_id) if store_id else ""
    events, next_before = _page_of(query)
    return render_console(
        "platform/audit.html", events=events, next_before=next_before, filters=shown,
        endpoint="platform.audit_console",
    )  # fmt: skip
