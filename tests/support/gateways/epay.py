"""A fake 易支付 (彩虹易支付 V1) gateway: checks our MD5-signed submit.php requests, answers
api.php `order` and `refund` like the real one (whose refund has no idempotency key), and
builds the signed GET notifications it would send us."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from tests.support.gateways.local_server import LocalGateway

PID = "1001"
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"  # the merchant key of the protocol notes' examples
MONEY_RE = re.compile(r"[0-9.]+")
OUT_TRADE_NO_RE = re.compile(r"[a-zA-Z0-9._\-|]+")


def md5_sign(params: dict[str, str], key: str = KEY) -> str:
    """The gateway's makeSign: drop sign/sign_type and blanks, ksort, `k=v&…` + key, md5."""
    items = sorted(
        (k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v.strip() != ""
    )
    return hashlib.md5(("&".join(f"{k}={v}" for k, v in items) + key).encode()).hexdigest()


def php_float(money: str) -> str:
    """How PHP prints (float)"10.50": "10.5"; "1.00" becomes "1"."""
    return f"{Decimal(money).normalize():f}"


def cents(money: str) -> int:
    return int((Decimal(money) * 100).quantize(Decimal(1)))


class FakeEpay(LocalGateway):
    """/submit.php (GET or POST), /api.php?act=order (GET), /api.php?act=refund (POST)."""

    def __init__(self):
        super().__init__()
        self.orders: dict[str, dict] = {}  # out_trade_no -> order
        self.money_moves: list[dict] = []  # every refund that paid money back
        self.refusal: tuple[int, str] | None = None  # (code, msg) for refunds
        self.lose_next_refund_answer = False  # refund, then answer HTTP 502 (answer lost)

    def credentials(self) -> dict[str, str]:
        return {"gateway_url": f"{self.url}/", "pid": PID, "key": KEY, "pay_type": "alipay"}

    def _json(self, payload: dict):
        body = json.dumps(payload, ensure_ascii=False).encode()
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, body

    def handle(self, method, path, query, headers, body):
        get = dict(parse_qsl(query, keep_blank_values=True))
        post = dict(parse_qsl(body.decode(), keep_blank_values=True)) if method == "POST" else {}
        if path == "/submit.php":
            return self._submit(get if "pid" in get else post)
        if path == "/api.php" and get.get("act") == "order":
            return self._query(get)
        if path == "/api.php" and get.get("act") == "refund":
            return self._refund(post)
        if path == "/api.php":
            return self._json({"code": -5, "msg": "No Act!"})
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _submit(self, params: dict[str, str]):
        html = {"Content-Type": "text/html; charset=UTF-8"}

        def refuse(message: str):
            return 400, html, message.encode()

        if params.get("pid") != PID:
            return refuse("商户不存在！")
        if params.get("sign_type", "MD5") != "MD5" or params.get("sign") != md5_sign(params):
            return refuse("签名校验失败！")
        for name in ("out_trade_no", "notify_url", "return_url", "name", "money"):
            if not params.get(name):
                return refuse(f"{name}不能为空")
        money = params["money"]
        if not MONEY_RE.fullmatch(money) or Decimal(money) <= 0:
            return refuse("金额不合法")
        if not OUT_TRADE_NO_RE.fullmatch(params["out_trade_no"]):
            return refuse("订单号(out_trade_no)格式不正确")
        known = self.orders.get(params["out_trade_no"])
        if known:
            if known["status"] > 0:
                return refuse(f"该订单({params['out_trade_no']})已完成支付，请勿重复发起支付")
            if cents(known["money"]) != cents(money) or known["name"] != params["name"]:
                return refuse(
                    f"该订单({params['out_trade_no']})支付参数有变化，请更换订单号重新发起支付"
                )
        else:
            self.orders[params["out_trade_no"]] = {
                "trade_no": datetime.now().strftime("%Y%m%d%H%M%S")
                + f"{secrets.randbelow(90000) + 10000}",
                "out_trade_no": params["out_trade_no"],
                "type": params.get("type", ""),
                "name": params["name"],
                "money": money,
                "notify_url": params["notify_url"],
                "return_url": params["return_url"],
                "status": 0,
                "refund_cents": 0,
            }
        return 200, html, f"<title>收银台</title>¥{money}".encode()

    def _merchant_error(self, params: dict[str, str]) -> dict | None:
        if params.get("pid") != PID:
            return {"code": -3, "msg": "商户ID不存在"}
        if params.get("key") != KEY:
            return {"code": -3, "msg": "商户密钥错误"}
        return None

    def _find(self, params: dict[str, str]) -> dict | None:
        if params.get("trade_no"):
            return next(
                (o for o in self.orders.values() if o["trade_no"] == params["trade_no"]), None
            )
        return self.orders.get(params.get("out_trade_no", ""))

    def _query(self, params: dict[str, str]):
        error = self._merchant_error(params)
        if error:
            return self._json(error)
        order = self._find(params)
        if order is None:
            return self._json({"code": -1, "msg": "订单号不存在"})
        fields = ("trade_no", "out_trade_no", "type", "name", "money")
        return self._json(
            {
                "code": 1,
                "msg": "succ",
                "pid": PID,
                **{k: order[k] for k in fields},
                "status": str(order["status"]),
            }
        )

    def _refund(self, params: dict[str, str]):
        error = self._merchant_error(params)
        if error:
            return self._json(error)
        if self.refusal:
            code, message = self.refusal
            return self._json({"code": code, "msg": message})
        money = params.get("money", "").strip()
        if not MONEY_RE.fullmatch(money):
            return self._json({"code": -1, "msg": "金额输入错误"})
        order = self._find(params)
        if order is None:
            return self._json({"code": -1, "msg": "当前订单不存在！"})
        total = cents(order["money"])
        if order["status"] not in (1, 2, 3):
            return self._json({"code": -1, "msg": "该订单状态不支持退款！"})
        if cents(money) > total:
            return self._json({"code": -1, "msg": "退款金额不能大于订单金额"})
        if order["refund_cents"] >= total:
            return self._json({"code": -1, "msg": "该订单已全额退款！"})
        if cents(money) > total - order["refund_cents"]:
            return self._json({"code": -1, "msg": "退款金额不能超过该订单剩余可退款金额！"})
        # Like the real api.php: no refund number of ours is looked at, a repeat pays again.
        order["refund_cents"] += cents(money)
        order["status"] = 2
        refund_no = datetime.now().strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(90000) + 10000}"
        self.money_moves.append(
            {"trade_no": order["trade_no"], "money": money, "refund_no": refund_no}
        )
        if self.lose_next_refund_answer:
            self.lose_next_refund_answer = False
            return 502, {"Content-Type": "text/html"}, b"502 Bad Gateway"
        return self._json(
            {
                "code": 0,
                "msg": f"退款成功！退款金额￥{money}",
                "refund_no": refund_no,
                "out_refund_no": refund_no,
                "trade_no": order["trade_no"],
                "out_trade_no": order["out_trade_no"],
                "money": money,
                "reducemoney": money,
            }
        )

    def notification(self, out_trade_no: str, /, *, key: str = KEY, **changes) -> dict[str, str]:
        """The query string the gateway GETs the order's notify_url with. `changes` are made
        before signing (a genuine notification saying something else); `key` signs with another."""
        with self.lock:
            order = self.orders[out_trade_no]
            order["status"] = max(order["status"], 1)
            params = {
                "pid": PID,
                "trade_no": order["trade_no"],
                "out_trade_no": out_trade_no,
                "type": order["type"],
                "name": order["name"],
                "money": php_float(order["money"]),
                "trade_status": "TRADE_SUCCESS",
            }
        params.update(changes)
        params["sign"] = md5_sign(params, key)
        params["sign_type"] = "MD5"
        return params


@pytest.fixture
def fake_epay():
    with FakeEpay() as gateway:
        yield gateway
