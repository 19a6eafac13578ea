"""Platform console: tickets escalated by buyers or stores, answered and resolved by the platform
(the handling is the store's own: app.tickets.web, run inside the ticket's store)."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.platform.views import bp, platform_login_required
from app.tickets import services as tickets
from app.tickets import web as ticket_web
from app.tickets.forms import MessageForm, ResolveForm
from app.tickets.models import TicketEscalation
from app.tickets.storefront_views import picture_response
from app.web.site import render_console
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.provisioning import tenant_ref


@bp.get("/tickets")
@platform_login_required
def escalated_tickets():
    queue = tickets.escalations()
    names = dict(
        db.session.execute(
            select(Tenant.id, Tenant.slug).where(Tenant.id.in_({e.tenant_id for e in queue}))
        ).all()
    )
    return render_console("platform/tickets.html", queue=queue, slugs=names, now=utcnow())


def _store(slug: str, ticket_no: str):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    escalated = tenant is not None and db.session.scalar(
        select(TicketEscalation.id).where(
            TicketEscalation.tenant_id == tenant.id, TicketEscalation.ticket_no == ticket_no
        )
    )
    if not escalated:
        abort(404)  # the platform steps into escalated tickets only
    store = tenant_ref(tenant)
    db.session.remove()  # the store's ticket is read on a session bound to that store
    return store


def _ticket_or_404(ticket_no: str):
    ticket = tickets.find(ticket_no)
    if ticket is None:
        abort(404)
    return ticket


@bp.get("/tickets/<slug>/<ticket_no>")
@platform_login_required
def escalated_ticket(slug: str, ticket_no: str):
    store = _store(slug, ticket_no)
    with tenant_context(store):
        page = _page(store, _ticket_or_404(ticket_no))
        db.session.remove()
    return page


def _page(store, ticket, reply_form=None, status=200):
    args = {"slug": store.slug, "ticket_no": ticket.ticket_no}
    return render_console(
        "platform/ticket.html",
        store=store,
        ticket=ticket,
        reply_form=reply_form or MessageForm(),
        resolve_form=ResolveForm(),
        keys=[] if ticket.is_closed else ticket_web.keys_to_replace(store, ticket),
        may_answer=True,
        may_refund=current_user.role == "owner",
        may_replace=True,
        now=utcnow(),
        picture_endpoint="platform.escalated_ticket_picture",
        picture_args={"slug": store.slug},
        actions={
            "reply": url_for("platform.escalated_ticket_reply", **args),
            "resolve": url_for("platform.escalated_ticket_resolve", **args),
            "escalate": None,
        },
    ), status


@bp.post("/tickets/<slug>/<ticket_no>/reply")
@platform_login_required
def escalated_ticket_reply(slug: str, ticket_no: str):
    store = _store(slug, ticket_no)
    with tenant_context(store):
        ticket = _ticket_or_404(ticket_no)
        form = MessageForm()
        if not ticket_web.reply(store, ticket, "platform", form):
            page = _page(store, ticket, form, 400)
            db.session.remove()
            return page
        db.session.remove()
    return redirect(url_for("platform.escalated_ticket", slug=slug, ticket_no=ticket_no))


@bp.post("/tickets/<slug>/<ticket_no>/resolve")
@platform_login_required
def escalated_ticket_resolve(slug: str, ticket_no: str):
    store = _store(slug, ticket_no)
    action = request.form.get("action", "")
    if action == "refund" and current_user.role != "owner":
        abort(403)
    with tenant_context(store):
        _ticket_or_404(ticket_no)
        ticket_web.resolve(
            store, ticket_no, action, ResolveForm(), request.form.getlist("key", type=int)
        )
        db.session.remove()
    return redirect(url_for("platform.escalated_ticket", slug=slug, ticket_no=ticket_no))


@bp.get("/tickets/<slug>/<ticket_no>/picture/<name>")
@platform_login_required
def escalated_ticket_picture(slug: str, ticket_no: str, name: str):
    store = _store(slug, ticket_no)
    with tenant_context(store):
        response = picture_response(store, _ticket_or_404(ticket_no), name)
        db.session.remove()
    return response
