"""Paying with 易支付 (epay), against a fake gateway on a real socket: submit.php checkout, MD5
signed GET notifications (forgeries and replays change nothing), and refunds paid back once."""

from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.ledger.services import verify
from app.payments.config import configure, load_provider
from app.payments.models import Refund
from app.payments.providers import InvalidCallback, Notification, RefundRequest
from app.payments.providers.epay import EpayProvider, sign
from app.payments.refunds import request_refund
from tenants.context import tenant_context
from tests.support.gateways.epay import KEY, FakeEpay
from tests.support.payment_flows import (
    execute,
    pay_with,
    refund_whole_order,
    state,
    unpaid_order,
)

CALLBACK = "/payments/callback/epay"


@pytest.fixture
def epay(app, fake_epay):
    """易支付 configured against the fake gateway, switched off again afterwards (the app is
    shared by the whole session, where only the sandbox is expected to be on)."""
    with app.app_context():
        configure("epay", fake_epay.credentials(), enabled=True)
    yield fake_epay
    with app.app_context():
        configure("epay", {}, enabled=False)


def notify(apex, params: dict) -> tuple[int, str]:
    """As the gateway does it: a GET with the signed parameters in the query string."""
    answer = apex.get(f"{CALLBACK}?{urlencode(params)}")
    return answer.status_code, answer.get_data(as_text=True)


def paid_order(app, store, apex, epay: FakeEpay):
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "epay")
    requests.get(payment.checkout_payload, timeout=10).raise_for_status()
    assert notify(apex, epay.notification(payment.payment_no)) == (200, "success")
    assert state(app, store, order)["order"] == "delivered"
    return order, payment


def test_the_signature_matches_the_protocol_notes_worked_examples():
    submit = {
        "pid": "1001",
        "type": "alipay",
        "out_trade_no": "20240101123456001",
        "notify_url": "https://shop.example.com/pay/epay/notify",
        "return_url": "https://shop.example.com/pay/epay/return",
        "name": "VIP会员",
        "money": "1.00",
        "param": "",
    }
    assert sign(submit, KEY) == "fb7c8fa0f7e74cc5eef9d51a24f8d7c2"
    notified = {
        "pid": "1001",
        "trade_no": "2024010112345812345",
        "out_trade_no": "20240101123456001",
        "type": "alipay",
        "name": "VIP会员",
        "money": "1",  # PHP prints (float)"1.00" as 1
        "trade_status": "TRADE_SUCCESS",
        "sign_type": "MD5",
    }
    provider = EpayProvider({"pid": "1001", "key": KEY, "gateway_url": "https://pay.example.com/"})
    for signature in ("28b0115e22d3d16a63356c4bf905a0cb", "28B0115E22D3D16A63356C4BF905A0CB"):
        event = provider.verify_callback(
            Notification("GET", {}, b"", dict(notified, sign=signature))
        )
        assert (event.payment_no, event.provider_txn_id) == (
            "20240101123456001",
            "2024010112345812345",
        )
        assert (event.amount_cents, event.currency, event.succeeded) == (100, "CNY", True)
    with pytest.raises(InvalidCallback):
        provider.verify_callback(
            Notification(
                "GET", {}, b"", dict(notified, money="10", sign="28b0115e22d3d16a63356c4bf905a0cb")
            )
        )


def test_a_buyer_pays_through_epay_and_gets_the_key_once(app, make_store, apex, epay):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "epay")

    assert payment.checkout_kind == "redirect"
    assert payment.checkout_payload.startswith(f"{epay.url}/submit.php?")
    cashier = requests.get(payment.checkout_payload, timeout=10)
    assert cashier.status_code == 200, cashier.text  # the gateway accepted our MD5 signature
    at_epay = epay.orders[payment.payment_no]
    assert at_epay["money"] == f"{payment.amount_cents // 100}.{payment.amount_cents % 100:02d}"
    assert at_epay["type"] == "alipay"
    assert at_epay["notify_url"] == f"http://{app.config['PLATFORM_DOMAIN']}{CALLBACK}"

    paid = epay.notification(payment.payment_no)
    assert notify(apex, paid) == (200, "success")
    after = state(app, store, order)
    assert after["order"] == "delivered" and after["sold"] == 1
    assert after["paid_transactions"] == 1
    assert after["payments"] == [(payment.payment_no, "succeeded", f"epay:{at_epay['trade_no']}")]
    with app.app_context():
        assert verify() == []

    assert notify(apex, paid) == (200, "success")  # the gateway's retries
    answer = apex.post(CALLBACK, data=paid)  # some gateways POST: the same answer
    assert answer.get_data(as_text=True) == "success"
    assert state(app, store, order) == after


