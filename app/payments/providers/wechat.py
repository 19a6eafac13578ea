"""`wechat`: WeChat Pay API v3 Native (扫码支付) — a QR code the buyer scans with WeChat.

Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 …` signed with the merchant's API key;
WeChat Pay's answers and notifications are signed with its platform key (a "WeChat Pay public
key" or a platform certificate: either is accepted) over `timestamp\\nnonce\\nbody\\n`, and a
notification's `resource` is encrypted with AEAD_AES_256_GCM under the APIv3 key.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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

API_BASE = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_SECONDS = 300  # WeChat Pay recommends refusing signatures older than 5 minutes
TIMEOUT_SECONDS = (5, 20)  # connect, read: a notification must be answered within 5 s anyway
REFUND_ACCEPTED = frozenset({"SUCCESS", "PROCESSING"})


class _Unverified(ValueError):
    """A message that is not provably from WeChat Pay."""


def request_message(method: str, path: str, timestamp: str, nonce: str, body: str) -> str:
    """What a request's signature covers: five lines, each ending in \\n (the body's too)."""
    return f"{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n"


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What WeChat Pay's signature on an answer or a notification covers (raw body bytes)."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def decrypt_resource(api_v3_key: str, resource: Mapping) -> bytes:
    """A notification's `resource`, decrypted (AEAD_AES_256_GCM; the tag is the last 16 bytes
    of the ciphertext). Raises InvalidTag when tampered with or under another key."""
    return AESGCM(api_v3_key.encode()).decrypt(
        str(resource["nonce"]).encode(),
        base64.b64decode(str(resource["ciphertext"]), validate=True),
        str(resource.get("associated_data") or "").encode(),
    )


def _same_serial(a: str, b: str) -> bool:
    return a.strip().upper().lstrip("0") == b.strip().upper().lstrip("0")


class WechatPayProvider(Provider):
    name = "wechat"
    label = N_("WeChat Pay")
    credential_fields = (
        CredentialField("mchid", N_("Merchant ID (mchid)")),
        CredentialField("appid", N_("AppID bound to the merchant")),
        CredentialField("merchant_serial_no", N_("Merchant API certificate serial number")),
        CredentialField(
            "merchant_private_key",
            N_("Merchant API private key (apiclient_key.pem)"),
            secret=True,
            multiline=True,
        ),
        CredentialField("api_v3_key", N_("APIv3 key (32 characters)"), secret=True),
        CredentialField(
            "platform_public_key",
            N_("WeChat Pay public key or platform certificate (PEM)"),
            multiline=True,
        ),
        CredentialField(
            "platform_serial_no",
            N_("WeChat Pay public key ID or platform certificate serial number"),
            required=False,
        ),
        CredentialField("api_base", N_("API base URL"), default=API_BASE),
    )
    currencies = frozenset({"CNY"})

    # -- keys -------------------------------------------------------------------------------

    def _merchant_key(self) -> rsa.RSAPrivateKey:
        try:
            key = serialization.load_pem_private_key(
                self.credentials.get("merchant_private_key", "").encode(), password=None
            )
        except (ValueError, TypeError):
            raise ProviderError("merchant_private_key is not a PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ProviderError("merchant_private_key is not an RSA key")
        return key

    def _platform_key(self) -> tuple[rsa.RSAPublicKey, str]:
        """WeChat Pay's key and the serial its signatures must name ("" when unknown)."""
        pem = self.credentials.get("platform_public_key", "").strip().encode()
        serial = self.credentials.get("platform_serial_no", "").strip()
        try:
            if b"BEGIN CERTIFICATE" in pem:
                certificate = x509.load_pem_x509_certificate(pem)
                key = certificate.public_key()
                serial = serial or format(certificate.serial_number, "X")
            else:
                key = serialization.load_pem_public_key(pem)
        except ValueError:
            raise _Unverified(
                "platform_public_key is not a PEM public key or certificate"
            ) from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise _Unverified("platform_public_key is not an RSA key")
        return key, serial

    def _api_v3_key(self) -> str:
        key = self.credentials.get("api_v3_key", "")
        if len(key.encode()) != 32:
            raise InvalidCallback("api_v3_key must be 32 bytes")
        return key

    # -- signing and verifying --------------------------------------------------------------

    def authorization(self, method: str, path: str, body: str) -> str:
        """The Authorization header for one request (path with its query string)."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16).upper()
        message = request_message(method, path, timestamp, nonce, body)
        signature = self._merchant_key().sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        items = {
            "mchid": self.credentials.get("mchid", ""),
            "nonce_str": nonce,
            "signature": base64.b64encode(signature).decode(),
            "timestamp": timestamp,
            "serial_no": self.credentials.get("merchant_serial_no", ""),
        }
        return f"{SIGNATURE_TYPE} " + ",".join(f'{k}="{v}"' for k, v in items.items())

    def _verify(self, header: Callable[[str], str | None], body: bytes) -> None:
        """Check WeChat Pay's signature headers over `body`. Raises _Unverified."""
        if (header("Wechatpay-Signature-Type") or SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise _Unverified("unsupported signature type")
        timestamp = header("Wechatpay-Timestamp") or ""
        nonce = header("Wechatpay-Nonce") or ""
        signature = header("Wechatpay-Signature") or ""
        if not (timestamp and nonce and signature):
            raise _Unverified("not signed")
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise _Unverified("malformed timestamp") from None
        if abs(time.time() - signed_at) > MAX_CLOCK_SKEW_SECONDS:
            raise _Unverified("stale or future timestamp")
        key, serial = self._platform_key()
        if serial and not _same_serial(header("Wechatpay-Serial") or "", serial):
            raise _Unverified("signed with a key we do not know")
        try:
            key.verify(
                base64.b64decode(signature, validate=True),
                signed_message(timestamp, nonce, body),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise _Unverified("bad signature") from None

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        """A signed API request; returns the verified JSON answer. Raises ProviderError."""
        base = (self.credentials.get("api_base") or API_BASE).rstrip("/")
        url = base + path
        parts = urlsplit(url)
        signed_path = parts.path + (f"?{parts.query}" if parts.query else "")
        # Sign exactly the bytes that go on the wire.
        body = (
            ""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        )
        headers = {
            "Authorization": self.authorization(method, signed_path, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "Kameng (wechatpay-v3)",
        }
        serial = self.credentials.get("platform_serial_no", "")
        if serial.startswith("PUB_KEY_ID_"):
            headers["Wechatpay-Serial"] = serial  # answers then come signed with the public key
        try:
            response = requests.request(
                method, url, data=body.encode(), headers=headers, timeout=TIMEOUT_SECONDS
            )
        except requests.RequestException as error:
            raise ProviderError(f"WeChat Pay could not be reached: {error}") from None
        if not 200 <= response.status_code < 300:
            try:
                answer = response.json()
                reason = f"{answer.get('code', '')}: {answer.get('message', '')}"
            except (ValueError, AttributeError):
                reason = response.text[:200]
            raise ProviderError(f"WeChat Pay refused ({response.status_code}) {reason}")
        try:
            self._verify(response.headers.get, response.content)
        except _Unverified as error:
            raise ProviderError(f"WeChat Pay's answer is not authentic: {error}") from None
        try:
            return response.json() if response.content else {}
        except ValueError:
            raise ProviderError("WeChat Pay answered something that is not JSON") from None

    # -- the provider interface -------------------------------------------------------------

    def create(self, request: PaymentRequest) -> Checkout:
        answer = self._call(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": self.credentials.get("appid", ""),
                "mchid": self.credentials.get("mchid", ""),
                # string(127): cut on a character boundary
                "description": request.description.encode()[:127].decode(errors="ignore"),
                "out_trade_no": request.payment_no,
                "notify_url": request.notify_url,
                "amount": {"total": request.amount_cents, "currency": request.currency},
            },
        )
        code_url = answer.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderError("WeChat Pay answered without a code_url")
        return Checkout("qr", code_url)

    def verify_callback(self, notification: Notification) -> CallbackEvent | None:
        try:
            self._verify(notification.header, notification.body)
        except _Unverified as error:
            raise InvalidCallback(str(error)) from None
        try:
            envelope = json.loads(notification.body)
            event_type, resource = envelope["event_type"], envelope["resource"]
        except (ValueError, KeyError, TypeError):
            raise InvalidCallback("malformed notification") from None
        if event_type != "TRANSACTION.SUCCESS":
            return None  # refund and other notifications: we do not ask for them
        if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise InvalidCallback("unsupported resource encryption")
        api_v3_key = self._api_v3_key()
        try:
            transaction = json.loads(decrypt_resource(api_v3_key, resource))
        except (InvalidTag, ValueError, KeyError, TypeError):
            raise InvalidCallback("resource does not decrypt under our APIv3 key") from None
        if not isinstance(transaction, dict):
            raise InvalidCallback("malformed resource")
        if (transaction.get("mchid"), transaction.get("appid")) != (
            self.credentials.get("mchid"),
            self.credentials.get("appid"),
        ):
            raise InvalidCallback("notification for another merchant or app")
        if transaction.get("trade_state") != "SUCCESS":
            return None
        try:
            amount = transaction["amount"]
            total = amount["total"]
            payment_no, txn_id = transaction["out_trade_no"], transaction["transaction_id"]
        except (KeyError, TypeError):
            raise InvalidCallback("malformed transaction") from None
        if not isinstance(total, int) or isinstance(total, bool) or not (payment_no and txn_id):
            raise InvalidCallback("malformed transaction")
        return CallbackEvent(
            payment_no=str(payment_no),
            provider_txn_id=str(txn_id),
            amount_cents=total,
            currency=str(amount.get("currency") or "CNY"),
            succeeded=True,
        )

    def acknowledge(self, accepted: bool) -> Reply:
        if accepted:
            return Reply("", 204)
        # WeChat Pay retries on any 4xx/5xx; the body is for its logs.
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False)
        return Reply(body, 400, "application/json")

    def refund(self, request: RefundRequest) -> RefundResult:
        payload: dict = {"out_refund_no": request.refund_no}
        if request.provider_txn_id:
            payload["transaction_id"] = request.provider_txn_id
        else:
            payload["out_trade_no"] = request.payment_no
        if request.reason:
            payload["reason"] = request.reason[:80]
        payload["amount"] = {
            "refund": request.amount_cents,
            "total": request.payment_amount_cents,
            "currency": request.currency,
        }
        # out_refund_no makes this idempotent: asking again answers with the same refund.
        answer = self._call("POST", "/v3/refund/domestic/refunds", payload)
        status = answer.get("status")
        if status not in REFUND_ACCEPTED:
            raise ProviderError(f"WeChat Pay refund {request.refund_no} is {status or 'unknown'}")
        return RefundResult(provider_refund_id=str(answer.get("refund_id") or request.refund_no))
