"""`dujiao_next`: a dujiao-next site as our upstream, over its site-to-site Open API
(`/api/v1/upstream/*`, JSON, HMAC-signed: app.docking.dujiao_wire).

We hold API credentials of a user there and buy from that user's wallet, at the user's price.

- catalog(): `GET /products` page by page (and `/categories` for names): each active SKU, code =
  the SKU id, cost = the member price when there is one else the price, times the exchange rate;
  stock from `stock_status`; a manual product's form fields become the buyer's account fields.
- place(): `POST /orders` with our reference as `downstream_order_no` — the site's idempotency
  key: the same number again returns the existing order, never a second one — and our supplier
  callback as `callback_url`. Procurement is asynchronous: the answer is usually `paid`; the
  site's signed callback (verified with the fixed signing path `/api/v1/upstream/callback`) or
  polling `GET /orders/:id` brings the delivery (`fulfillment.payload`, the card keys).
- query(): `GET /orders/:id` with the site's order id; without one (the answer to the order was
  lost) not_found, and the order is placed again with the same downstream_order_no, which answers
  the existing order.
- balance(): `POST /ping`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode

from app.docking import dujiao_wire as wire
from app.docking.acg_wire import amount
from app.i18n import N_
from app.pricing.engine import converted_cents, parse_rate
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
from app.suppliers.connectors.generic_http import Answer, InvalidSettings, send

PAGE_SIZE = 100
MAX_PAGES = 200
# Client errors: the site answered and nothing was ordered (5xx and timeouts stay unknown).
REFUSALS = (400, 401, 402, 403, 404, 409)
LOCALES = ("zh-CN", "zh", "en", "en-US")
MAX_QUANTITY = 10_000


class DujiaoRefused(Exception):
    def __init__(self, status: int, document: Mapping, answer: Answer):
        self.status = status
        self.code = str(document.get("error_code") or "")
        self.document = document
        self.answer = answer
        super().__init__(f"HTTP {status} {self.code}: {document.get('error_message') or ''}")


def _text(value) -> str:
    """A localised text ({"zh-CN": …}) in Chinese if there is one, else any."""
    if isinstance(value, Mapping):
        for locale in LOCALES:
            if value.get(locale):
                return str(value[locale])
        return next((str(v) for v in value.values() if v), "")
    return str(value or "")


class DujiaoNextConnector(Connector):
    kind = "dujiao_next"
    label = N_("dujiao-next site (Open API)")
    setting_fields = (
        SettingField("base_url", N_("Site URL, e.g. https://shop.example.com")),
        SettingField("api_key", N_("API key")),
        SettingField("api_secret", N_("API secret"), secret=True),
        SettingField(
            "exchange_rate",
            N_("Exchange rate: our currency per unit of its prices"),
            default="1",
        ),
    )
    callback_reply = (wire.CALLBACK_ACK, 200, "application/json")

    def __init__(self, settings: Mapping[str, str] | None = None, *, timeout: float = 10.0):
        super().__init__(settings, timeout=timeout)
        errors = {}
        base_url = (self.settings.get("base_url") or "").strip().rstrip("/")
        if base_url.endswith(wire.PREFIX):
            base_url = base_url[: -len(wire.PREFIX)]
        if not base_url.startswith(("http://", "https://")):
            errors["base_url"] = "must start with http:// or https://"
        self.base_url = base_url
        self.api_key = str(self.settings.get("api_key") or "").strip()
        self.api_secret = str(self.settings.get("api_secret") or "").strip()
        for name in ("api_key", "api_secret"):
            if not getattr(self, name):
                errors[name] = "required"
        try:
            self.rate = parse_rate(self.settings.get("exchange_rate") or "1")
        except ValueError as error:
            errors["exchange_rate"] = str(error)
        if errors:
            raise InvalidSettings(self.kind, errors)

    # -- one call ---------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, body: Mapping | None = None, params: Mapping | None = None
    ) -> tuple[dict, Answer]:
        """A signed request; (document, answer) when `ok` is true. Raises DujiaoRefused for an
        answered refusal, SupplierTransportError when the outcome is unknown."""
        full_path = wire.PREFIX + path
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        answer = send(
            method,
            self.base_url + full_path,
            query=urlencode(params or {}),
            body=data,
            headers=wire.headers(self.api_key, self.api_secret, method, full_path, stamp, data),
            timeout=self.timeout,
            log_params={k: str(v) for k, v in {**(params or {}), **(body or {})}.items()},
            secrets=(self.api_secret,),
            follow_redirects=False,
            accept_statuses=REFUSALS,
        )
        if answer.document.get("ok") is not True:
            raise DujiaoRefused(answer.status_code, answer.document, answer)
        return answer.document, answer

    def _cents(self, value) -> int:
        return converted_cents(amount(value), self.rate)

    # -- the interface ----------------------------------------------------------------------------

    def place(self, request: PlaceRequest) -> SupplierResult:
        if not request.supplier_sku_code.isdecimal():
            return SupplierResult(request.reference, FAILED, message="not an upstream SKU id")
        body: dict = {
            "sku_id": int(request.supplier_sku_code),
            "quantity": request.quantity,
            "downstream_order_no": request.reference,
        }
        if request.account_fields:
            body["manual_form_data"] = {k: str(v) for k, v in request.account_fields.items()}
        if request.callback_url:
            body["callback_url"] = request.callback_url
        try:
            document, answer = self._order(body)
        except DujiaoRefused as refused:
            # Refused before anything was created or paid (a failed wallet payment cancels it).
            return SupplierResult(
                request.reference,
                FAILED,
                supplier_order_id=str(refused.document.get("order_id") or ""),
                message=str(refused),
                request_log=refused.answer.request_log,
                response_log=refused.answer.response_log,
            )
        order_id = str(document.get("order_id") or "")
        status = wire.normal_status(document.get("status"))
        if status == "delivered" and order_id:  # the answer carries no keys: read them
            return self.query(request.reference, order_id)
        return self._result(request.reference, document, answer)

    def _order(self, body: dict) -> tuple[dict, Answer]:
        try:
            return self._call("POST", "/orders", body=body)
        except DujiaoRefused as refused:
            if refused.code != "invalid_callback_url" or "callback_url" not in body:
                raise
        # The site will not call our address (e.g. a private one): the same order, polled.
        return self._call("POST", "/orders", body={k: v for k, v in body.items()
                                                   if k != "callback_url"})  # fmt: skip

    def query(self, reference: str, supplier_order_id: str = "") -> SupplierResult:
        if not supplier_order_id.isdecimal():
            return SupplierResult(
                reference,
                NOT_FOUND,
                message="dujiao-next finds orders by its own id, which no answer gave us",
            )
        try:
            document, answer = self._call("GET", f"/orders/{supplier_order_id}")
        except DujiaoRefused as refused:
            if refused.status == 404:
                return SupplierResult(reference, NOT_FOUND, message=str(refused))
            raise SupplierTransportError(f"{self.kind}: {refused}") from None
        return self._result(reference, document, answer)

    def balance(self) -> int:
        try:
            document, _ = self._call("POST", "/ping")
            return self._cents(document["balance"])
        except DujiaoRefused as refused:
            raise SupplierTransportError(f"{self.kind}: {refused}") from None
        except (KeyError, ValueError):
            raise SupplierTransportError(f"{self.kind}: ping answered no balance") from None

    def verify_callback(self, request: CallbackRequest) -> SupplierResult:
        stamp = request.header(wire.TIMESTAMP_HEADER)
        if request.header(wire.KEY_HEADER) != self.api_key:
            raise SupplierRejected("not signed with our api key")
        if not stamp.isdecimal() or abs(time.time() - int(stamp)) > wire.WINDOW_SECONDS:
            raise SupplierRejected("timestamp missing or outside ±60 s")
        given = request.header(wire.SIGNATURE_HEADER)
        # Signed with the fixed path, whatever our callback URL's own path is.
        if not wire.matches(
            self.api_secret, "POST", wire.CALLBACK_PATH, stamp, request.body, given
        ):
            raise SupplierRejected("bad signature")
        try:
            event = json.loads(request.body)
        except ValueError:
            raise SupplierRejected("the body is not JSON") from None
        if (
            not isinstance(event, dict)
            or not event.get("downstream_order_no")
            or not event.get("status")
        ):
            raise SupplierRejected("needs downstream_order_no and status")
        reference = str(event["downstream_order_no"])
        shown = {k: v for k, v in event.items() if k != "fulfillment"}
        result = self._result(reference, event, None)
        return SupplierResult(
            reference=reference,
            state=result.state,
            supplier_order_id=result.supplier_order_id,
            secrets=result.secrets,
            message=result.message,
            request_log=f"callback {event.get('event', '')}\n{json.dumps(shown)[:2000]}",
        )

    def catalog(self) -> list[CatalogEntry]:
        try:
            categories, _ = self._call("GET", "/categories")
            names = {
                c.get("id"): _text(c.get("name"))
                for c in categories.get("categories") or []
                if isinstance(c, Mapping)
            }
            entries, page = [], 1
            while page <= MAX_PAGES:
                document, _ = self._call(
                    "GET", "/products", params={"page": page, "page_size": PAGE_SIZE}
                )
                items = document.get("items") or []
                for product in items:
                    if isinstance(product, Mapping):
                        entries += self._entries(product, names)
                total = int(document.get("total") or 0)
                if not items or page * PAGE_SIZE >= total:
                    break
                page += 1
        except DujiaoRefused as refused:
            raise SupplierTransportError(f"{self.kind}: {refused}") from None
        except (TypeError, ValueError) as error:
            raise SupplierTransportError(f"{self.kind}: unreadable catalog ({error})") from None
        return entries

    # -- reading answers --------------------------------------------------------------------------

    def _result(self, reference: str, document: Mapping, answer: Answer | None) -> SupplierResult:
        status = wire.normal_status(document.get("status"))
        common = {"supplier_order_id": str(document.get("order_id") or "")}
        if answer is not None:
            shown = {k: v for k, v in document.items() if k != "fulfillment"}
            common["request_log"] = answer.request_log
            common["response_log"] = json.dumps(shown, ensure_ascii=False)[:4000]
        fulfillment = document.get("fulfillment")
        payload = fulfillment.get("payload") if isinstance(fulfillment, Mapping) else None
        if status == "delivered" and payload:
            secrets = tuple(line.strip() for line in str(payload).splitlines() if line.strip())
            return SupplierResult(
                reference, SUCCESS, secrets=secrets, message="delivered", **common
            )
        if status == "canceled":
            return SupplierResult(reference, FAILED, message="upstream order canceled", **common)
        return SupplierResult(
            reference, PROCESSING, message=f"upstream order {status or 'unknown'}", **common
        )

    def _entries(self, product: Mapping, categories: Mapping) -> list[CatalogEntry]:
        if product.get("is_active") is False:
            return []
        fields, note = _form_fields(product.get("manual_form_schema"))
        low = max(int(product.get("min_purchase_quantity") or 1), 1)
        high = int(product.get("max_purchase_quantity") or 0) or 100
        common = {
            "product_code": str(product.get("id")),
            "product_name": _text(product.get("title"))[:120] or f"#{product.get('id')}",
            "category": categories.get(product.get("category_id"), "")[:60],
            "description": (_text(product.get("description")) or _text(product.get("content")))[
                :20_000
            ],
            "account_fields": tuple(fields),
            "min_quantity": min(low, MAX_QUANTITY),
            "max_quantity": min(max(high, low), MAX_QUANTITY),
            "note": note,
        }
        entries = []
        skus = sorted(
            (s for s in product.get("skus") or [] if isinstance(s, Mapping)),
            key=lambda s: int(s.get("id") or 0),
        )
        for sku in skus:
            if not str(sku.get("id") or "").isdecimal():
                continue
            specs = sku.get("spec_values") or {}
            sku_name = " ".join(map(str, specs.values())) if isinstance(specs, Mapping) else ""
            sku_name = (sku_name or str(sku.get("sku_code") or "") or common["product_name"])[:120]
            quantity = sku.get("stock_quantity")
            stock = None if quantity in (None, -1) else int(quantity)
            entries.append(
                CatalogEntry(
                    supplier_sku_code=str(sku["id"]),
                    name=f"{common['product_name']} / {sku_name}",
                    cost_cents=self._cost(sku.get("member_price"), sku.get("price_amount")),
                    in_stock=sku.get("is_active") is not False
                    and sku.get("stock_status") != "out_of_stock"
                    and stock != 0,
                    sku_name=sku_name,
                    stock=stock,
                    **common,
                )
            )
        return entries

    def _cost(self, *candidates) -> int:
        for value in candidates:
            try:
                found = amount(value)
            except ValueError:
                continue
            if found > Decimal(0):
                return converted_cents(found, self.rate)
        return 0


def _form_fields(schema) -> tuple[list[dict], str]:
    """A manual product's form (`{"fields":[{key, label, required, placeholder}]}`) as our
    account fields: required ones only (every account field of ours is required)."""
    if not isinstance(schema, Mapping):
        return [], ""
    fields, refused = [], []
    for entry in (schema.get("fields") or [])[:5]:
        if not isinstance(entry, Mapping) or not entry.get("required"):
            continue
        name = str(entry.get("key") or "")
        if not (name[:1].isalpha() and name.isascii() and name.replace("_", "").isalnum()
                and name == name.lower() and len(name) <= 31):  # fmt: skip
            refused.append(name)
            continue
        label = _text(entry.get("label")).strip()[:40] or name
        example = _text(entry.get("placeholder")).strip()[:200] or label
        fields.append({"name": name, "label": label, "regex": r"(?s).{1,200}", "example": example})
    note = f"form fields we cannot carry: {', '.join(refused)}" if refused else ""
    return fields, note
