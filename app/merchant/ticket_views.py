"""Store back-office tickets: the queue with its SLA, a ticket's thread, answers, escalation and
the three resolutions (the handling is shared with the platform: app.tickets.web)."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_wtf import FlaskForm

from app.db import utcnow
from app.masking import mask_contact
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.tickets import services as tickets
from app.tickets import web as ticket_web
from app.tickets.forms import MessageForm, ResolveForm
from app.tickets.storefront_views import picture_response
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _ticket_or_404(ticket_no: str):
    ticket = tickets.find(ticket_no)
    if ticket is None:
        abort(404)
    return ticket


@bp.get("/tickets")
@requires("view_tickets")
def tickets_queue():
    which = request.args.get("which", "open")
    if which not in tickets.LIST_FILTERS:
        which = "open"
    store = _store()
    return render_console(
        "merchant/tickets.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        tickets=tickets.listing(which),
        which=which,
        now=utcnow(),
    )


def _page(ticket, reply_form=None, status=200):
    store = _store()
    return render_console(
        "merchant/ticket.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        ticket=ticket,
        reply_form=reply_form or MessageForm(),
        resolve_form=ResolveForm(),
        keys=[] if ticket.is_closed else ticket_web.keys_to_replace(store, ticket),
        may_answer=may("answer_tickets"),
        may_refund=may("refund"),
        may_replace=may("deliver"),
        now=utcnow(),
        contact=(lambda value: value or "") if may("view_contacts") else mask_contact,
        picture_endpoint="merchant.ticket_picture",
        picture_args={},
        actions={
            "reply": url_for("merchant.ticket_reply", ticket_no=ticket.ticket_no),
            "resolve": url_for("merchant.ticket_resolve", ticket_no=ticket.ticket_no),
            "escalate": url_for("merchant.ticket_escalate", ticket_no=ticket.ticket_no),
        },
    ), status


@bp.get("/tickets/<ticket_no>")
@requires("view_tickets")
def ticket_detail(ticket_no: str):
    return _page(_ticket_or_404(ticket_no))


@bp.post("/tickets/<ticket_no>/reply")
@requires("answer_tickets")
def ticket_reply(ticket_no: str):
    ticket = _ticket_or_404(ticket_no)
    form = MessageForm()
    if ticket_web.reply(_store(), ticket, "store", form):
        return redirect(url_for("merchant.ticket_detail", ticket_no=ticket_no))
    return _page(ticket, form, 400)


@bp.post("/tickets/<ticket_no>/resolve")
@requires("answer_tickets")
def ticket_resolve(ticket_no: str):
    _ticket_or_404(ticket_no)
    action = request.form.get("action", "")
    if (action == "refund" and not may("refund")) or (
        action == "replacement" and not may("deliver")
    ):
        abort(403)
    ticket_web.resolve(
        _store(), ticket_no, action, ResolveForm(), request.form.getlist("key", type=int)
    )
    return redirect(url_for("merchant.ticket_detail", ticket_no=ticket_no))


@bp.post("/tickets/<ticket_no>/escalate")
@requires("answer_tickets")
def ticket_escalate(ticket_no: str):
    ticket = _ticket_or_404(ticket_no)
    if FlaskForm().validate_on_submit():
        ticket_web.escalate(_store(), ticket)
    return redirect(url_for("merchant.ticket_detail", ticket_no=ticket_no))


@bp.get("/tickets/<ticket_no>/picture/<name>")
@requires("view_tickets")
def ticket_picture(ticket_no: str, name: str):
    return picture_response(_store(), _ticket_or_404(ticket_no), name)