def test_forged_tampered_and_foreign_notifications_change_nothing(app, make_store, apex, epay):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "epay")
    requests.get(payment.checkout_payload, timeout=10).raise_for_status()
    good = epay.notification(payment.payment_no)
    before = state(app, store, order)

    refused = {
        "forged signature": dict(good, sign="0" * 32),
        "amount changed after signing": dict(good, money="0.01"),
        "signed with another key": epay.notification(payment.payment_no, key="x" * 32),
        "another merchant's payment": epay.notification(payment.payment_no, pid="1002"),
        "genuine but for less money": epay.notification(payment.payment_no, money="0.01"),
        "three decimals": epay.notification(payment.payment_no, money="10.001"),
        "unknown payment": epay.notification(payment.payment_no, out_trade_no="P999999"),
        "unsigned": {k: v for k, v in good.items() if k not in ("sign", "sign_type")},
        "junk": {"junk": "1"},
    }
    for case, params in refused.items():
        assert notify(apex, params) == (400, "fail"), case
        assert state(app, store, order) == before, case

    # Genuine, but not a success: acknowledged (or the gateway retries), and ignored.
    other = epay.notification(payment.payment_no, trade_status="TRADE_CLOSED")
    assert notify(apex, other) == (200, "success")
    assert state(app, store, order) == before

    assert notify(apex, good) == (200, "success")
    assert state(app, store, order)["order"] == "delivered"


def test_a_refund_is_paid_back_once_and_booked(app, make_store, apex, epay):
    store = make_store()
    order, payment = paid_order(app, store, apex, epay)

    refund_no = refund_whole_order(app, store, order.order_no)
    done = execute(app, refund_no)
    assert (done.status, done.payment_status) == ("succeeded", "refunded")
    assert [m["money"] for m in epay.money_moves] == [
        f"{payment.amount_cents // 100}.{payment.amount_cents % 100:02d}"
    ]
    assert (
        done.provider_refund_id
        == f"{epay.orders[payment.payment_no]['trade_no']}:{epay.money_moves[0]['refund_no']}"
    )
    assert state(app, store, order)["order"] == "refunded"
    with app.app_context():
        assert verify() == []

    assert execute(app, refund_no).status == "succeeded"  # a repeated job
    with app.app_context():  # and asking the gateway again does not pay it twice
        refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
        load_provider("epay").refund(
            RefundRequest(
                refund_no=refund_no,
                payment_no=payment.payment_no,
                provider_txn_id=refund.payment.provider_txn_id.partition(":")[2],
                amount_cents=refund.amount_cents,
                payment_amount_cents=payment.amount_cents,
                currency="CNY",
            )
        )
    assert len(epay.money_moves) == 1
    with app.app_context():
        assert verify() == []


def test_a_refused_refund_keeps_the_reason_and_can_be_retried(app, make_store, apex, epay):
    store = make_store()
    order, _ = paid_order(app, store, apex, epay)
    refund_no = refund_whole_order(app, store, order.order_no)

    epay.refusal = (-2, "商户未开启订单退款API接口")
    failed = execute(app, refund_no)
    assert failed.status == "failed" and "商户未开启订单退款API接口" in failed.error
    assert failed.payment_status == "succeeded" and epay.money_moves == []

    epay.refusal = None
    retried = execute(app, refund_no)
    assert (retried.status, retried.payment_status) == ("succeeded", "refunded")
    assert len(epay.money_moves) == 1
    with app.app_context():
        assert verify() == []


def test_a_refund_whose_answer_was_lost_is_not_paid_twice(app, make_store, apex, epay):
    store = make_store()
    order, _ = paid_order(app, store, apex, epay)
    refund_no = refund_whole_order(app, store, order.order_no)

    epay.lose_next_refund_answer = True
    assert execute(app, refund_no).status == "failed"
    assert len(epay.money_moves) == 1  # it was paid back; we just never heard

    assert execute(app, refund_no).status == "succeeded"  # the gateway shows it refunded
    assert len(epay.money_moves) == 1
    with app.app_context():
        assert verify() == []


def test_a_second_partial_refund_is_left_to_a_person(app, make_store, apex, epay):
    """V1 refunds carry no refund number: after one refund, another cannot be told from a
    retry, so it fails with a reason instead of risking paying twice."""
    store = make_store()
    order, payment = paid_order(app, store, apex, epay)
    with app.app_context(), tenant_context(store):
        first = request_refund(store, order.order_no, amount_cents=300, actor="test", reason="x")
        first_no = first.refund_no
    assert execute(app, first_no).status == "succeeded"
    with app.app_context(), tenant_context(store):
        second = request_refund(store, order.order_no, amount_cents=200, actor="test", reason="y")
        second_no = second.refund_no
    failed = execute(app, second_no)
    assert failed.status == "failed" and "back office" in failed.error
    assert [m["money"] for m in epay.money_moves] == ["3.00"]
    with app.app_context():
        assert verify() == []


def test_an_unreachable_gateway_fails_the_refund_without_leaking_the_key(
    app, make_store, apex, epay
):
    store = make_store()
    order, _ = paid_order(app, store, apex, epay)
    refund_no = refund_whole_order(app, store, order.order_no)
    with FakeEpay() as gone:
        closed_url = f"{gone.url}/"
    with app.app_context():
        configure("epay", {"gateway_url": closed_url})
    failed = execute(app, refund_no)
    assert failed.status == "failed" and "unreachable" in failed.error
    assert KEY not in failed.error and epay.money_moves == []

    with app.app_context():
        configure("epay", {"gateway_url": f"{epay.url}/submit.php"})  # pasted with the page
    assert execute(app, refund_no).status == "succeeded"
    assert len(epay.money_moves) == 1
