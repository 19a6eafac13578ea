"""A fake Stripe API (checkout sessions, refunds; form-encoded as stripe-python sends them,
Bearer keys, Idempotency-Key replay) and the signed webhooks Stripe would send us."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import parse_qsl

import pytest

from tests.support.gateways.local_server import LocalGateway

SECRET_KEY = "sk_test_kameng_fake_0123456789"
WEBHOOK_SECRET = "whsec_kameng_fake_0123456789"


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=…,v1=HMAC-SHA256(secret, f"{t}.{payload}")."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={mac.hexdigest()}"


class FakeStripe(LocalGateway):
    def __init__(self, *, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET):
        super().__init__()
        self.secret_key, self.webhook_secret = secret_key, webhook_secret
        self.sessions: dict[str, dict] = {}  # id -> checkout.session
        self.intents: dict[str, dict] = {}  # id -> {"amount", "currency", "refunded"}
        self.refunds: dict[str, dict] = {}  # id -> refund, in creation order
        self.idempotent: dict[str, tuple[list, int, bytes]] = {}  # key -> (params, status, body)
        self.requests: list[dict] = []
        self.refusal: str | None = None  # refunds answer this invalid_request_error

    # -- the API -------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, payload: dict, **headers) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()

    def _error(self, status: int, message: str, *, kind="invalid_request_error", code=None):
        error = {"type": kind, "message": message}
        if code:
            error["code"] = code
        return self._json(status, {"error": error})

    def handle(self, method, path, query, headers, body):
        if headers.get("Authorization") != f"Bearer {self.secret_key}":
            return self._error(401, "Invalid API Key provided: sk_test_****")
        params = parse_qsl(body.decode() if method == "POST" else query, keep_blank_values=True)
        self.requests.append({"method": method, "path": path, "params": dict(params)})
        key = headers.get("Idempotency-Key") if method == "POST" else None
        if key and key in self.idempotent:
            earlier_params, status, answer = self.idempotent[key]
            if earlier_params != params:
                return self._error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters",
                    kind="idempotency_error",
                )
            return (
                status,
                {"Content-Type": "application/json", "Idempotent-Replayed": "true"},
                answer,
            )
        route = {
            ("POST", "/v1/checkout/sessions"): self._create_session,
            ("POST", "/v1/refunds"): self._create_refund,
            ("GET", "/v1/refunds"): self._list_refunds,
        }.get((method, path))
        if route is None:
            return self._error(404, f"Unrecognized request URL ({method}: {path})")
        status, answer_headers, answer = route(dict(params))
        if key and status < 300:  # refusals are not saved: a retry asks again
            self.idempotent[key] = (params, status, answer)
        return status, answer_headers, answer

    def _create_session(self, form: dict):
        item = "line_items[0]"
        try:
            currency = form[f"{item}[price_data][currency]"]
            unit_amount = int(form[f"{item}[price_data][unit_amount]"])
            quantity = int(form.get(f"{item}[quantity]", "1"))
            name = form[f"{item}[price_data][product_data][name]"]
            success_url = form["success_url"]
        except (KeyError, ValueError) as error:
            return self._error(400, f"Missing or invalid parameter: {error}")
        if form.get("mode") != "payment" or not name or currency != currency.lower():
            return self._error(400, "Invalid mode, currency or product name")
        session_id = f"cs_test_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": unit_amount * quantity,
            "amount_subtotal": unit_amount * quantity,
            "currency": currency,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "payment_intent": None,
            "success_url": success_url,
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.url}/c/pay/{session_id}",
            "livemode": False,
            "created": int(time.time()),
        }
        self.sessions[session_id] = session
        return self._json(200, session)

    def _create_refund(self, form: dict):
        if self.refusal:
            return self._error(400, self.refusal, code="charge_disputed")
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return self._error(404, "No such payment_intent", code="resource_missing")
        left = intent["amount"] - intent["refunded"]
        amount = int(form.get("amount") or left)
        if left <= 0:
            return self._error(
                400, "Charge has already been refunded.", code="charge_already_refunded"
            )
        if not 0 < amount <= left:
            return self._error(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount ({left})",
                code="amount_too_large",
            )
        intent["refunded"] += amount
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": form["payment_intent"],
            "status": "succeeded",
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return self._json(200, refund)

    def _list_refunds(self, form: dict):
        data = [
            r for r in self.refunds.values() if r["payment_intent"] == form.get("payment_intent")
        ]
        data.reverse()  # newest first, as Stripe lists
        return self._json(
            200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        )

    # -- webhooks --------------------------------------------------------------------------------

    def session_for(self, payment_no: str) -> dict:
        return next(s for s in self.sessions.values() if s["client_reference_id"] == payment_no)

    def event(
        self,
        session_id: str,
        event_type: str = "checkout.session.completed",
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        **changes,
    ) -> tuple[bytes, dict[str, str]]:
        """The buyer finished at Checkout: the signed (payload, headers) Stripe POSTs to the
        webhook endpoint. `changes` alter the session in the event (a wrong amount, …)."""
        with self.lock:
            session = self.sessions[session_id]
            if session["payment_intent"] is None:
                intent_id = f"pi_{secrets.token_hex(12)}"
                session["payment_intent"] = intent_id
                self.intents[intent_id] = {
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "refunded": 0,
                }
            if event_type in (
                "checkout.session.completed",
                "checkout.session.async_payment_succeeded",
            ):
                session.update(status="complete", payment_status="paid")
            event = {
                "id": f"evt_{secrets.token_hex(12)}",
                "object": "event",
                "api_version": "2025-09-30.clover",
                "created": int(time.time()),
                "type": event_type,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "data": {"object": dict(session, **changes)},
            }
        payload = json.dumps(event).encode()
        signature = stripe_signature(payload, secret or self.webhook_secret, timestamp)
        return payload, {"Stripe-Signature": signature, "Content-Type": "application/json"}


@pytest.fixture
def fake_stripe():
    with FakeStripe() as gateway:
        yield gateway
