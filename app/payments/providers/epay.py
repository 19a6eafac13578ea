"""`epay`: 易支付 (彩虹易支付 V1, MD5): the buyer is sent to the merchant's gateway
`submit.php`; the gateway notifies success with a GET; refunds go through `api.php?act=refund`.

Signature: every parameter except `sign` and `sign_type`, empty values dropped, sorted by key,
joined `k=v&…` with raw values, then the merchant key appended directly:
`md5(joined + key)`, lowercase hex.

The V1 refund call has no refund number of its own, so a retry cannot be recognised by the
gateway. Before refunding we ask the gateway for the order: one already refunded in full is
not refunded again, and a second refund of a partly refunded order is left to a person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import quote_plus, urlencode

import requests

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

UNSIGNED = frozenset({"sign", "sign_type"})
TIMEOUT_SECONDS = (5, 20)  # connect, read
PAID_STATUSES = frozenset({"1", "3"})  # paid; paid but frozen by the gateway (still refundable)
REFUNDED_STATUS = "2"
ENDPOINTS = ("/submit.php", "/mapi.php", "/api.php")


def sign(params: Mapping[str, str], key: str) -> str:
    """The MD5 signature of `params` under the merchant `key` (lowercase hex)."""
    content = "&".join(
        f"{name}={params[name]}"
        for name in sorted(params)
        if name not in UNSIGNED and isinstance(params[name], str) and params[name].strip()
    )
    return hashlib.md5((content + key).encode("utf-8")).hexdigest()


class EpayProvider(Provider):
    name = "epay"
    label = N_("Epay (易支付)")
    credential_fields = (
        # Every 易支付 is someone's own site: there is no default gateway.
        CredentialField("gateway_url", N_("Gateway URL")),
        CredentialField("pid", N_("Merchant ID (pid)")),
        CredentialField("key", N_("Merchant key"), secret=True),
        CredentialField("pay_type", N_("Payment method (alipay, wxpay, qqpay)"), default="alipay"),
    )
    currencies = frozenset({"CNY"})

    def _base(self) -> str:
        """The gateway's base URL, forgiving a pasted `…/submit.php`."""
        base = (self.credentials.get("gateway_url") or "").strip().rstrip("/")
        if not base:
            raise ProviderError("epay has no gateway_url")
        for endpoint in ENDPOINTS:
            if base.endswith(endpoint):
                base = base[: -len(endpoint)]
        return base

    def _key(self) -> str:
        return self.credentials.get("key", "")

    def sign(self, params: Mapping[str, str]) -> str:
        return sign(params, self._key())

    def create(self, request: PaymentRequest) -> Checkout:
        if request.currency not in self.currencies:
            raise ProviderError(f"epay does not take {request.currency}")
        params = {
            "pid": self.credentials.get("pid", ""),
            "type": self.credentials.get("pay_type") or "alipay",
            "out_trade_no": request.payment_no,
            "notify_url": request.notify_url,
            "return_url": request.return_url,
            # The gateway HTML-escapes the name it stores and notifies back: keep it plain.
            "name": request.description.translate(str.maketrans("&<>\"'", "     ")).strip(),
            "money": yuan_text(request.amount_cents),
        }
        params["sign"] = self.sign(params)
        params["sign_type"] = "MD5"
        return Checkout("redirect", f"{self._base()}/submit.php?{urlencode(params)}")

    def verify_callback(self, notification: Notification) -> CallbackEvent | None:
        params = {str(k): str(v) for k, v in notification.params.items()}
        signature = params.get("sign", "")
        if not signature or not self._key():
            raise InvalidCallback("not signed")
        if params.get("sign_type", "MD5").upper() != "MD5":
            raise InvalidCallback("unsupported sign_type")
        if not hmac.compare_digest(self.sign(params), signature.lower()):
            raise InvalidCallback("bad signature")
        if params.get("pid") != self.credentials.get("pid"):
            raise InvalidCallback("notification for another merchant")
        payment_no, trade_no = params.get("out_trade_no", ""), params.get("trade_no", "")
        if not (payment_no and trade_no):
            raise InvalidCallback("out_trade_no or trade_no missing")
        try:
            # The gateway prints money as a PHP float: "1" for 1.00, "10.5" for 10.50.
            amount_cents = cents_from_yuan(params.get("money", ""))
        except ValueError:
            raise InvalidCallback("malformed money") from None
        if params.get("trade_status") != "TRADE_SUCCESS":
            return None  # 易支付 only notifies successes; anything else is not ours to act on
        return CallbackEvent(
            payment_no=payment_no,
            provider_txn_id=trade_no,
            amount_cents=amount_cents,
            currency="CNY",
            succeeded=True,
        )

    # -- refunds ----------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        if request.currency not in self.currencies:
            raise ProviderError(f"epay does not take {request.currency}")
        order = self._api("GET", "order", self._order_ref(request), ok_codes=(1,))
        status = str(order.get("status", ""))
        trade_no = str(order.get("trade_no") or request.provider_txn_id)
        if status == REFUNDED_STATUS:
            if request.amount_cents == request.payment_amount_cents:
                # Refunded in full already (our earlier attempt whose answer was lost, or by
                # hand in the gateway's back office): do not pay it out again.
                return RefundResult(provider_refund_id=f"{trade_no}:{request.refund_no}")
            raise ProviderError(
                "epay already shows a refund for this order and cannot tell a retry from a "
                "further partial refund: check the 易支付 back office"
            )
        if status not in PAID_STATUSES:
            raise ProviderError(f"epay says the order is not paid (status {status or '?'})")
        answer = self._api(
            "POST",
            "refund",
            {
                **self._order_ref(request),
                "money": yuan_text(request.amount_cents),
                # Ignored by V1 gateways; gateways that know it use it to refuse a repeat.
                "out_refund_no": request.refund_no,
            },
            ok_codes=(0, 1),  # this source's api.php answers 0, its documentation says 1
        )
        refund_id = str(answer.get("refund_no") or request.refund_no)
        return RefundResult(provider_refund_id=f"{trade_no}:{refund_id}")

    def _order_ref(self, request: RefundRequest) -> dict[str, str]:
        ref = {"out_trade_no": request.payment_no}
        if request.provider_txn_id:
            ref["trade_no"] = request.provider_txn_id  # the gateway prefers it when both are sent
        return ref

    def _api(
        self, method: str, act: str, params: dict[str, str], *, ok_codes: tuple[int, ...]
    ) -> dict:
        """One `api.php?act=…` call (the key travels in clear, as V1 wants); its JSON answer.
        Raises ProviderError unless the answer's code is one of `ok_codes`."""
        url = f"{self._base()}/api.php"
        fields = {"pid": self.credentials.get("pid", ""), "key": self._key(), **params}
        try:
            if method == "GET":
                answer = requests.get(url, params={"act": act, **fields}, timeout=TIMEOUT_SECONDS)
            else:
                answer = requests.post(
                    url, params={"act": act}, data=fields, timeout=TIMEOUT_SECONDS
                )
        except requests.RequestException as error:
            # The message can quote the URL, and with it the key: never let it out.
            reason = str(error)
            for secret in filter(None, {self._key(), quote_plus(self._key())}):
                reason = reason.replace(secret, "***")
            raise ProviderError(f"epay unreachable: {reason}") from None
        if answer.status_code != 200:
            raise ProviderError(f"epay answered HTTP {answer.status_code}")
        try:
            document = answer.json()
            if isinstance(document, str):  # some gateways wrap their JSON in a JSON string
                document = json.loads(document)
            code = int(document.get("code"))
        except (ValueError, TypeError, AttributeError):
            raise ProviderError("epay answered something that is not its JSON") from None
        if code not in ok_codes:
            raise ProviderError(f"epay: {document.get('msg') or 'refused'} (code {code})")
        return document
