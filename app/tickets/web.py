"""Handling shared by the store's and the platform's ticket pages: reply, escalate, resolve."""

from __future__ import annotations

from flask import flash

from app.audit.web import current_actor
from app.extensions import db
from app.i18n import translate
from app.inventory.services import mask_secret, reveal
from app.tickets import services as tickets
from app.tickets.forms import MessageForm, ResolveForm
from app.tickets.notify import announce
from tenants.context import TenantRef

ACTIONS = ("replacement", "refund", "reject")


def keys_to_replace(store: TenantRef, ticket) -> list[tuple[int, str]]:
    """The order's sold keys, masked, for choosing the faulty ones."""
    from sqlalchemy import select

    from app.orders.models import Order

    order = db.session.scalar(select(Order).where(Order.order_no == ticket.order_no))
    if order is None:
        return []
    return [(key.id, mask_secret(reveal(key)[1])) for key in tickets.sold_keys(store, order)]


def reply(store: TenantRef, ticket, author_kind: str, form: MessageForm) -> bool:
    if not form.validate_on_submit():
        return False
    try:
        tickets.reply(store, ticket, author_kind, form.note(), actor=current_actor())
    except tickets.TicketRefused as refused:
        db.session.rollback()
        form.body.errors = [*form.body.errors, translate(refused.message, **refused.params)]
        return False
    announce(store, ticket.ticket_no)
    db.session.commit()
    flash(translate("Sent."), "success")
    return True


def resolve(store: TenantRef, ticket_no: str, action: str, form: ResolveForm, key_ids) -> bool:
    """Replacement, refund or rejection from the posted form; errors are flashed."""
    if not form.validate_on_submit() or action not in ACTIONS:
        flash(translate("The form expired; please try again."), "error")
        return False
    actor = current_actor()
    note = form.note.data or ""
    try:
        if action == "replacement":
            tickets.replace_keys(
                store, ticket_no, key_ids, fault=form.fault.data, note=note, actor=actor
            )
        elif action == "refund":
            amount = form.amount_cents()
            if amount is False:
                flash(translate(str(form.amount.errors[-1])), "error")
                return False
            decided = tickets.refund(
                store, ticket_no, amount, fault=form.fault.data, note=note, actor=actor
            )
        else:
            tickets.reject(store, ticket_no, note, actor=actor)
    except tickets.TicketRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
        return False
    announce(store, ticket_no)
    if action == "refund":
        from app.payments.refunds import schedule_refund

        schedule_refund(decided)
    db.session.commit()
    flash(translate("Ticket resolved."), "success")
    return True


def escalate(store: TenantRef, ticket) -> None:
    try:
        tickets.escalate(store, ticket, "store", actor=current_actor())
    except tickets.TicketRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
    else:
        db.session.commit()
        flash(translate("Escalated to the platform."), "success")
