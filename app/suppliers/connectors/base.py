"""The one interface every supplier connector implements.

A connector is built from the supplier's settings (a dict the platform owner configured; secrets
sealed at rest) and knows nothing of our database. Our `reference` is the supplier's idempotency
key: placing the same reference twice must never buy twice, and an answer we lost is recovered
with query(reference), never by placing again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

# What a supplier says about one of our references.
SUCCESS = "success"  # delivered (top-up credited; card secrets, if any, in `secrets`)
FAILED = "failed"  # definitely not delivered and will not be: safe to try elsewhere or refund
PROCESSING = "processing"  # accepted, not finished: wait for a callback or poll
NOT_FOUND = "not_found"  # (query only) the supplier never received this reference
STATES = (SUCCESS, FAILED, PROCESSING, NOT_FOUND)


class SupplierTransportError(RuntimeError):
    """No usable answer (connection refused, timeout, 5xx, garbled body): the outcome is unknown.
    The caller retries with back-off, querying before it ever places again."""


class SupplierRejected(ValueError):
    """A callback that is forged, malformed or not for us: refused, nothing changes."""


@dataclass(frozen=True)
class PlaceRequest:
    reference: str  # our idempotency key at the supplier
    supplier_sku_code: str  # the supplier's product code (from the SKU's offer)
    quantity: int
    account_fields: Mapping[str, str]  # e.g. {"account": "13800138000"} for a phone top-up
    face_value_cents: int
    callback_url: str  # where the supplier may notify us (empty: it must be polled)
    # Placed again after a query found nothing: an earlier placement of this reference may have
    # reached the supplier (its answer was lost), so a refusal may mean "I have it already".
    repeat: bool = False


@dataclass(frozen=True)
class SupplierResult:
    reference: str
    state: str  # one of STATES
    supplier_order_id: str = ""
    delivered_quantity: int | None = None  # for quantity > 1: how many succeeded
    secrets: tuple[str, ...] = ()  # card secrets returned by a card-type supplier
    message: str = ""  # the supplier's own words, for the timeline
    # What was sent and received, with secrets redacted, for the fulfilment timeline.
    request_log: str = ""
    response_log: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    supplier_sku_code: str
    name: str
    cost_cents: int  # in our currency's cents, converted once by the connector (0: unknown)
    in_stock: bool
    # What importing the item into our catalog uses (app.suppliers.imports); optional for sync.
    product_code: str = ""  # entries with the same product_code become SKUs of one product
    product_name: str = ""
    sku_name: str = ""
    category: str = ""
    description: str = ""  # HTML or Markdown; sanitised when imported
    account_fields: tuple[dict, ...] = ()  # our input_schema entries (name, label, regex, example)
    min_quantity: int = 1
    max_quantity: int = 100
    stock: int | None = None  # units the supplier says it has, when it says
    note: str = ""  # why the item cannot be imported as it is (empty: it can)


@dataclass(frozen=True)
class SettingField:
    name: str
    label: str  # msgid (N_)
    secret: bool = False
    required: bool = True
    default: str = ""
    choices: tuple[str, ...] = ()
    multiline: bool = False


@dataclass(frozen=True)
class CallbackRequest:
    """A supplier's request to our callback route, as received."""

    method: str
    headers: Mapping[str, str]  # lower-case keys
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class Connector(ABC):
    kind: ClassVar[str]
    label: ClassVar[str]  # msgid
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    callback_reply: ClassVar[tuple[str, int, str]] = ("success", 200, "text/plain")

    def __init__(self, settings: Mapping[str, str] | None = None, *, timeout: float = 10.0):
        self.settings = dict(settings or {})
        self.timeout = timeout

    @abstractmethod
    def place(self, request: PlaceRequest) -> SupplierResult:
        """Order at the supplier (idempotent on reference). Raises SupplierTransportError."""

    @abstractmethod
    def query(self, reference: str, supplier_order_id: str = "") -> SupplierResult:
        """What became of a reference. `supplier_order_id` is the supplier's own number for it,
        when an earlier answer gave one (some protocols can only look orders up by that).
        Raises SupplierTransportError."""

    @abstractmethod
    def balance(self) -> int:
        """Our prepaid balance at the supplier, in cents. Raises SupplierTransportError."""

    def verify_callback(self, request: CallbackRequest) -> SupplierResult:
        """Verify and read a supplier's notification. Raises SupplierRejected."""
        raise SupplierRejected(f"{self.kind} sends no callbacks")

    def catalog(self) -> list[CatalogEntry]:
        """The supplier's products with costs and stock, for price/stock sync (optional)."""
        return []
