"""Paying with Alipay, against a fake Alipay gateway on a real socket: page and wap checkout,
signed notifications (forgeries and replays change nothing), and refunds paid back once."""

import base64
import secrets
from dataclasses import replace

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.ledger.services import verify
from app.orders.models import Order
from app.payments.config import configure, load_provider
from app.payments.models import Payment, Refund
from app.payments.providers import RefundRequest
from app.payments.services import start_payment
from tenants.context import tenant_context
from tests.support.gateways.alipay import APP_ID, FakeAlipay
from tests.support.gateways.wechat import new_rsa_key
from tests.support.payment_flows import (
    execute,
    pay_with,
    refund_whole_order,
    state,
    unpaid_order,
)

CALLBACK = "/payments/callback/alipay"


@pytest.fixture
def alipay(app, fake_alipay):
    """Alipay configured against the fake gateway, switched off again afterwards (the app is
    shared by the whole session, where only the sandbox is expected to be on)."""
    with app.app_context():
        configure("alipay", fake_alipay.credentials(), enabled=True)
    yield fake_alipay
    with app.app_context():
        configure("alipay", {}, enabled=False)


def notify(apex, params: dict) -> tuple[int, str]:
    answer = apex.post(CALLBACK, data=params)
    return answer.status_code, answer.get_data(as_text=True)


def paid_order(app, store, apex, alipay: FakeAlipay):
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "alipay")
    requests.get(payment.checkout_payload, timeout=10).raise_for_status()
    assert notify(apex, alipay.notification(payment.payment_no)) == (200, "success")
    assert state(app, store, order)["order"] == "delivered"
    return order, payment


def test_a_buyer_pays_at_alipay_and_gets_the_key_once(app, make_store, apex, alipay):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "alipay")

    assert payment.checkout_kind == "redirect"
    assert payment.checkout_payload.startswith(f"{alipay.url}/gateway.do?")
    cashier = requests.get(payment.checkout_payload, timeout=10)
    assert cashier.status_code == 200, cashier.text  # the gateway accepted our RSA2 signature
    at_alipay = alipay.orders[payment.payment_no]
    assert at_alipay["method"] == "alipay.trade.page.pay"
    assert (
        at_alipay["total_amount"]
        == f"{payment.amount_cents // 100}.{payment.amount_cents % 100:02d}"
    )
    assert at_alipay["notify_url"] == f"http://{app.config['PLATFORM_DOMAIN']}{CALLBACK}"
    assert state(app, store, order)["order"] == "pending_payment"

    paid = alipay.notification(payment.payment_no)
    assert notify(apex, paid) == (200, "success")
    after = state(app, store, order)
    assert after["order"] == "delivered" and after["sold"] == 1
    assert after["paid_transactions"] == 1
    assert after["payments"] == [
        (payment.payment_no, "succeeded", f"alipay:{at_alipay['trade_no']}")
    ]
    with app.app_context():
        assert verify() == []

    assert notify(apex, paid) == (200, "success")  # Alipay repeats until it hears success
    assert state(app, store, order) == after


def test_a_phone_buyer_is_sent_to_the_wap_checkout(app, make_store, alipay):
    store = make_store()
    order = unpaid_order(app, store)
    with app.app_context(), tenant_context(store):
        row = db.session.scalar(select(Order).where(Order.order_no == order.order_no))
        payment = start_payment(store, row, "alipay", return_url="http://x/back", mobile=True)
        url, payment_no = payment.checkout_payload, payment.payment_no
    assert requests.get(url, timeout=10).status_code == 200
    assert alipay.orders[payment_no]["method"] == "alipay.trade.wap.pay"
    biz = alipay.requests[-1]["biz"]
    assert biz["product_code"] == "QUICK_WAP_WAY" and biz["quit_url"] == "http://x/back"


def test_forged_tampered_and_foreign_notifications_change_nothing(app, make_store, apex, alipay):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "alipay")
    requests.get(payment.checkout_payload, timeout=10).raise_for_status()
    good = alipay.notification(payment.payment_no)
    before = state(app, store, order)

    refused = {
        "forged signature": dict(good, sign=base64.b64encode(secrets.token_bytes(256)).decode()),
        "amount changed after signing": dict(good, total_amount="0.01"),
        "signed by someone else's key": alipay.notification(
            payment.payment_no, signing_key=new_rsa_key()
        ),
        "another app's payment": alipay.notification(payment.payment_no, app_id="2021000000009999"),
        "another seller's payment": alipay.notification(
            payment.payment_no, seller_id="2088999999999999"
        ),
        "genuine but for less money": alipay.notification(payment.payment_no, total_amount="0.01"),
        "three decimals": alipay.notification(payment.payment_no, total_amount="10.001"),
        "unknown payment": alipay.notification(payment.payment_no, out_trade_no="P999999"),
        "unsigned": {k: v for k, v in good.items() if k not in ("sign", "sign_type")},
        "junk": {"junk": "1"},
    }
    for case, params in refused.items():
        assert notify(apex, params) == (400, "fail"), case
        assert state(app, store, order) == before, case

    assert notify(apex, good) == (200, "success")
    assert state(app, store, order)["order"] == "delivered"


