"""The one interface every payment provider implements.

A provider is built from the credentials the platform owner configured and knows nothing of our
database: it turns a PaymentRequest into somewhere to send the buyer (create), a gateway's
notification into a verified CallbackEvent (verify_callback), answers the gateway the way it
expects (acknowledge), and refunds (refund). Wire formats and signatures are the gateway's own;
every gateway's base URL is a credential, so tests point providers at local fake gateways.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar


class InvalidCallback(ValueError):
    """A callback that is forged, malformed or not for us: refused, nothing changes."""


class ProviderError(RuntimeError):
    """The gateway refused or could not be reached (creating a payment, refunding)."""


class ProviderUnavailable(LookupError):
    """The provider is unknown, not configured, or not enabled."""


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str  # a msgid (N_), translated by the console
    secret: bool = False  # never shown again once saved; masked in the console
    required: bool = True
    multiline: bool = False  # PEM keys and certificates
    default: str = ""


@dataclass(frozen=True)
class PaymentRequest:
    payment_no: str  # our reference at the gateway (out_trade_no, client_reference_id, …)
    amount_cents: int
    currency: str
    description: str  # what the buyer sees at the gateway
    return_url: str  # the buyer comes back here (it never marks anything paid)
    notify_url: str  # the gateway notifies here (the platform's callback route)
    client_ip: str = ""
    mobile: bool = False  # phone browser: Alipay 手机网站支付 instead of 电脑网站支付, etc.


@dataclass(frozen=True)
class Checkout:
    kind: str  # "redirect": send the buyer to `payload`; "qr": show `payload` as a QR code
    payload: str


@dataclass(frozen=True)
class Notification:
    """A gateway's request to our callback route, as received."""

    method: str
    headers: Mapping[str, str]  # keys in lower case
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)  # query string and form, merged

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class CallbackEvent:
    payment_no: str
    provider_txn_id: str  # the gateway's own transaction id
    amount_cents: int
    currency: str
    succeeded: bool


@dataclass(frozen=True)
class Reply:
    body: str
    status: int = 200
    content_type: str = "text/plain"


@dataclass(frozen=True)
class RefundRequest:
    refund_no: str  # the gateway's idempotency key for this refund
    payment_no: str
    provider_txn_id: str  # the gateway's transaction id (without our "provider:" prefix)
    amount_cents: int
    payment_amount_cents: int  # the whole payment (WeChat wants both)
    currency: str
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str


class Provider(ABC):
    name: ClassVar[str]
    label: ClassVar[str]  # msgid
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    currencies: ClassVar[frozenset[str]] = frozenset({"CNY"})

    def __init__(self, credentials: Mapping[str, str] | None = None):
        self.credentials = dict(credentials or {})

    @abstractmethod
    def create(self, request: PaymentRequest) -> Checkout:
        """Open the payment at the gateway. Raises ProviderError."""

    @abstractmethod
    def verify_callback(self, notification: Notification) -> CallbackEvent | None:
        """Verify a notification's signature and read it. None: genuine but nothing to act on
        (an event type we do not use). Raises InvalidCallback."""

    def acknowledge(self, accepted: bool) -> Reply:
        """What the gateway expects back; a refusal makes it retry later."""
        return Reply("success") if accepted else Reply("fail", 400)

    @abstractmethod
    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund at the gateway, idempotent on refund_no. Raises ProviderError."""
