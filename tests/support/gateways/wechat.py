"""A fake WeChat Pay APIv3 gateway: checks our signed requests, answers signed like WeChat Pay,
and builds the signed, AES-256-GCM encrypted notifications WeChat Pay would send us."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from tests.support.gateways.local_server import LocalGateway

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL_NO = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
API_V3_KEY = "0123456789abcdef0123456789ABCDEF"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092024010100000000000000"
AUTH_RE = re.compile(r'(\w+)="([^"]*)"')


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


class FakeWechatPay(LocalGateway):
    """POST /v3/pay/transactions/native and /v3/refund/domestic/refunds, as WeChat Pay answers.

    `platform_key_pem()` is what the platform owner would paste: the WeChat Pay public key, or
    (certificate=True) a platform certificate whose serial signs every answer."""

    def __init__(self, merchant_public_key, *, certificate: bool = False):
        super().__init__()
        self.merchant_public_key = merchant_public_key
        self.platform_key = new_rsa_key()
        self.certificate = certificate
        self.serial = format(secrets.randbits(156), "040X") if certificate else PUBLIC_KEY_ID
        self.orders: dict[str, dict] = {}  # out_trade_no -> order
        self.refunds: dict[str, dict] = {}  # out_refund_no -> refund
        self.requests: list[dict] = []  # verified requests, parsed
        self.refusal: tuple[int, str, str] | None = None  # (status, code, message) for refunds
        self.answer_key = self.platform_key  # another key: answers no longer verify

    # -- keys and signatures -----------------------------------------------------------------

    def platform_key_pem(self) -> str:
        if not self.certificate:
            return public_pem(self.platform_key)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.platform_key.public_key())
            .serial_number(int(self.serial, 16))
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * 5))
            .sign(self.platform_key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def signature_headers(
        self, body: bytes, *, key=None, timestamp: int | None = None
    ) -> dict[str, str]:
        """Wechatpay-* headers over `timestamp\\nnonce\\nbody\\n` (answers, notifications)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16).upper()
        message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(key or self.platform_key, message),
            "Wechatpay-Serial": self.serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _check_authorization(self, method: str, path: str, query: str, headers, body: bytes):
        """The merchant's Authorization header, checked as WeChat Pay does; None when good."""
        scheme, _, items = (headers.get("Authorization") or "").partition(" ")
        fields = dict(AUTH_RE.findall(items))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != MCHID:
            return "bad scheme or mchid"
        if fields.get("serial_no") != MERCHANT_SERIAL_NO:
            return "unknown merchant serial_no"
        if abs(time.time() - int(fields.get("timestamp") or 0)) > 300:
            return "stale timestamp"
        target = path + (f"?{query}" if query else "")
        message = (
            f"{method}\n{target}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n".encode()
            + body
            + b"\n"
        )
        try:
            self.merchant_public_key.verify(
                base64.b64decode(fields.get("signature", "")),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "signature does not verify"
        return None

    def _answer(self, status: int, payload: dict | None) -> tuple[int, dict[str, str], bytes]:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Request-ID": secrets.token_hex(8)}
        headers.update(self.signature_headers(body, key=self.answer_key))
        return status, headers, body

    def _error(self, status: int, code: str, message: str):
        return self._answer(status, {"code": code, "message": message})

    # -- the API -------------------------------------------------------------------------------

    def handle(self, method, path, query, headers, body):
        problem = self._check_authorization(method, path, query, headers, body)
        if problem:
            return self._error(401, "SIGN_ERROR", problem)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self._error(400, "PARAM_ERROR", "body is not JSON")
        self.requests.append({"method": method, "path": path, "body": data})
        if (method, path) == ("POST", "/v3/pay/transactions/native"):
            return self._native(data)
        if (method, path) == ("POST", "/v3/refund/domestic/refunds"):
            return self._refund(data)
        return self._error(404, "NOT_FOUND", "no such API")

    def _native(self, data: dict):
        amount = data.get("amount") or {}
        if (data.get("appid"), data.get("mchid")) != (APPID, MCHID):
            return self._error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        required = ("description", "out_trade_no", "notify_url")
        if not all(data.get(k) for k in required) or len(data["description"].encode()) > 127:
            return self._error(400, "PARAM_ERROR", "参数错误")
        if not isinstance(amount.get("total"), int) or amount.get("currency", "CNY") != "CNY":
            return self._error(400, "PARAM_ERROR", "amount 错误")
        order = self.orders.setdefault(
            data["out_trade_no"],
            {"request": data, "state": "NOTPAY", "transaction_id": None, "refunded": 0},
        )
        order["code_url"] = f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"
        return self._answer(200, {"code_url": order["code_url"]})

    def _refund(self, data: dict):
        if self.refusal:
            return self._error(*self.refusal)
        order = self.orders.get(data.get("out_trade_no", ""))
        if order is None:
            order = next(
                (
                    o
                    for o in self.orders.values()
                    if o["transaction_id"] == data.get("transaction_id")
                ),
                None,
            )
        if order is None or order["state"] != "SUCCESS" or not data.get("out_refund_no"):
            return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        amount = data.get("amount") or {}
        earlier = self.refunds.get(data["out_refund_no"])
        if earlier is not None:  # out_refund_no is the idempotency key
            if earlier["amount"]["refund"] != amount.get("refund"):
                return self._error(400, "INVALID_REQUEST", "同一退款单号金额不一致")
            return self._answer(200, earlier)
        total = order["request"]["amount"]["total"]
        if amount.get("total") != total:
            return self._error(400, "PARAM_ERROR", "订单金额不一致")
        if not 0 < amount.get("refund", 0) <= total - order["refunded"]:
            return self._error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        order["refunded"] += amount["refund"]
        refund = {
            "refund_id": f"50000{secrets.randbelow(10**24):024d}",
            "out_refund_no": data["out_refund_no"],
            "transaction_id": order["transaction_id"],
            "out_trade_no": order["request"]["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": datetime.now(UTC).isoformat(timespec="seconds"),
            "status": "SUCCESS",
            "funds_account": "AVAILABLE",
            "amount": {
                "total": total,
                "refund": amount["refund"],
                "payer_total": total,
                "payer_refund": amount["refund"],
                "currency": "CNY",
            },
        }
        self.refunds[data["out_refund_no"]] = refund
        return self._answer(200, refund)

    # -- notifications ---------------------------------------------------------------------------

    def notification(
        self,
        out_trade_no: str,
        *,
        total: int | None = None,
        mchid: str = MCHID,
        appid: str = APPID,
        trade_state: str = "SUCCESS",
        timestamp: int | None = None,
        signing_key=None,
        tamper_ciphertext: bool = False,
        api_v3_key: str = API_V3_KEY,
    ) -> tuple[bytes, dict[str, str]]:
        """The buyer paid: the (body, headers) WeChat Pay POSTs to the order's notify_url.
        Keyword arguments make it wrong in one way."""
        with self.lock:
            order = self.orders[out_trade_no]
            if trade_state == "SUCCESS":
                order["state"] = "SUCCESS"
                order["transaction_id"] = order["transaction_id"] or (
                    f"4200{secrets.randbelow(10**24):024d}"
                )
            transaction = {
                "appid": appid,
                "mchid": mchid,
                "out_trade_no": out_trade_no,
                "transaction_id": order["transaction_id"] or "",
                "trade_type": "NATIVE",
                "trade_state": trade_state,
                "trade_state_desc": "支付成功",
                "bank_type": "OTHERS",
                "attach": "",
                "success_time": datetime.now(UTC).isoformat(timespec="seconds"),
                "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                "amount": {
                    "total": order["request"]["amount"]["total"] if total is None else total,
                    "payer_total": order["request"]["amount"]["total"],
                    "currency": "CNY",
                    "payer_currency": "CNY",
                },
            }
        nonce = secrets.token_urlsafe(9)[:12]
        ciphertext = AESGCM(api_v3_key.encode()).encrypt(
            nonce.encode(), json.dumps(transaction, ensure_ascii=False).encode(), b"transaction"
        )
        if tamper_ciphertext:
            ciphertext = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
        envelope = {
            "id": f"EV-{secrets.token_hex(10)}",
            "create_time": datetime.now(UTC).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = self.signature_headers(body, key=signing_key, timestamp=timestamp)
        headers["Content-Type"] = "application/json"
        return body, headers


@pytest.fixture
def fake_wechat():
    """A running fake WeChat Pay with its own platform key; `fake_wechat.merchant_key` is the
    merchant API private key our provider signs with."""
    merchant_key = new_rsa_key()
    with FakeWechatPay(merchant_key.public_key()) as gateway:
        gateway.merchant_key = merchant_key
        yield gateway