def test_a_closed_trade_leaves_the_order_unpaid(app, make_store, apex, alipay):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "alipay")
    requests.get(payment.checkout_payload, timeout=10).raise_for_status()
    before = state(app, store, order)

    waiting = alipay.notification(payment.payment_no, trade_status="WAIT_BUYER_PAY")
    assert notify(apex, waiting) == (200, "success")
    assert state(app, store, order) == before

    closed = alipay.notification(payment.payment_no, trade_status="TRADE_CLOSED")
    assert notify(apex, closed) == (200, "success")  # genuine: Alipay must stop retrying
    after = state(app, store, order)
    assert after["order"] == "pending_payment" and after["sold"] == 0
    assert after["paid_transactions"] == 0
    assert after["payments"] == [(payment.payment_no, "failed", None)]


def test_a_refund_is_paid_back_once_and_booked(app, make_store, apex, alipay):
    store = make_store()
    order, payment = paid_order(app, store, apex, alipay)

    refund_no = refund_whole_order(app, store, order.order_no)
    done = execute(app, refund_no)
    assert (done.status, done.payment_status) == ("succeeded", "refunded")
    assert done.provider_refund_id.endswith(refund_no)
    assert [m["amount"] for m in alipay.money_moves] == [
        f"{payment.amount_cents // 100}.{payment.amount_cents % 100:02d}"
    ]
    assert alipay.orders[payment.payment_no]["status"] == "TRADE_CLOSED"
    assert state(app, store, order)["order"] == "refunded"
    with app.app_context():
        assert verify() == []

    assert execute(app, refund_no).status == "succeeded"  # a repeated job
    with app.app_context():  # and the gateway itself never pays one refund_no twice
        refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
        request = RefundRequest(
            refund_no=refund_no,
            payment_no=payment.payment_no,
            provider_txn_id=refund.payment.provider_txn_id.partition(":")[2],
            amount_cents=refund.amount_cents,
            payment_amount_cents=payment.amount_cents,
            currency="CNY",
        )
        load_provider("alipay").refund(request)
        load_provider("alipay").refund(replace(request, provider_txn_id=""))
    assert len(alipay.money_moves) == 1
    with app.app_context():
        assert verify() == []


def test_a_refused_refund_keeps_the_reason_and_can_be_retried(app, make_store, apex, alipay):
    store = make_store()
    order, payment = paid_order(app, store, apex, alipay)
    refund_no = refund_whole_order(app, store, order.order_no)

    alipay.refusal = ("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足{请充值后重试}")
    failed = execute(app, refund_no)
    assert failed.status == "failed" and "卖家余额不足{请充值后重试}" in failed.error
    assert failed.payment_status == "succeeded" and alipay.money_moves == []

    alipay.refusal = None
    retried = execute(app, refund_no)
    assert (retried.status, retried.payment_status) == ("succeeded", "refunded")
    assert len(alipay.money_moves) == 1
    with app.app_context():
        assert verify() == []


def test_a_refund_whose_answer_was_lost_is_not_paid_twice(app, make_store, apex, alipay):
    store = make_store()
    order, _ = paid_order(app, store, apex, alipay)
    refund_no = refund_whole_order(app, store, order.order_no)

    alipay.lose_next_refund_answer = True
    assert execute(app, refund_no).status == "failed"
    assert len(alipay.money_moves) == 1  # it was paid back; we just never heard

    assert execute(app, refund_no).status == "succeeded"
    assert len(alipay.money_moves) == 1
    with app.app_context():
        assert verify() == []


def test_an_answer_not_signed_by_alipay_is_not_believed(app, make_store, apex, alipay):
    store = make_store()
    order, _ = paid_order(app, store, apex, alipay)
    refund_no = refund_whole_order(app, store, order.order_no)

    alipay.answer_key = new_rsa_key()
    failed = execute(app, refund_no)
    assert failed.status == "failed" and "signature" in failed.error
    assert failed.payment_status == "succeeded"

    alipay.answer_key = alipay.alipay_key
    assert execute(app, refund_no).status == "succeeded"
    assert len(alipay.money_moves) == 1


def test_keys_pasted_as_bare_base64_work(app, make_store, apex, alipay):
    """The Alipay console shows keys without PEM armour; either form is accepted."""

    def bare(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    credentials = alipay.credentials()
    with app.app_context():
        configure(
            "alipay",
            {
                "app_private_key": bare(credentials["app_private_key"]),
                "alipay_public_key": bare(credentials["alipay_public_key"]),
            },
        )
        assert load_provider("alipay").credentials["app_id"] == APP_ID
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "alipay")
    assert requests.get(payment.checkout_payload, timeout=10).status_code == 200
    assert notify(apex, alipay.notification(payment.payment_no)) == (200, "success")
    with app.app_context():
        assert (
            db.session.scalar(
                select(Payment.status).where(Payment.payment_no == payment.payment_no)
            )
            == "succeeded"
        )
