"""A fake Stripe API (form-encoded as stripe-python sends it, Bearer keys, Idempotency-Key replay)
and the signed webhooks Stripe would send us.

Payments: Checkout Sessions in payment mode, refunds. Billing: customers, prices, Checkout
Sessions in subscription mode, subscriptions (retrieve; tests play Stripe's side with
complete_checkout / update_subscription / new_invoice), Customer Portal sessions, invoices
(list, create_preview). Every webhook is signed by stripe_signature(), as Stripe signs them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import time
from urllib.parse import parse_qsl

import pytest

from tests.support.gateways.local_server import LocalGateway

SECRET_KEY = "sk_test_kameng_fake_0123456789"
WEBHOOK_SECRET = "whsec_kameng_fake_0123456789"
API_VERSION = "2026-10-28.endive"
PERIOD_SECONDS = {"month": 30 * 86400, "year": 365 * 86400}


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
        # Billing
        self.customers: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}  # in creation order
        self.portal_sessions: list[dict] = []  # as created, with the parameters sent
        self.session_terms: dict[str, dict] = {}  # checkout session id -> what it will subscribe

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
            ("POST", "/v1/customers"): self._create_customer,
            ("POST", "/v1/billing_portal/sessions"): self._create_portal_session,
            ("GET", "/v1/invoices"): self._list_invoices,
            ("POST", "/v1/invoices/create_preview"): self._preview_invoice,
        }.get((method, path))
        found = re.fullmatch(r"/v1/(subscriptions|customers)/([A-Za-z0-9_]+)", path)
        if route is None and method == "GET" and found:
            kind, object_id = found.groups()
            route = lambda _form: self._retrieve(kind, object_id)  # noqa: E731
        if route is None:
            return self._error(404, f"Unrecognized request URL ({method}: {path})")
        status, answer_headers, answer = route(dict(params))
        if key and status < 300:  # refusals are not saved: a retry asks again
            self.idempotent[key] = (params, status, answer)
        return status, answer_headers, answer

    def _create_session(self, form: dict):
        if form.get("mode") == "subscription":
            return self._create_subscription_session(form)
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

    # -- billing: the API ------------------------------------------------------------------------

    @staticmethod
    def _nested(form: dict, prefix: str) -> dict:
        """`metadata[plan]=pro` -> {"plan": "pro"} for one level of brackets under `prefix`."""
        return {
            k[len(prefix) + 1 : -1]: v
            for k, v in form.items()
            if k.startswith(prefix + "[") and "][" not in k[len(prefix) :]
        }

    def _missing(self, kind: str, object_id: str):
        return self._error(404, f"No such {kind}: '{object_id}'", code="resource_missing")

    def _retrieve(self, kind: str, object_id: str):
        found = {"subscriptions": self.subscriptions, "customers": self.customers}[kind]
        if object_id not in found:
            return self._missing(kind.rstrip("s"), object_id)
        return self._json(200, found[object_id])

    def _create_customer(self, form: dict):
        return self._json(
            200,
            self._new_customer(form.get("email"), form.get("name"), self._nested(form, "metadata")),
        )

    def _new_customer(self, email=None, name=None, metadata=None) -> dict:
        customer = {
            "id": f"cus_{secrets.token_hex(7)}",
            "object": "customer",
            "email": email,
            "name": name,
            "metadata": metadata or {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def _create_subscription_session(self, form: dict):
        price_id = form.get("line_items[0][price]", "")
        if price_id not in self.prices:
            return self._missing("price", price_id)
        customer = form.get("customer")
        if customer and customer not in self.customers:
            return self._missing("customer", customer)
        if not form.get("success_url"):
            return self._error(400, "Missing required param: success_url.")
        session_id = f"cs_test_{secrets.token_hex(12)}"
        price = self.prices[price_id]
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": price["unit_amount"],
            "currency": price["currency"],
            "customer": customer,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": self._nested(form, "metadata"),
            "subscription": None,
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.url}/c/pay/{session_id}",
            "livemode": False,
            "created": int(time.time()),
        }
        trial = form.get("subscription_data[trial_period_days]")
        self.session_terms[session_id] = {
            "price": price_id,
            "quantity": int(form.get("line_items[0][quantity]") or 1),
            "trial_days": int(trial) if trial else 0,
            "metadata": self._nested(form, "subscription_data[metadata]"),
        }
        self.sessions[session_id] = session
        return self._json(200, session)

    def _create_portal_session(self, form: dict):
        customer = form.get("customer", "")
        if customer not in self.customers:
            return self._missing("customer", customer)
        flow_type = form.get("flow_data[type]")
        if flow_type:
            subscription = self.subscriptions.get(
                form.get(f"flow_data[{flow_type}][subscription]", "")
            )
            if subscription is None or subscription["customer"] != customer:
                return self._error(400, "The subscription does not belong to this customer.")
            item = form.get("flow_data[subscription_update_confirm][items][0][id]")
            if flow_type == "subscription_update_confirm" and (
                item != subscription["items"]["data"][0]["id"]
                or form.get("flow_data[subscription_update_confirm][items][0][price]")
                not in self.prices
            ):
                return self._error(400, "Invalid subscription item or price.")
        session = {
            "id": f"bps_{secrets.token_hex(12)}",
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": form.get("return_url"),
            "url": f"{self.url}/p/session/{secrets.token_hex(8)}",
            "livemode": False,
            "created": int(time.time()),
        }
        self.portal_sessions.append(dict(session, params=form))
        return self._json(200, session)

    def _list_invoices(self, form: dict):
        data = [i for i in self.invoices.values() if i["customer"] == form.get("customer")]
        data.reverse()
        limit = int(form.get("limit") or 10)
        return self._json(
            200,
            {"object": "list", "data": data[:limit], "has_more": len(data) > limit,
             "url": "/v1/invoices"},
        )  # fmt: skip

    def _preview_invoice(self, form: dict):
        subscription = self.subscriptions.get(form.get("subscription", ""))
        if subscription is None:
            return self._missing("subscription", form.get("subscription", ""))
        if subscription["status"] == "canceled" or subscription["cancel_at_period_end"]:
            return self._error(
                400, "No upcoming invoices for this subscription.", code="invoice_upcoming_none"
            )
        item = subscription["items"]["data"][0]
        return self._json(
            200,
            {
                "object": "invoice",
                "id": None,
                "customer": subscription["customer"],
                "amount_due": item["price"]["unit_amount"] * item["quantity"],
                "total": item["price"]["unit_amount"] * item["quantity"],
                "currency": item["price"]["currency"],
                "period_end": item["current_period_end"],
                "next_payment_attempt": item["current_period_end"],
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": subscription["id"]},
                },
            },
        )

    # -- billing: Stripe's side, played by the tests ------------------------------------------

    def add_price(
        self, price_id: str, unit_amount: int, interval: str = "month", currency: str = "cny"
    ) -> dict:
        price = {
            "id": price_id,
            "object": "price",
            "type": "recurring",
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": {"interval": interval, "interval_count": 1},
            "active": True,
        }
        with self.lock:
            self.prices[price_id] = price
        return price

    def complete_checkout(self, session_id: str) -> str:
        """The buyer paid at Checkout: Stripe creates the customer (if the session had none), the
        subscription (trialing when the session asked for a trial) and its first invoice."""
        with self.lock:
            session, terms = self.sessions[session_id], self.session_terms[session_id]
            if session["customer"] is None:
                session["customer"] = self._new_customer()["id"]
            now = int(time.time())
            price = self.prices[terms["price"]]
            trial_end = now + terms["trial_days"] * 86400 if terms["trial_days"] else None
            subscription = {
                "id": f"sub_{secrets.token_hex(12)}",
                "object": "subscription",
                "customer": session["customer"],
                "status": "trialing" if trial_end else "active",
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "ended_at": None,
                "created": now,
                "start_date": now,
                "trial_start": now if trial_end else None,
                "trial_end": trial_end,
                "metadata": dict(terms["metadata"]),
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": f"si_{secrets.token_hex(8)}",
                            "object": "subscription_item",
                            "price": copy.deepcopy(price),
                            "quantity": terms["quantity"],
                            "current_period_start": now,
                            "current_period_end": trial_end
                            or now + PERIOD_SECONDS[price["recurring"]["interval"]],
                        }
                    ],
                    "has_more": False,
                },
                "latest_invoice": None,
                "livemode": False,
            }
            self.subscriptions[subscription["id"]] = subscription
            session.update(status="complete", payment_status="paid")
            session["subscription"] = subscription["id"]
            self.new_invoice(subscription["id"], paid=True, amount=0 if trial_end else None)
        return subscription["id"]

    def update_subscription(self, subscription_id: str, *, price: str | None = None, **changes):
        """Change a subscription as Stripe would (a new status, a new price from the portal, a
        cancellation at period end, …); returns a copy of it as it is now."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            if price is not None:
                subscription["items"]["data"][0]["price"] = copy.deepcopy(self.prices[price])
            if changes.get("status") == "canceled":
                now = int(time.time())
                changes.setdefault("canceled_at", now)
                changes.setdefault("ended_at", now)
            subscription.update(changes)
            return copy.deepcopy(subscription)

    def new_invoice(self, subscription_id: str, *, paid: bool, amount: int | None = None) -> dict:
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            item = subscription["items"]["data"][0]
            due = item["price"]["unit_amount"] * item["quantity"] if amount is None else amount
            invoice_id = f"in_{secrets.token_hex(12)}"
            invoice = {
                "id": invoice_id,
                "object": "invoice",
                "number": f"KM-{len(self.invoices) + 1:04d}",
                "customer": subscription["customer"],
                "status": "paid" if paid else "open",
                "amount_due": due,
                "amount_paid": due if paid else 0,
                "total": due,
                "currency": item["price"]["currency"],
                "created": int(time.time()),
                "hosted_invoice_url": f"{self.url}/i/{invoice_id}",
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": subscription_id},
                },
                "livemode": False,
            }
            self.invoices[invoice_id] = invoice
            subscription["latest_invoice"] = invoice_id
            return copy.deepcopy(invoice)

    # -- webhooks --------------------------------------------------------------------------------

    def signed_event(
        self,
        event_type: str,
        obj: dict,
        *,
        created: int | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
        event_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The signed (payload, headers) Stripe POSTs to a webhook endpoint for `obj`."""
        event = {
            "id": event_id or f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()) if created is None else created,
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }
        payload = json.dumps(event).encode()
        signature = stripe_signature(payload, secret or self.webhook_secret, timestamp)
        return payload, {"Stripe-Signature": signature, "Content-Type": "application/json"}

    def subscription_event(
        self, subscription_id: str, event_type: str = "customer.subscription.updated", **options
    ) -> tuple[bytes, dict[str, str]]:
        with self.lock:
            snapshot = copy.deepcopy(self.subscriptions[subscription_id])
        return self.signed_event(event_type, snapshot, **options)

    def invoice_event(
        self, invoice: dict, event_type: str = "invoice.paid", **options
    ) -> tuple[bytes, dict[str, str]]:
        return self.signed_event(event_type, copy.deepcopy(invoice), **options)

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
            if session["mode"] == "payment" and session["payment_intent"] is None:
                intent_id = f"pi_{secrets.token_hex(12)}"
                session["payment_intent"] = intent_id
                self.intents[intent_id] = {
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "refunded": 0,
                }
            if session["mode"] == "payment" and event_type in (
                "checkout.session.completed",
                "checkout.session.async_payment_succeeded",
            ):
                session.update(status="complete", payment_status="paid")
            snapshot = dict(session, **changes)
        return self.signed_event(event_type, snapshot, timestamp=timestamp, secret=secret)


@pytest.fixture
def fake_stripe():
    with FakeStripe() as gateway:
        yield gateway
