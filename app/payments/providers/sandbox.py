"""`sandbox`, the embedded default: a payment page on the platform where the buyer approves or
declines, which then notifies us signed like a real gateway (HMAC-SHA256 over the sorted
parameters). Never enable it where real goods are sold: anyone can approve their own payment."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from app.i18n import N_
from app.payments.providers.base import (
    CallbackEvent,
    Checkout,
    InvalidCallback,
    Notification,
    PaymentRequest,
    Provider,
    RefundRequest,
    RefundResult,
)
from app.web.urls import platform_url

FIELDS = ("payment_no", "txn_id", "amount", "currency", "status")


class SandboxProvider(Provider):
    name = "sandbox"
    label = N_("Sandbox (test payments)")

    def _secret(self) -> bytes:
        return hashlib.sha256(
            b"sandbox-gateway:" + current_app.config["SECRET_KEY"].encode()
        ).digest()

    def sign(self, params: dict[str, str]) -> str:
        message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
        return hmac.new(self._secret(), message.encode(), hashlib.sha256).hexdigest()

    def create(self, request: PaymentRequest) -> Checkout:
        return Checkout("redirect", platform_url(f"/pay/sandbox/{request.payment_no}"))

    def notification(self, payment, *, approve: bool, txn_id: str) -> dict[str, str]:
        """The signed notification the sandbox gateway sends after the buyer decided."""
        params = {
            "payment_no": payment.payment_no,
            "txn_id": txn_id,
            "amount": str(payment.amount_cents),
            "currency": payment.currency,
            "status": "SUCCESS" if approve else "DECLINED",
        }
        params["sign"] = self.sign(params)
        return params

    def verify_callback(self, notification: Notification) -> CallbackEvent:
        form = notification.params
        try:
            params = {k: str(form[k]) for k in FIELDS}
            signature = str(form["sign"])
            amount = int(params["amount"])
        except (KeyError, ValueError):
            raise InvalidCallback("malformed notification") from None
        if not hmac.compare_digest(self.sign(params), signature):
            raise InvalidCallback("bad signature")
        return CallbackEvent(
            payment_no=params["payment_no"],
            provider_txn_id=params["txn_id"],
            amount_cents=amount,
            currency=params["currency"],
            succeeded=params["status"] == "SUCCESS",
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(provider_refund_id=f"sandbox-{request.refund_no}")
