"""Stripe Checkout against a fake Stripe API on a real socket: redirect to the session, signed
webhooks that deliver once, hostile or unrelated webhooks that change nothing, refunds once."""

from __future__ import annotations

import time

import pytest

from app.ledger.services import verify
from app.payments.config import configure, load_provider
from app.payments.providers import ProviderError, RefundRequest
from app.payments.providers.stripe import StripeProvider
from tests.support.gateways.stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, stripe_signature
from tests.support.payment_flows import (
    execute,
    pay_with,
    refund_whole_order,
    state,
    unpaid_order,
)

CALLBACK = "/payments/callback/stripe"


@pytest.fixture
def stripe_gateway(app, fake_stripe):
    """Stripe enabled against the fake, and switched off again afterwards (the app is shared by
    the whole session, where only the sandbox is enabled)."""
    with app.app_context():
        configure(
            "stripe",
            {
                "secret_key": SECRET_KEY,
                "webhook_secret": WEBHOOK_SECRET,
                "api_base": fake_stripe.url,
            },
            enabled=True,
        )
    yield fake_stripe
    with app.app_context():
        configure("stripe", {}, enabled=False)


def session_of(gateway: FakeStripe, payment) -> dict:
    return gateway.session_for(payment.payment_no)


def paid(app, store, apex, gateway):
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "stripe")
    payload, headers = gateway.event(session_of(gateway, payment)["id"])
    assert apex.post(CALLBACK, data=payload, headers=headers).status_code == 200
    return order, payment


def test_checkout_redirects_to_a_session_and_a_webhook_delivers_once(
    app, make_store, apex, stripe_gateway
):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "stripe")

    session = session_of(stripe_gateway, payment)
    assert payment.checkout_kind == "redirect" and payment.checkout_payload == session["url"]
    sent = stripe_gateway.requests[-1]["params"]  # as stripe-python form-encodes it
    assert sent["mode"] == "payment"
    assert sent["line_items[0][price_data][currency]"] == "cny"
    assert sent["line_items[0][price_data][unit_amount]"] == str(payment.amount_cents)
    assert order.order_no in sent["line_items[0][price_data][product_data][name]"]
    assert sent["client_reference_id"] == sent["metadata[payment_no]"] == payment.payment_no
    assert sent["success_url"] == sent["cancel_url"] == "http://x/"

    completed = stripe_gateway.event(session["id"])
    settled = stripe_gateway.event(session["id"], "checkout.session.async_payment_succeeded")
    for payload, headers in (completed, completed, settled):
        answer = apex.post(CALLBACK, data=payload, headers=headers)
        assert answer.status_code == 200 and answer.get_json() == {"received": True}

    after = state(app, store, order)
    assert after["order"] == "delivered"
    assert after["payments"] == [
        (payment.payment_no, "succeeded", f"stripe:{session['payment_intent']}")
    ]
    assert after["sold"] == 1 and after["paid_transactions"] == 1
    with app.app_context():
        assert verify() == []


def test_forged_stale_or_mismatched_webhooks_are_refused_and_change_nothing(
    app, make_store, apex, stripe_gateway
):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "stripe")
    session_id = session_of(stripe_gateway, payment)["id"]
    before = state(app, store, order)
    good_payload, good_headers = stripe_gateway.event(session_id)
    junk = b"not json"
    hostile = {
        "wrong secret": stripe_gateway.event(session_id, secret="whsec_someone_else"),
        "stale": stripe_gateway.event(session_id, timestamp=int(time.time()) - 600),
        "wrong amount": stripe_gateway.event(session_id, amount_total=1),
        "wrong currency": stripe_gateway.event(session_id, currency="usd"),
        "unknown payment": stripe_gateway.event(session_id, metadata={"payment_no": "P999"}),
        "body changed after signing": (good_payload.replace(b'"paid"', b'"paid" '), good_headers),
        "unsigned": (good_payload, {"Content-Type": "application/json"}),
        "signed junk": (junk, {"Stripe-Signature": stripe_signature(junk, WEBHOOK_SECRET)}),
    }
    for case, (payload, headers) in hostile.items():
        refused = apex.post(CALLBACK, data=payload, headers=headers)
        assert refused.status_code == 400, case
        assert state(app, store, order) == before, case

    assert apex.post(CALLBACK, data=good_payload, headers=good_headers).status_code == 200
    assert state(app, store, order)["order"] == "delivered"


def test_unrelated_events_are_acknowledged_and_change_nothing(
    app, make_store, apex, stripe_gateway
):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "stripe")
    session_id = session_of(stripe_gateway, payment)["id"]
    before = state(app, store, order)
    unrelated = {
        "another event type": stripe_gateway.event(session_id, "payment_intent.created"),
        "another app's session": stripe_gateway.event(
            session_id, metadata={}, client_reference_id=None
        ),
        "not paid yet": stripe_gateway.event(session_id, payment_status="unpaid"),
    }
    for case, (payload, headers) in unrelated.items():
        answer = apex.post(CALLBACK, data=payload, headers=headers)
        assert (answer.status_code, answer.get_json()) == (200, {"received": True}), case
        assert state(app, store, order) == before, case


