"""Payment providers behind one interface. `sandbox` is the embedded default: a payment page on
the platform where the buyer approves or declines, which then notifies us signed exactly like a
real gateway would (HMAC-SHA256 over the sorted parameters)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app

from app.web.urls import platform_url


class InvalidCallback(ValueError):
    """A callback that is forged, malformed or not for us: refused, nothing changes."""


@dataclass(frozen=True)
class CallbackEvent:
    payment_no: str
    provider_txn_id: str
    amount_cents: int
    currency: str
    succeeded: bool


class SandboxProvider:
    name = "sandbox"

    def _secret(self) -> bytes:
        return hashlib.sha256(
            b"sandbox-gateway:" + current_app.config["SECRET_KEY"].encode()
        ).digest()

    def sign(self, params: dict[str, str]) -> str:
        message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
        return hmac.new(self._secret(), message.encode(), hashlib.sha256).hexdigest()

    def checkout_url(self, payment) -> str:
        """Where the buyer goes to pay."""
        return platform_url(f"/pay/sandbox/{payment.payment_no}")

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

    def verify_callback(self, form: dict[str, str]) -> CallbackEvent:
        try:
            params = {
                k: str(form[k]) for k in ("payment_no", "txn_id", "amount", "currency", "status")
            }
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


PROVIDERS = {"sandbox": SandboxProvider()}


def provider(name: str):
    try:
        return PROVIDERS[name]
    except KeyError:
        raise InvalidCallback(f"unknown provider {name!r}") from None
