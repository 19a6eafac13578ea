"""`kameng`: another Kameng platform's store as our upstream (货源对接), over its open API v1.

We are a B2B customer of that store: our key (with the `order` scope) buys from our prepaid
balance there, at our price there. Our reference is sent as the order's `reference`, which the
upstream keeps unique per customer for ever: placing it again returns the same order, so a lost
answer is recovered by asking for the reference, never by buying again. Upstream card keys come
back as `secrets` (the buyer receives them). The upstream's webhook for our account (PUT
/api/v1/webhook) points at our supplier callback; its Standard Webhooks signature is checked
with the secret it gave, and the order is then read back from the API (the message carries no
keys). Upstream SKU ids are the supplier SKU codes of our offers; catalog() lists them with our
price there as the cost, for the price and stock sync.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping

from app.api.client import ApiError, KamengClient, TransportError
from app.i18n import N_
from app.suppliers.connectors.base import (
    FAILED,
    NOT_FOUND,
    PROCESSING,
    SUCCESS,
    CallbackRequest,
    CatalogEntry,
    Connector,
    PlaceRequest,
    SettingField,
    SupplierRejected,
    SupplierResult,
    SupplierTransportError,
)
from app.suppliers.connectors.generic_http import InvalidSettings
from app.webhooks import signing as webhook_signing

WEBHOOK_TOLERANCE_SECONDS = 300
DONE = ("delivered", "partially_refunded")
GIVEN_UP = ("failed", "refunded", "cancelled", "expired")
# Problems after which the order certainly does not exist upstream: safe to try elsewhere.
NOT_PLACED = (
    "insufficient-balance",
    "invalid-request",
    "insufficient-scope",
    "api-not-enabled",
    "account-disabled",
    "invalid-key",
    "ip-not-allowed",
)


class KamengConnector(Connector):
    kind = "kameng"
    label = N_("Another Kameng platform (open API)")
    setting_fields = (
        SettingField("base_url", N_("Upstream store URL, e.g. https://shop.example.com")),
        SettingField("key_id", N_("API key id")),
        SettingField("secret", N_("API key secret"), secret=True),
        SettingField("webhook_secret", N_("Webhook secret (whsec_…)"), secret=True, required=False),
    )
    callback_reply = ("ok", 200, "text/plain")

    def __init__(self, settings: Mapping[str, str] | None = None, *, timeout: float = 10.0):
        super().__init__(settings, timeout=timeout)
        base_url = (self.settings.get("base_url") or "").strip().rstrip("/")
        errors = {}
        if not base_url.startswith(("http://", "https://")):
            errors["base_url"] = "must start with http:// or https://"
        for name in ("key_id", "secret"):
            if not self.settings.get(name):
                errors[name] = "required"
        if errors:
            raise InvalidSettings(self.kind, errors)
        self.client = KamengClient(
            base_url, self.settings["key_id"], self.settings["secret"], timeout=timeout
        )

    # -- the interface ---------------------------------------------------------------------------

    def place(self, request: PlaceRequest) -> SupplierResult:
        if not request.supplier_sku_code.isdecimal():
            return SupplierResult(request.reference, FAILED, message="not an upstream SKU id")
        try:
            order = self.client.create_order(
                sku_id=int(request.supplier_sku_code),
                quantity=request.quantity,
                account_fields=dict(request.account_fields),
                reference=request.reference,
            )
        except TransportError as error:
            raise SupplierTransportError(str(error)) from error
        except ApiError as error:
            if error.slug in NOT_PLACED:
                return SupplierResult(
                    request.reference, FAILED, message=f"{error.slug}: {error.problem['detail']}"
                )
            raise SupplierTransportError(str(error)) from error  # 409, 429: ask again later
        if order["status"] in DONE:  # the answer to a placement reveals no keys: read them
            return self.query(request.reference)
        return self._result(request.reference, order)

    def query(self, reference: str, supplier_order_id: str = "") -> SupplierResult:
        try:
            order = self.client.order_by_reference(reference)
        except TransportError as error:
            raise SupplierTransportError(str(error)) from error
        except ApiError as error:
            raise SupplierTransportError(str(error)) from error
        if order is None:
            return SupplierResult(reference, NOT_FOUND)
        return self._result(reference, order)

    def balance(self) -> int:
        try:
            return int(self.client.balance()["balance_cents"])
        except (TransportError, ApiError) as error:
            raise SupplierTransportError(str(error)) from error

    def verify_callback(self, request: CallbackRequest) -> SupplierResult:
        secret = self.settings.get("webhook_secret") or ""
        message_id = request.header("webhook-id")
        stamp = request.header("webhook-timestamp")
        if not (secret and message_id and stamp.isdecimal()):
            raise SupplierRejected("not a signed Kameng webhook")
        if abs(time.time() - int(stamp)) > WEBHOOK_TOLERANCE_SECONDS:
            raise SupplierRejected("webhook timestamp outside the tolerance")
        expected = webhook_signing.sign(secret, message_id, int(stamp), request.body)
        given = request.header("webhook-signature").split()
        if not any(hmac.compare_digest(expected, entry) for entry in given):
            raise SupplierRejected("webhook signature mismatch")
        try:
            reference = json.loads(request.body)["data"]["reference"]
        except (ValueError, KeyError, TypeError):
            raise SupplierRejected("the event names no reference of ours") from None
        try:
            return self.query(str(reference))
        except SupplierTransportError as error:  # refused now, the upstream retries
            raise SupplierRejected(f"could not read the order back: {error}") from error

    def catalog(self) -> list[CatalogEntry]:
        try:
            products = self.client.products()
        except (TransportError, ApiError) as error:
            raise SupplierTransportError(str(error)) from error
        return [
            CatalogEntry(
                supplier_sku_code=str(sku["id"]),
                name=f"{product['title']} / {sku['name']}",
                cost_cents=int(sku["price_cents"]),
                in_stock=sku["stock"] != "sold_out",
                # For importing it (app.suppliers.imports): the upstream checks its own patterns.
                product_code=str(product["id"]),
                product_name=str(product["title"])[:120],
                sku_name=str(sku["name"])[:120],
                category=str(product.get("category_name") or "")[:60],
                account_fields=tuple(
                    {
                        "name": field["name"],
                        "label": field["label"][:40],
                        "regex": r"(?s).{1,200}",
                        "example": field.get("example") or field["label"],
                    }
                    for field in product.get("account_fields") or []
                ),
                min_quantity=int(sku.get("min_quantity") or 1),
                max_quantity=int(sku.get("max_quantity") or 100),
            )
            for product in products
            for sku in product["skus"]
        ]

    # -- reading an upstream order ---------------------------------------------------------------

    def _result(self, reference: str, order: dict) -> SupplierResult:
        status = order["status"]
        item = order["items"][0] if order.get("items") else {}
        logged = json.dumps({k: order.get(k) for k in ("order_no", "status", "total_cents")})
        common = {"supplier_order_id": order["order_no"], "response_log": logged}
        if status in DONE:
            secrets = tuple(
                " ".join(part for part in (key["card_no"], key["secret"]) if part)
                for key in item.get("keys", [])
            )
            if item.get("delivery"):
                secrets += (item["delivery"],)
            delivered = item.get("quantity")
            if item.get("topup"):
                delivered = item["topup"]["delivered_quantity"]
            elif item.get("keys") is not None and item.get("delivery_type") == "card_key":
                delivered = len(item["keys"])
            return SupplierResult(
                reference, SUCCESS, delivered_quantity=delivered, secrets=secrets,
                message=status, **common,
            )  # fmt: skip
        if status in GIVEN_UP:
            return SupplierResult(reference, FAILED, message=f"upstream order {status}", **common)
        return SupplierResult(reference, PROCESSING, message=f"upstream order {status}", **common)