def test_a_failed_delayed_payment_can_still_succeed_later(app, make_store, apex, stripe_gateway):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "stripe")
    session_id = session_of(stripe_gateway, payment)["id"]

    payload, headers = stripe_gateway.event(session_id, "checkout.session.async_payment_failed")
    assert apex.post(CALLBACK, data=payload, headers=headers).status_code == 200
    after = state(app, store, order)
    assert after["order"] == "pending_payment" and after["payments"][0][1] == "failed"

    payload, headers = stripe_gateway.event(session_id, "checkout.session.async_payment_succeeded")
    assert apex.post(CALLBACK, data=payload, headers=headers).status_code == 200
    assert state(app, store, order)["order"] == "delivered"


def test_a_wrong_api_key_opens_no_payment(app, make_store, stripe_gateway):
    store = make_store()
    order = unpaid_order(app, store)
    with app.app_context():
        configure("stripe", {"secret_key": "sk_test_not_ours"})
    with pytest.raises(ProviderError, match="Invalid API Key"):
        pay_with(app, store, order.order_no, "stripe")
    assert state(app, store, order)["payments"] == []


def test_a_refund_is_paid_out_once_however_often_it_runs(app, make_store, apex, stripe_gateway):
    store = make_store()
    order, payment = paid(app, store, apex, stripe_gateway)
    intent = session_of(stripe_gateway, payment)["payment_intent"]
    refund_no = refund_whole_order(app, store, order.order_no)
    with app.app_context():
        gateway = load_provider("stripe")
    request = RefundRequest(
        refund_no=refund_no,
        payment_no=payment.payment_no,
        provider_txn_id=intent,
        amount_cents=payment.amount_cents,
        payment_amount_cents=payment.amount_cents,
        currency=payment.currency,
    )
    # The refund reached Stripe but the answer was lost: running it again finds it.
    first = gateway.refund(request)
    done = execute(app, refund_no)
    assert (done.status, done.payment_status) == ("succeeded", "refunded")
    assert done.provider_refund_id == first.provider_refund_id
    assert execute(app, refund_no).status == "succeeded"
    assert gateway.refund(request).provider_refund_id == first.provider_refund_id

    [refund] = stripe_gateway.refunds.values()
    assert refund["payment_intent"] == intent and refund["amount"] == payment.amount_cents
    assert refund["metadata"]["refund_no"] == refund_no
    creations = [
        r for r in stripe_gateway.requests if r["method"] == "POST" and "refund" in r["path"]
    ]
    assert len(creations) == 1
    with pytest.raises(ProviderError, match="already been refunded"):
        gateway.refund(RefundRequest(**dict(request.__dict__, refund_no=refund_no + "X")))
    assert state(app, store, order)["order"] == "refunded"
    with app.app_context():
        assert verify() == []


def test_the_same_idempotency_key_gets_the_same_refund(app, make_store, apex, stripe_gateway):
    import stripe

    store = make_store()
    _, payment = paid(app, store, apex, stripe_gateway)
    intent = session_of(stripe_gateway, payment)["payment_intent"]
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_gateway.url})
    params = {"payment_intent": intent, "amount": 100}
    first = client.v1.refunds.create(params=params, options={"idempotency_key": "R-same"})
    again = client.v1.refunds.create(params=params, options={"idempotency_key": "R-same"})
    assert first.id == again.id and len(stripe_gateway.refunds) == 1


def test_a_refund_stripe_refuses_stays_failed_with_its_reason(
    app, make_store, apex, stripe_gateway
):
    store = make_store()
    order, _ = paid(app, store, apex, stripe_gateway)
    refund_no = refund_whole_order(app, store, order.order_no)
    stripe_gateway.refusal = "This charge is disputed and cannot be refunded."

    failed = execute(app, refund_no)
    assert failed.status == "failed" and failed.payment_status == "succeeded"
    assert "disputed" in failed.error
    assert stripe_gateway.refunds == {}

    stripe_gateway.refusal = None  # the retry goes through once
    assert execute(app, refund_no).status == "succeeded"
    assert len(stripe_gateway.refunds) == 1
    with app.app_context():
        assert verify() == []


def test_the_acknowledgement_is_what_stripe_expects():
    provider = StripeProvider({})
    accepted, refused = provider.acknowledge(True), provider.acknowledge(False)
    assert (accepted.status, accepted.body, accepted.content_type) == (
        200,
        '{"received": true}',
        "application/json",
    )
    assert refused.status == 400
