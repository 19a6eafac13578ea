"""`stripe`: Stripe Checkout (a hosted payment page) through stripe-python's StripeClient.

The buyer is redirected to a Checkout Session in payment mode; `checkout.session.completed`
(or `…async_payment_succeeded`) webhooks, verified with the endpoint's signing secret, confirm
the payment; refunds go to the session's PaymentIntent with refund_no as the Idempotency-Key.
"""

from __future__ import annotations

import json

import stripe

from app.i18n import N_
from app.payments.providers.base import (
    CallbackEvent,
    Checkout,
    CredentialField,
    InvalidCallback,
    Notification,
    PaymentRequest,
    Provider,
    ProviderError,
    RefundRequest,
    RefundResult,
    Reply,
)

API_BASE = "https://api.stripe.com"
TIMEOUT_SECONDS = 30
PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
FAILED_EVENTS = frozenset({"checkout.session.async_payment_failed"})
REFUND_ACCEPTED = frozenset({"succeeded", "pending", "requires_action"})


def stripe_client(
    secret_key: str,
    api_base: str | None = None,
    *,
    timeout: float = TIMEOUT_SECONDS,
    retries: int = 2,
) -> stripe.StripeClient:
    """A StripeClient on `api_base` (a fake Stripe in tests): checkout payments and SaaS billing
    (app.billing.stripe_api) build theirs here."""
    return stripe.StripeClient(
        secret_key or "",
        base_addresses={"api": (api_base or API_BASE).rstrip("/")},
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=retries,
    )


class StripeProvider(Provider):
    name = "stripe"
    label = N_("Stripe")
    credential_fields = (
        CredentialField("secret_key", N_("Secret key (sk_…)"), secret=True),
        CredentialField("webhook_secret", N_("Webhook signing secret (whsec_…)"), secret=True),
        CredentialField("api_base", N_("API base URL"), default=API_BASE),
    )
    # Two-decimal currencies only: our amounts are in cents, and Stripe reads JPY or KRW
    # amounts in whole units.
    currencies = frozenset({"CNY", "USD", "EUR", "HKD", "GBP", "SGD", "AUD", "CAD", "MOP"})

    def _client(self) -> stripe.StripeClient:
        return stripe_client(
            self.credentials.get("secret_key", ""), self.credentials.get("api_base")
        )

    def create(self, request: PaymentRequest) -> Checkout:
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_cents,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "client_reference_id": request.payment_no,
            "metadata": {"payment_no": request.payment_no},
            "payment_intent_data": {"metadata": {"payment_no": request.payment_no}},
            "success_url": request.return_url,
            "cancel_url": request.return_url,
        }
        try:
            session = (
                self._client()
                .v1.checkout.sessions.create(
                    params=params, options={"idempotency_key": f"checkout-{request.payment_no}"}
                )
                .to_dict()
            )
        except stripe.StripeError as error:
            raise ProviderError(f"Stripe refused the checkout session: {error}") from None
        if not session.get("url"):
            raise ProviderError("Stripe answered without a checkout URL")
        return Checkout("redirect", session["url"])

    def verify_callback(self, notification: Notification) -> CallbackEvent | None:
        try:
            event = (
                self._client()
                .construct_event(
                    notification.body,
                    notification.header("Stripe-Signature"),
                    self.credentials.get("webhook_secret", ""),
                )
                .to_dict()
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidCallback(f"bad Stripe-Signature: {error}") from None
        except (ValueError, TypeError):  # not JSON, not UTF-8, or not a snapshot event
            raise InvalidCallback("malformed webhook") from None
        if event.get("type") in PAID_EVENTS:
            succeeded = True
        elif event.get("type") in FAILED_EVENTS:
            succeeded = False
        else:
            return None
        try:
            session = event["data"]["object"]
        except (KeyError, TypeError):
            raise InvalidCallback("malformed checkout.session event") from None
        metadata = session.get("metadata") or {}
        payment_no = metadata.get("payment_no") or session.get("client_reference_id")
        if not payment_no or session.get("mode") not in (None, "payment"):
            return None  # a session made by something else on this Stripe account
        if succeeded and session.get("payment_status") != "paid":
            return None  # completed, but a delayed method is still settling: wait for its event
        intent = session.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        amount, currency = session.get("amount_total"), session.get("currency")
        if not intent or not isinstance(amount, int) or not currency:
            raise InvalidCallback("checkout.session without payment_intent or amount")
        return CallbackEvent(
            payment_no=str(payment_no),
            provider_txn_id=str(intent),
            amount_cents=amount,
            currency=str(currency).upper(),
            succeeded=succeeded,
        )

    def acknowledge(self, accepted: bool) -> Reply:
        return Reply(
            json.dumps({"received": accepted}), 200 if accepted else 400, "application/json"
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        if not request.provider_txn_id:
            raise ProviderError("the payment has no Stripe PaymentIntent to refund")
        client = self._client()
        try:
            # Idempotency-Keys expire after 24 hours; a refund retried later is found by its
            # metadata instead of being made twice.
            earlier = client.v1.refunds.list(
                params={"payment_intent": request.provider_txn_id, "limit": 100}
            ).to_dict()
            for refund in earlier.get("data") or []:
                same = (refund.get("metadata") or {}).get("refund_no") == request.refund_no
                if same and refund.get("status") in REFUND_ACCEPTED:
                    return RefundResult(provider_refund_id=refund["id"])
            refund = client.v1.refunds.create(
                params={
                    "payment_intent": request.provider_txn_id,
                    "amount": request.amount_cents,
                    "metadata": {"refund_no": request.refund_no, "payment_no": request.payment_no},
                },
                options={"idempotency_key": request.refund_no},
            ).to_dict()
        except stripe.StripeError as error:
            raise ProviderError(f"Stripe refused the refund: {error}") from None
        if refund.get("status") not in REFUND_ACCEPTED:
            raise ProviderError(f"Stripe refund {request.refund_no} is {refund.get('status')}")
        return RefundResult(provider_refund_id=refund["id"])
