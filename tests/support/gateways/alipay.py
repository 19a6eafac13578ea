"""A fake Alipay open-platform gateway: checks our RSA2-signed page/wap pay and refund requests
with our app public key, answers signed with its own key like Alipay, and builds the signed
asynchronous notifications Alipay would POST to us."""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.support.gateways.local_server import LocalGateway
from tests.support.gateways.wechat import new_rsa_key, private_pem, public_pem, sign

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"
BEIJING = timezone(timedelta(hours=8))
AMOUNT_RE = re.compile(r"[0-9]+\.[0-9]{2}")
PRODUCT_CODES = {
    "alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
    "alipay.trade.wap.pay": "QUICK_WAP_WAY",
}


def signed_string(params: dict[str, str], *, exclude: tuple[str, ...]) -> bytes:
    """Alipay's content to sign: non-empty params outside `exclude`, sorted, raw `k=v&…`."""
    items = sorted((k, v) for k, v in params.items() if k not in exclude and v != "")
    return "&".join(f"{k}={v}" for k, v in items).encode()


def cents(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def yuan(amount_cents: int) -> str:
    return f"{amount_cents // 100}.{amount_cents % 100:02d}"


class FakeAlipay(LocalGateway):
    """GET/POST /gateway.do: alipay.trade.page.pay, alipay.trade.wap.pay, alipay.trade.refund.

    `credentials()` is what the platform owner would configure for this gateway."""

    def __init__(self, app_key):
        super().__init__()
        self.app_key = app_key  # ours: the gateway itself only ever uses its public half
        self.app_public_key = app_key.public_key()
        self.alipay_key = new_rsa_key()
        self.answer_key = self.alipay_key  # another key: answers no longer verify
        self.orders: dict[str, dict] = {}  # out_trade_no -> order
        self.refunds: dict[tuple[str, str], dict] = {}  # (trade_no, out_request_no) -> answer
        self.money_moves: list[dict] = []  # every refund that actually paid money back
        self.requests: list[dict] = []  # verified requests, parsed
        self.refusal: tuple[str, str] | None = None  # (sub_code, sub_msg) for refunds
        self.lose_next_refund_answer = False  # refund, then answer HTTP 500 (answer lost)

    def credentials(self) -> dict[str, str]:
        return {
            "app_id": APP_ID,
            "app_private_key": private_pem(self.app_key),
            "alipay_public_key": public_pem(self.alipay_key),
            "seller_id": SELLER_ID,
            "gateway_url": f"{self.url}/gateway.do",
        }

    # -- checking requests ---------------------------------------------------------------------

    def _problem(self, params: dict[str, str]) -> str | None:
        """What Alipay would refuse in the common parameters and signature; None when good."""
        if params.get("app_id") != APP_ID:
            return "isv.invalid-app-id"
        if (params.get("charset"), params.get("sign_type"), params.get("version")) != (
            "utf-8",
            "RSA2",
            "1.0",
        ):
            return "isv.invalid-parameter"
        try:
            sent_at = datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return "isv.invalid-timestamp"
        now = datetime.now(BEIJING).replace(tzinfo=None)
        if abs((now - sent_at).total_seconds()) > 600:  # Beijing time, as Alipay reads it
            return "isv.invalid-timestamp"
        try:
            self.app_public_key.verify(
                base64.b64decode(params.get("sign", ""), validate=True),
                signed_string(params, exclude=("sign",)),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "isv.invalid-signature"
        try:
            biz = json.loads(params.get("biz_content", ""))
        except ValueError:
            return "isv.invalid-biz-content"
        if not isinstance(biz, dict):
            return "isv.invalid-biz-content"
        return None

    # -- answering -----------------------------------------------------------------------------

    def _signed(self, method: str, node: dict) -> tuple[int, dict[str, str], bytes]:
        """An API answer: the response node's exact text is what the signature covers."""
        node_text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = sign(self.answer_key, node_text.encode())
        name = method.replace(".", "_") + "_response"
        body = f'{{"{name}":{node_text},"sign":"{signature}"}}'.encode()
        return 200, {"Content-Type": "text/html;charset=utf-8"}, body

    def _unsigned_error(self, method: str, sub_code: str) -> tuple[int, dict[str, str], bytes]:
        node = {"code": "40002", "msg": "Invalid Arguments", "sub_code": sub_code, "sub_msg": ""}
        name = (method or "error").replace(".", "_") + "_response"
        body = json.dumps({name: node}, ensure_ascii=False).encode()
        return 200, {"Content-Type": "text/html;charset=utf-8"}, body

    def _business_error(self, method: str, sub_code: str, sub_msg: str):
        node = {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}
        return self._signed(method, node)

    def handle(self, method, path, query, headers, body):
        params = dict(parse_qsl(query, keep_blank_values=True))
        if method == "POST":
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if path != "/gateway.do":
            return 404, {"Content-Type": "text/plain"}, b"not found"
        api = params.get("method", "")
        problem = self._problem(params)
        if problem:
            if api in PRODUCT_CODES:
                return 400, {"Content-Type": "text/html;charset=utf-8"}, problem.encode()
            return self._unsigned_error(api, problem)
        biz = json.loads(params["biz_content"])
        self.requests.append({"method": api, "params": params, "biz": biz})
        if api in PRODUCT_CODES:
            return self._cashier(api, params, biz)
        if api == "alipay.trade.refund":
            return self._refund(api, biz)
        return self._unsigned_error(api, "isv.invalid-method")

    def _cashier(self, api: str, params: dict[str, str], biz: dict):
        """page.pay / wap.pay: the buyer's browser arrives; the cashier page is shown."""
        html = {"Content-Type": "text/html;charset=utf-8"}
        if biz.get("product_code") != PRODUCT_CODES[api]:
            return 400, html, b"ACQ.PRODUCT_CODE_ERROR"
        out_trade_no, total = biz.get("out_trade_no", ""), str(biz.get("total_amount", ""))
        if not (out_trade_no and biz.get("subject") and params.get("notify_url")):
            return 400, html, b"ACQ.INVALID_PARAMETER"
        if not AMOUNT_RE.fullmatch(total) or cents(total) <= 0:
            return 400, html, b"ACQ.TOTAL_AMOUNT_ERROR"
        known = self.orders.get(out_trade_no)
        if known and known["total_amount"] != total:
            return 400, html, "ACQ.CONTEXT_INCONSISTENT 交易信息被篡改".encode()
        if known is None:
            self.orders[out_trade_no] = {
                "method": api,
                "out_trade_no": out_trade_no,
                "total_amount": total,
                "subject": biz["subject"],
                "notify_url": params["notify_url"],
                "return_url": params.get("return_url", ""),
                "trade_no": datetime.now(BEIJING).strftime("%Y%m%d")
                + f"22001{secrets.randbelow(10**15):015d}",
                "status": "WAIT_BUYER_PAY",
                "refunded_cents": 0,
            }
        return 200, html, f"<title>支付宝收银台</title>¥{total}".encode()

    def _refund(self, api: str, biz: dict):
        order = self.orders.get(biz.get("out_trade_no", ""))
        if order is None or (biz.get("trade_no") and biz["trade_no"] != order["trade_no"]):
            order = next(
                (o for o in self.orders.values() if o["trade_no"] == biz.get("trade_no")), None
            )
        if order is None:
            return self._business_error(api, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        if self.refusal:
            return self._business_error(api, *self.refusal)
        amount = str(biz.get("refund_amount", ""))
        if not AMOUNT_RE.fullmatch(amount) or cents(amount) <= 0:
            return self._business_error(api, "ACQ.INVALID_PARAMETER", "退款金额不合法")
        key = (order["trade_no"], str(biz.get("out_request_no") or order["trade_no"]))
        earlier = self.refunds.get(key)
        if earlier is not None:  # out_request_no makes a repeat harmless
            if earlier["request_amount"] != amount:
                return self._business_error(api, "ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
            return self._signed(api, dict(earlier["answer"], fund_change="N"))
        if order["status"] not in ("TRADE_SUCCESS", "TRADE_CLOSED") or (
            order["status"] == "TRADE_CLOSED" and order["refunded_cents"] == 0
        ):
            return self._business_error(api, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        total = cents(order["total_amount"])
        if order["refunded_cents"] + cents(amount) > total:
            return self._business_error(api, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        order["refunded_cents"] += cents(amount)
        if order["refunded_cents"] == total:
            order["status"] = "TRADE_CLOSED"
        self.money_moves.append({"trade_no": order["trade_no"], "amount": amount, "key": key})
        answer = {
            "code": "10000",
            "msg": "Success",
            "trade_no": order["trade_no"],
            "out_trade_no": order["out_trade_no"],
            "buyer_logon_id": "159****5620",
            "fund_change": "Y",
            "refund_fee": yuan(order["refunded_cents"]),
            "gmt_refund_pay": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "buyer_user_id": "2088101117955611",
            "send_back_fee": amount,
        }
        self.refunds[key] = {"request_amount": amount, "answer": answer}
        if self.lose_next_refund_answer:
            self.lose_next_refund_answer = False
            return 500, {"Content-Type": "text/plain"}, b"upstream timed out"
        return self._signed(api, answer)

    # -- notifications ---------------------------------------------------------------------------

    def notification(
        self,
        out_trade_no: str,
        /,
        *,
        trade_status: str = "TRADE_SUCCESS",
        signing_key=None,
        **changes,
    ) -> dict[str, str]:
        """The form Alipay POSTs to the order's notify_url. `changes` are made before signing
        (a genuine notification saying something else); `signing_key` signs with another key."""
        with self.lock:
            order = self.orders[out_trade_no]
            if trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                order["status"] = trade_status
            elif trade_status == "TRADE_CLOSED" and order["status"] == "WAIT_BUYER_PAY":
                order["status"] = "TRADE_CLOSED"
            now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
            total = order["total_amount"]
            params = {
                "notify_time": now,
                "notify_type": "trade_status_sync",
                "notify_id": secrets.token_hex(16),
                "app_id": APP_ID,
                "auth_app_id": APP_ID,
                "charset": "utf-8",
                "version": "1.0",
                "trade_no": order["trade_no"],
                "out_trade_no": out_trade_no,
                "buyer_id": "2088102177846880",
                "buyer_logon_id": "159****5620",
                "seller_id": SELLER_ID,
                "seller_email": "shop@example.com",
                "trade_status": trade_status,
                "total_amount": total,
                "receipt_amount": total,
                "invoice_amount": total,
                "buyer_pay_amount": total,
                "point_amount": "0.00",
                "subject": order["subject"],
                "gmt_create": now,
                "gmt_payment": now,
                "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}]),
            }
        params.update(changes)
        content = signed_string(params, exclude=("sign", "sign_type"))
        params["sign"] = sign(signing_key or self.alipay_key, content)
        params["sign_type"] = "RSA2"
        return params


@pytest.fixture
def fake_alipay():
    """A running fake Alipay with its own key pair and a fresh app key pair for us;
    `configure("alipay", fake_alipay.credentials())` points our provider at it."""
    with FakeAlipay(new_rsa_key()) as gateway:
        yield gateway
