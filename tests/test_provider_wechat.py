"""WeChat Pay v3 Native against a fake WeChat Pay on a real socket: QR code, signed and encrypted
notifications that deliver once, hostile notifications that change nothing, refunds once."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.exceptions import InvalidTag

from app.ledger.services import verify
from app.payments.config import configure, load_provider
from app.payments.providers import ProviderError, RefundRequest
from app.payments.providers.wechat import WechatPayProvider, decrypt_resource, request_message
from tests.support.gateways.wechat import (
    API_V3_KEY,
    APPID,
    MCHID,
    MERCHANT_SERIAL_NO,
    FakeWechatPay,
    new_rsa_key,
    private_pem,
)
from tests.support.payment_flows import (
    execute,
    pay_with,
    refund_whole_order,
    state,
    unpaid_order,
)

CALLBACK = "/payments/callback/wechat"


def credentials(gateway: FakeWechatPay, **changes) -> dict[str, str]:
    values = {
        "mchid": MCHID,
        "appid": APPID,
        "merchant_serial_no": MERCHANT_SERIAL_NO,
        "merchant_private_key": private_pem(gateway.merchant_key),
        "api_v3_key": API_V3_KEY,
        "platform_public_key": gateway.platform_key_pem(),
        "platform_serial_no": "" if gateway.certificate else gateway.serial,
        "api_base": gateway.url,
    }
    return values | changes


@pytest.fixture
def wechat(app, fake_wechat):
    """WeChat Pay enabled against the fake, and switched off again afterwards (the app is shared
    by the whole session, where only the sandbox is enabled)."""
    with app.app_context():
        configure("wechat", credentials(fake_wechat), enabled=True)
    yield fake_wechat
    with app.app_context():
        configure("wechat", {}, enabled=False)


def paid(app, store, apex, wechat):
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "wechat")
    body, headers = wechat.notification(payment.payment_no)
    assert apex.post(CALLBACK, data=body, headers=headers).status_code == 204
    return order, payment


def test_requests_are_signed_over_the_documented_five_lines():
    body = (
        '{"appid":"wxd678efh567hg6787","mchid":"1900000109","description":"VIP月卡",'
        '"out_trade_no":"A20240101001","notify_url":"https://shop.example.com/pay/wx/notify",'
        '"amount":{"total":990,"currency":"CNY"}}'
    )
    message = request_message(
        "POST",
        "/v3/pay/transactions/native",
        "1704081600",
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        body,
    )
    assert message == (
        "POST\n/v3/pay/transactions/native\n1704081600\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        + body
        + "\n"
    )


def test_notification_resources_decrypt_as_documented():
    resource = {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": "fdasflkja484",
        "associated_data": "transaction",
        "ciphertext": "bz1mQGtugHE+xvD4swlMsg4zban7wWlSEl1kIFLrNYY28StVmVe3/aEAyIWtLsb0+SpyZx+sRrz"
        "fY5ZTK+gq6Qd/3jkZTlKlpQfjiNGqKlW76aMCB/coJaBR4i/yUA==",
    }
    plaintext = decrypt_resource("0123456789abcdef0123456789ABCDEF", resource)
    assert json.loads(plaintext) == {
        "out_trade_no": "A20240101001",
        "trade_state": "SUCCESS",
        "amount": {"total": 100},
    }
    with pytest.raises(InvalidTag):
        decrypt_resource("0123456789abcdef0123456789ABCDEF", dict(resource, associated_data="x"))


def test_a_native_payment_shows_a_qr_code_and_delivers_once(app, make_store, apex, wechat):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "wechat")

    assert payment.checkout_kind == "qr"
    assert payment.checkout_payload == wechat.orders[payment.payment_no]["code_url"]
    assert payment.checkout_payload.startswith("weixin://wxpay/bizpayurl?pr=")
    sent = wechat.requests[-1]["body"]  # the fake checked our Authorization signature
    assert sent["out_trade_no"] == payment.payment_no
    assert sent["amount"] == {"total": payment.amount_cents, "currency": "CNY"}
    assert sent["notify_url"].endswith("/payments/callback/wechat")
    assert order.order_no in sent["description"]

    first = wechat.notification(payment.payment_no)
    again = wechat.notification(payment.payment_no)  # WeChat Pay re-sends, freshly signed
    for body, headers in (first, first, again):
        answer = apex.post(CALLBACK, data=body, headers=headers)
        assert answer.status_code == 204 and answer.get_data() == b""

    after = state(app, store, order)
    transaction_id = wechat.orders[payment.payment_no]["transaction_id"]
    assert after["order"] == "delivered"
    assert after["payments"] == [(payment.payment_no, "succeeded", f"wechat:{transaction_id}")]
    assert after["sold"] == 1 and after["paid_transactions"] == 1
    with app.app_context():
        assert verify() == []


def test_forged_stale_mismatched_or_tampered_notifications_change_nothing(
    app, make_store, apex, wechat
):
    store = make_store()
    order = unpaid_order(app, store)
    payment = pay_with(app, store, order.order_no, "wechat")
    before = state(app, store, order)
    good_body, good_headers = wechat.notification(payment.payment_no)
    hostile = {
        "forged signature": wechat.notification(payment.payment_no, signing_key=new_rsa_key()),
        "stale timestamp": wechat.notification(
            payment.payment_no, timestamp=int(time.time()) - 600
        ),
        "wrong amount": wechat.notification(payment.payment_no, total=1),
        "wrong mchid": wechat.notification(payment.payment_no, mchid="1900000999"),
        "wrong appid": wechat.notification(payment.payment_no, appid="wx0000000000000000"),
        "tampered ciphertext": wechat.notification(payment.payment_no, tamper_ciphertext=True),
        "another APIv3 key": wechat.notification(payment.payment_no, api_v3_key="k" * 32),
        "body changed after signing": (good_body.replace(b"SUCCESS", b"SUCCESS "), good_headers),
        "unsigned": (good_body, {"Content-Type": "application/json"}),
        "another serial": (good_body, dict(good_headers, **{"Wechatpay-Serial": "PUB_KEY_ID_1"})),
    }
    for case, (body, headers) in hostile.items():
        refused = apex.post(CALLBACK, data=body, headers=headers)
        assert refused.status_code == 400, case
        assert refused.get_json()["code"] == "FAIL", case
        assert state(app, store, order) == before, case

    assert apex.post(CALLBACK, data=good_body, headers=good_headers).status_code == 204
    assert state(app, store, order)["order"] == "delivered"


def test_a_platform_certificate_works_like_the_public_key(app, make_store, apex, fake_wechat):
    store = make_store()
    merchant_key = fake_wechat.merchant_key
    with FakeWechatPay(merchant_key.public_key(), certificate=True) as gateway:
        gateway.merchant_key = merchant_key
        try:
            with app.app_context():
                configure("wechat", credentials(gateway), enabled=True)
            order = unpaid_order(app, store)
            payment = pay_with(app, store, order.order_no, "wechat")
            assert payment.checkout_payload == gateway.orders[payment.payment_no]["code_url"]
            body, headers = gateway.notification(payment.payment_no)
            assert apex.post(CALLBACK, data=body, headers=headers).status_code == 204
            assert state(app, store, order)["order"] == "delivered"
        finally:
            with app.app_context():
                configure("wechat", {}, enabled=False)


def test_answers_that_are_not_signed_by_wechat_pay_open_no_payment(app, make_store, wechat):
    store = make_store()
    order = unpaid_order(app, store)
    wechat.answer_key = new_rsa_key()  # someone in the middle answers
    with pytest.raises(ProviderError, match="not authentic"):
        pay_with(app, store, order.order_no, "wechat")
    wechat.answer_key = wechat.platform_key
    with app.app_context():
        configure("wechat", {"merchant_private_key": private_pem(new_rsa_key())})
    with pytest.raises(ProviderError, match="SIGN_ERROR"):  # WeChat Pay refuses our signature
        pay_with(app, store, order.order_no, "wechat")
    assert state(app, store, order)["payments"] == []


def test_a_refund_is_paid_out_once_however_often_it_runs(app, make_store, apex, wechat):
    store = make_store()
    order, payment = paid(app, store, apex, wechat)
    refund_no = refund_whole_order(app, store, order.order_no)

    done = execute(app, refund_no)
    assert (done.status, done.payment_status) == ("succeeded", "refunded")
    assert list(wechat.refunds) == [refund_no]
    sent = wechat.refunds[refund_no]
    assert sent["amount"]["refund"] == payment.amount_cents
    assert done.provider_refund_id == sent["refund_id"]
    assert execute(app, refund_no).status == "succeeded"
    assert len(wechat.refunds) == 1

    # Asked again with the same out_refund_no (an answer lost on the way), the gateway answers
    # with the same refund; a new refund of money already returned is refused.
    with app.app_context():
        gateway = load_provider("wechat")
    request = RefundRequest(
        refund_no=refund_no,
        payment_no=payment.payment_no,
        provider_txn_id=wechat.orders[payment.payment_no]["transaction_id"],
        amount_cents=payment.amount_cents,
        payment_amount_cents=payment.amount_cents,
        currency="CNY",
    )
    assert gateway.refund(request).provider_refund_id == sent["refund_id"]
    with pytest.raises(ProviderError, match="INVALID_REQUEST"):
        gateway.refund(RefundRequest(**dict(request.__dict__, refund_no=refund_no + "X")))
    assert len(wechat.refunds) == 1
    assert state(app, store, order)["order"] == "refunded"
    with app.app_context():
        assert verify() == []


def test_a_refund_the_gateway_refuses_stays_failed_with_its_reason(app, make_store, apex, wechat):
    store = make_store()
    order, _ = paid(app, store, apex, wechat)
    refund_no = refund_whole_order(app, store, order.order_no)
    wechat.refusal = (503, "SYSTEM_ERROR", "系统繁忙，请稍后重试")

    failed = execute(app, refund_no)
    assert failed.status == "failed" and failed.payment_status == "succeeded"
    assert "SYSTEM_ERROR" in failed.error and "系统繁忙" in failed.error
    assert wechat.refunds == {}

    wechat.refusal = None  # the retry, same out_refund_no, goes through once
    assert execute(app, refund_no).status == "succeeded"
    assert list(wechat.refunds) == [refund_no]
    with app.app_context():
        assert verify() == []


def test_the_acknowledgement_is_what_wechat_pay_expects():
    provider = WechatPayProvider({})
    assert (provider.acknowledge(True).status, provider.acknowledge(True).body) == (204, "")
    refusal = provider.acknowledge(False)
    assert refusal.status == 400 and refusal.content_type == "application/json"
    assert json.loads(refusal.body) == {"code": "FAIL", "message": "失败"}
