"""Platform payment routes: provider callbacks and the sandbox gateway's payment page."""

from __future__ import annotations

import logging
import secrets

from flask import abort, redirect, request
from flask_wtf import FlaskForm

from app.customers.balance import is_topup_no
from app.extensions import csrf, db, limiter
from app.payments.config import load_provider
from app.payments.models import Payment
from app.payments.providers import InvalidCallback, Notification, ProviderUnavailable, Reply
from app.payments.services import payment_store, process_notification
from app.storefront.access import order_page_url
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url

log = logging.getLogger(__name__)
bp = SiteBlueprint("payments", __name__, site="platform")


def _notification() -> Notification:
    params = request.args.to_dict()
    params.update(request.form.to_dict())
    return Notification(
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.get_data(cache=True),
        params=params,
    )


@bp.route("/payments/callback/<provider_name>", methods=["GET", "POST"])
@csrf.exempt
@limiter.exempt  # gateways retry from few addresses: never drop them (signed)
def callback(provider_name: str):
    """Where gateways notify us; each gets the answer it expects (a refusal makes it retry)."""
    notification = _notification()  # read the raw body before anything parses the form
    try:
        gateway = load_provider(provider_name, require_enabled=False)
    except ProviderUnavailable:
        abort(404)
    try:
        process_notification(provider_name, notification)
        reply = gateway.acknowledge(True)
    except InvalidCallback as error:
        log.warning("refused %s callback from %s: %s", provider_name, request.remote_addr, error)
        reply = gateway.acknowledge(False)
    return _response(reply)


def _response(reply: Reply):
    return reply.body, reply.status, {"Content-Type": reply.content_type}


@bp.route("/pay/sandbox/<payment_no>", methods=["GET", "POST"])
def sandbox(payment_no: str):
    """The sandbox gateway: approve or decline, then it notifies us like a real gateway."""
    store = payment_store(payment_no)
    if store is None:
        abort(404)
    try:
        gateway = load_provider("sandbox", require_enabled=False)
    except ProviderUnavailable:
        abort(404)
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        payment = db.session.scalar(db.select(Payment).where(Payment.payment_no == payment_no))
        params = gateway.notification(
            payment, approve=request.form.get("decision") == "approve", txn_id=secrets.token_hex(8)
        )
        order_no = payment.order_no
        db.session.remove()  # the notification binds the session to the store
        try:
            process_notification("sandbox", Notification("POST", {}, b"", params))
        except InvalidCallback:
            abort(400)
        if is_topup_no(order_no):  # a customer's balance top-up: back to their balance
            return redirect(tenant_url(store, "/account/balance"))
        return redirect(order_page_url(store, order_no))
    payment = db.session.scalar(db.select(Payment).where(Payment.payment_no == payment_no))
    return render_console("payments/sandbox.html", payment=payment, store=store, form=form)
