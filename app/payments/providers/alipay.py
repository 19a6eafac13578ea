"""`alipay`: 支付宝 电脑网站支付 (alipay.trade.page.pay) and 手机网站支付 (alipay.trade.wap.pay),
refunds with alipay.trade.refund, over the open platform's RSA2 wire format.

Requests are signed with the app private key: every parameter except `sign`, empty values
dropped, sorted by key, joined `k=v&…` with raw values, SHA256withRSA, base64. Notifications
are verified the same way without `sign_type` (rsaCheckV1), and API answers over the exact raw
JSON text of their `<method>_response` node, both with the Alipay public key (not the app's).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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
)
from app.payments.providers.yuan import cents_from_yuan, yuan_text

GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
SIGN_TYPE = "RSA2"
CHARSET = "utf-8"
BEIJING = timezone(timedelta(hours=8))  # Alipay reads `timestamp` as Beijing time
TIMEOUT_SECONDS = (5, 20)  # connect, read
PAID = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
CLOSED = "TRADE_CLOSED"
WAITING = "WAIT_BUYER_PAY"
SUCCESS_CODE = "10000"
PRODUCT_CODES = {
    "alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
    "alipay.trade.wap.pay": "QUICK_WAP_WAY",
}


REQUEST_UNSIGNED = frozenset({"sign"})  # a request's sign_type is signed…
NOTIFY_UNSIGNED = frozenset({"sign", "sign_type"})  # …a notification's is not (rsaCheckV1)


def signed_content(params: Mapping[str, str], *, exclude: frozenset[str]) -> str:
    """What a signature covers: non-empty params outside `exclude`, sorted, raw `k=v&…`."""
    return "&".join(
        f"{key}={params[key]}" for key in sorted(params) if key not in exclude and params[key]
    )


def _key_bytes(text: str, kind: str) -> tuple[bytes, bool]:
    """PEM as pasted, or the bare base64 body the Alipay console shows (then DER)."""
    text = (text or "").strip()
    if text.startswith("-----BEGIN"):
        return text.encode(), True
    try:
        return base64.b64decode("".join(text.split()), validate=True), False
    except (binascii.Error, ValueError):
        raise ValueError(f"{kind} is neither PEM nor base64") from None


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8) or bare base64. Raises ValueError."""
    data, is_pem = _key_bytes(text, "app_private_key")
    load = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    try:
        key = load(data, password=None)
    except (ValueError, TypeError):
        raise ValueError("app_private_key is not a readable private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("app_private_key is not an RSA key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM or bare base64 (SubjectPublicKeyInfo). Raises ValueError."""
    data, is_pem = _key_bytes(text, "alipay_public_key")
    load = serialization.load_pem_public_key if is_pem else serialization.load_der_public_key
    try:
        key = load(data)
    except (ValueError, TypeError):
        raise ValueError("alipay_public_key is not a readable public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("alipay_public_key is not an RSA key")
    return key


def rsa2_sign(key: rsa.RSAPrivateKey, content: str) -> str:
    signature = key.sign(content.encode(CHARSET), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa2_verify(key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            content.encode(CHARSET),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def response_node_text(raw: str, node: str) -> str | None:
    """The exact text of the top-level member `node` of a JSON object (what Alipay signed),
    found by walking the object with the JSON decoder so braces inside strings cannot fool it."""
    decoder = json.JSONDecoder()
    index = raw.find("{")
    if index < 0:
        return None
    index += 1
    length = len(raw)

    def skip(i: int) -> int:
        while i < length and raw[i] in " \t\r\n":
            i += 1
        return i

    try:
        while True:
            index = skip(index)
            if index >= length or raw[index] == "}":
                return None
            key, index = decoder.raw_decode(raw, index)
            index = skip(index)
            if raw[index] != ":":
                return None
            start = skip(index + 1)
            _, end = decoder.raw_decode(raw, start)
            if key == node:
                return raw[start:end]
            index = skip(end)
            if index < length and raw[index] == ",":
                index += 1
    except (ValueError, IndexError):
        return None


class AlipayProvider(Provider):
    name = "alipay"
    label = N_("Alipay")
    credential_fields = (
        CredentialField("app_id", N_("App ID")),
        CredentialField(
            "app_private_key", N_("App private key (PEM)"), secret=True, multiline=True
        ),
        CredentialField("alipay_public_key", N_("Alipay public key (PEM)"), multiline=True),
        CredentialField(
            "seller_id", N_("Merchant PID (2088…), checked on notifications"), required=False
        ),
        CredentialField("gateway_url", N_("Gateway URL"), default=GATEWAY_URL),
    )
    currencies = frozenset({"CNY"})

    # -- requests ---------------------------------------------------------------------------

    def _gateway(self) -> str:
        return (self.credentials.get("gateway_url") or GATEWAY_URL).strip()

    def _app_key(self) -> rsa.RSAPrivateKey:
        try:
            return load_private_key(self.credentials.get("app_private_key", ""))
        except ValueError as error:
            raise ProviderError(str(error)) from None

    def _alipay_key(self) -> rsa.RSAPublicKey:
        """Raises ValueError when the configured key cannot be read."""
        return load_public_key(self.credentials.get("alipay_public_key", ""))

    def signed_params(self, method: str, biz_content: dict, **extra: str) -> dict[str, str]:
        """The common parameters for `method`, with biz_content and the RSA2 `sign`."""
        params = {
            "app_id": self.credentials.get("app_id", ""),
            "method": method,
            "format": "JSON",
            "charset": CHARSET,
            "sign_type": SIGN_TYPE,
            "timestamp": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            # The exact string that is signed is the one that is sent.
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
            **{k: v for k, v in extra.items() if v},
        }
        params["sign"] = rsa2_sign(
            self._app_key(), signed_content(params, exclude=REQUEST_UNSIGNED)
        )
        return params

    def create(self, request: PaymentRequest) -> Checkout:
        if request.currency not in self.currencies:
            raise ProviderError(f"alipay does not take {request.currency}")
        method = "alipay.trade.wap.pay" if request.mobile else "alipay.trade.page.pay"
        biz = {
            "out_trade_no": request.payment_no,
            "total_amount": yuan_text(request.amount_cents),
            # Alipay asks for titles without / = & in them.
            "subject": request.description.translate(str.maketrans("/=&", "   ")).strip()[:256],
            "product_code": PRODUCT_CODES[method],
        }
        if request.mobile:
            biz["quit_url"] = request.return_url
        params = self.signed_params(
            method, biz, notify_url=request.notify_url, return_url=request.return_url
        )
        gateway = self._gateway()
        separator = "&" if "?" in gateway else "?"
        return Checkout("redirect", gateway + separator + urlencode(params))

    # -- notifications ----------------------------------------------------------------------

    def verify_callback(self, notification: Notification) -> CallbackEvent | None:
        params = {str(k): str(v) for k, v in notification.params.items()}
        signature = params.get("sign", "")
        if not signature:
            raise InvalidCallback("not signed")
        if params.get("sign_type", SIGN_TYPE) != SIGN_TYPE:
            raise InvalidCallback("unsupported sign_type")
        try:
            key = self._alipay_key()
        except ValueError as error:
            raise InvalidCallback(str(error)) from None
        if not rsa2_verify(key, signed_content(params, exclude=NOTIFY_UNSIGNED), signature):
            raise InvalidCallback("bad signature")
        if params.get("app_id") != self.credentials.get("app_id"):
            raise InvalidCallback("notification for another app_id")
        seller_id = self.credentials.get("seller_id", "")
        if seller_id and params.get("seller_id") != seller_id:
            raise InvalidCallback("notification for another seller")
        payment_no, trade_no = params.get("out_trade_no", ""), params.get("trade_no", "")
        if not (payment_no and trade_no):
            raise InvalidCallback("out_trade_no or trade_no missing")
        try:
            amount_cents = cents_from_yuan(params.get("total_amount", ""))
        except ValueError:
            raise InvalidCallback("malformed total_amount") from None
        status = params.get("trade_status", "")
        if status == WAITING:
            return None  # genuine, nothing to act on yet
        if status not in PAID and status != CLOSED:
            raise InvalidCallback(f"unknown trade_status {status!r}")
        return CallbackEvent(
            payment_no=payment_no,
            provider_txn_id=trade_no,
            amount_cents=amount_cents,
            currency="CNY",
            succeeded=status in PAID,
        )

    # -- refunds ----------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        if request.currency not in self.currencies:
            raise ProviderError(f"alipay does not take {request.currency}")
        biz = {
            "out_trade_no": request.payment_no,
            "refund_amount": yuan_text(request.amount_cents),
            "out_request_no": request.refund_no,  # Alipay's idempotency key for this refund
        }
        if request.provider_txn_id:
            biz["trade_no"] = request.provider_txn_id
        if request.reason:
            biz["refund_reason"] = request.reason[:256]
        answer = self._call("alipay.trade.refund", biz)
        trade_no = answer.get("trade_no") or request.provider_txn_id
        if answer.get("out_trade_no", request.payment_no) != request.payment_no:
            raise ProviderError("alipay answered about another trade")
        return RefundResult(provider_refund_id=f"{trade_no}:{request.refund_no}")

    def _call(self, method: str, biz_content: dict) -> dict:
        """POST a signed API call; the verified `<method>_response` node when code is 10000.
        Raises ProviderError (transport, refusal, or an answer not signed by Alipay)."""
        params = self.signed_params(method, biz_content)
        try:
            answer = requests.post(
                self._gateway(),
                data=params,
                headers={"Content-Type": f"application/x-www-form-urlencoded;charset={CHARSET}"},
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as error:
            raise ProviderError(f"alipay unreachable: {error}") from None
        if answer.status_code != 200:
            raise ProviderError(f"alipay answered HTTP {answer.status_code}")
        raw = answer.content.decode(CHARSET, errors="replace")
        node_name = method.replace(".", "_") + "_response"
        try:
            document = json.loads(raw)
            if node_name not in document:
                node_name = "error_response"
            node = document.get(node_name)
        except (ValueError, TypeError, AttributeError):
            raise ProviderError("alipay answered something that is not JSON") from None
        if not isinstance(node, dict):
            raise ProviderError("alipay answered without a response node")
        signature = document.get("sign") or ""
        if signature:
            text = response_node_text(raw, node_name)
            try:
                key = self._alipay_key()
            except ValueError as error:
                raise ProviderError(str(error)) from None
            if text is None or not rsa2_verify(key, text, signature):
                raise ProviderError("alipay's answer has a bad signature")
        code = str(node.get("code", ""))
        if code != SUCCESS_CODE:
            # Refusals (e.g. a bad request signature) may come unsigned; no money moved then.
            reason = node.get("sub_msg") or node.get("msg") or "refused"
            raise ProviderError(f"alipay: {reason} ({node.get('sub_code') or code})")
        if not signature:
            raise ProviderError("alipay's answer is not signed")
        return node
