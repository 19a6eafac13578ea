"""Ticket jobs: tell the buyer there is news on their ticket (bound to the ticket's store)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext

from app.auth.emails import email_problem
from app.mail.services import send_template
from app.tickets.links import ticket_page_url
from app.tickets.services import find
from tenants.context import require_tenant


def email_buyer(ticket_no: str) -> bool:
    """One e-mail with the ticket's link; nothing when the contact is not an e-mail address."""
    store = require_tenant()
    ticket = find(ticket_no)
    if ticket is None or email_problem(ticket.contact):
        return False
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        send_template(
            ticket.contact,
            gettext(
                "News on your ticket %(no)s at %(store)s", no=ticket.ticket_no, store=store.name
            ),
            "ticket_news",
            store=store,
            ticket=ticket,
            url=ticket_page_url(store, ticket.ticket_no),
        )
    return True
