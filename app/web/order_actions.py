"""Order actions shared by the store back-office and the platform console: each runs the service
in the bound store and tells the staff member what happened (flash)."""

from __future__ import annotations

from flask import flash

from app.extensions import db
from app.i18n import translate
from app.orders.services import OrderError, deliver_manually
from app.payments.models import Refund
from app.payments.refunds import execute_refund
from tenants.context import TenantRef


def deliver_by_hand(store: TenantRef, order_no: str, content: str, *, actor: str) -> bool:
    """Whether the order was delivered (else the reason is flashed)."""
    try:
        deliver_manually(store, order_no, content, actor=actor)
    except OrderError as error:
        db.session.rollback()
        flash(translate(error.message, **error.params), "error")
        return False
    flash(translate("Delivered. The buyer can see it now."), "success")
    return True


def refund_at_gateway(refund_no: str) -> Refund:
    """Execute a decided refund now and report the gateway's answer."""
    refund = execute_refund(refund_no)
    if refund.status == "succeeded":
        flash(translate("Refunded to the original payment method."), "success")
    else:
        message = translate(
            "The payment provider refused the refund: %(error)s", error=refund.error
        )
        flash(message, "error")
    return refund
