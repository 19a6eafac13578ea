"""Platform payment routes: provider callbacks and the sandbox gateway's payment page."""

from __future__ import annotations

import logging
import secrets

from flask import abort, redirect, request
from flask_wtf import FlaskForm

from app.extensions import csrf, db
from app.payments.models import Payment
from app.payments.providers import InvalidCallback, provider
from app.payments.services import payment_store, process_notification
from app.storefront.access import order_page_url
from app.web.routing import SiteBlueprint
from app.web.site import render_console

log = logging.getLogger(__name__)
bp = SiteBlueprint("payments", __name__, site="platform")


@bp.post("/payments/callback/<provider_name>")
@csrf.exempt
def callback(provider_name: str):
    """Where gateways notify us. Answers each gateway as it expects: plain `success`/`fail`."""
    try:
        process_notification(provider_name, request.form.to_dict())
    except InvalidCallback as error:
        log.warning("refused %s callback: %s", provider_name, error)
        return "fail", 400, {"Content-Type": "text/plain"}
    return "success", 200, {"Content-Type": "text/plain"}


@bp.route("/pay/sandbox/<payment_no>", methods=["GET", "POST"])
def sandbox(payment_no: str):
    """The sandbox gateway: approve or decline, then it notifies us like a real gateway."""
    store = payment_store(payment_no)
    if store is None:
        abort(404)
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        payment = db.session.scalar(db.select(Payment).where(Payment.payment_no == payment_no))
        params = provider("sandbox").notification(
            payment, approve=request.form.get("decision") == "approve", txn_id=secrets.token_hex(8)
        )
        order_no = payment.order_no
        db.session.remove()  # the notification binds the session to the store
        try:
            process_notification("sandbox", params)
        except InvalidCallback:
            abort(400)
        return redirect(order_page_url(store, order_no))
    payment = db.session.scalar(db.select(Payment).where(Payment.payment_no == payment_no))
    return render_console("payments/sandbox.html", payment=payment, store=store, form=form)
