"""The buyer's side of tickets on the store host: open one from the order page (its signed
link), then follow it on the ticket's own signed page — reply, add pictures, escalate."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request
from sqlalchemy import select

from app.audit.services import Actor
from app.db import utcnow
from app.extensions import db
from app.i18n import translate
from app.net import client_ip
from app.orders.models import Order
from app.storefront.access import token_matches as order_token_matches
from app.tickets import services as tickets
from app.tickets.forms import MessageForm, OpenTicketForm
from app.tickets.links import ticket_page_url, ticket_token, token_matches
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from tenants.context import current_tenant

bp = SiteBlueprint("tickets", __name__, site="store")


def _buyer(contact: str) -> Actor:
    return Actor("customer", None, contact, client_ip())


def _refused(form, refused: tickets.TicketRefused) -> None:
    db.session.rollback()
    field = getattr(form, refused.field, None) or form.body
    field.errors = [*field.errors, translate(refused.message, **refused.params)]


def _buyers_order(order_no: str) -> Order:
    store = current_tenant._get_current_object()
    if not order_token_matches(store, order_no, request.args.get("t", "")):
        abort(404)
    order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        abort(404)
    return order


@bp.route("/order/<order_no>/ticket", methods=["GET", "POST"])
@ratelimits.limit("ticket_open", methods=["POST"])
def open_ticket(order_no: str):
    store = current_tenant._get_current_object()
    order = _buyers_order(order_no)
    existing = tickets.find_open(order.order_no)
    if existing is not None:
        return redirect(ticket_page_url(store, existing.ticket_no))
    form = OpenTicketForm()
    if form.validate_on_submit():
        contact = order.contact_email or order.contact_phone
        try:
            ticket = tickets.open_ticket(
                store, order, form.subject.data, form.note(), contact=contact, actor=_buyer(contact)
            )
        except tickets.TicketRefused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            return redirect(ticket_page_url(store, ticket.ticket_no))
    return render_theme(
        "shop/ticket_new.html", store=store, order=order, form=form, token=request.args["t"]
    ), 400 if form.errors else 200


def _buyers_ticket(ticket_no: str):
    store = current_tenant._get_current_object()
    if not token_matches(store, ticket_no, request.args.get("t", "")):
        abort(404)
    ticket = tickets.find(ticket_no)
    if ticket is None:
        abort(404)
    return store, ticket


def _ticket_page(store, ticket, form=None, status=200):
    return render_theme(
        "shop/ticket.html",
        store=store,
        ticket=ticket,
        form=form or MessageForm(),
        token=ticket_token(store, ticket.ticket_no),
        overdue=ticket.response_overdue(utcnow()),
        may_escalate=_may_escalate(ticket),
    ), status


def _may_escalate(ticket) -> bool:
    if ticket.is_closed or ticket.escalated_at is not None:
        return False
    return ticket.status == "answered" or utcnow() >= ticket.first_response_due_at


@bp.get("/ticket/<ticket_no>")
@ratelimits.limit("ticket_page")
def ticket_page(ticket_no: str):
    store, ticket = _buyers_ticket(ticket_no)
    return _ticket_page(store, ticket)


@bp.post("/ticket/<ticket_no>/reply")
@ratelimits.limit("ticket_reply")
def reply(ticket_no: str):
    store, ticket = _buyers_ticket(ticket_no)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            tickets.reply(store, ticket, "customer", form.note(), actor=_buyer(ticket.contact))
        except tickets.TicketRefused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            return redirect(ticket_page_url(store, ticket.ticket_no))
    return _ticket_page(store, ticket, form, 400)


@bp.post("/ticket/<ticket_no>/escalate")
@ratelimits.limit("ticket_escalate")
def escalate(ticket_no: str):
    store, ticket = _buyers_ticket(ticket_no)
    form = MessageForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        tickets.escalate(store, ticket, "customer", actor=_buyer(ticket.contact))
    except tickets.TicketRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
    else:
        db.session.commit()
        flash(translate("The platform will look at this ticket too."), "success")
    return redirect(ticket_page_url(store, ticket.ticket_no))


@bp.get("/ticket/<ticket_no>/picture/<name>")
def picture(ticket_no: str, name: str):
    store, ticket = _buyers_ticket(ticket_no)
    return picture_response(store, ticket, name)


def picture_response(store, ticket, name: str) -> Response:
    found = tickets.attachment(store, ticket, name)
    if found is None:
        abort(404)
    data, mimetype = found
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "private, no-store"})
