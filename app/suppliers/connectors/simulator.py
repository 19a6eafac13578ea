"""`simulator`: the local top-up supplier of `python -m workers.simulator`, for development,
demos and tests; its wire format is that of a typical Chinese 直充 supplier.

Every request is a form signed `md5(sorted non-empty "k=v&…" + "&key=" + key)` (lowercase hex,
`sign` excluded) with a `timestamp`; every answer is JSON whose `code` 0 means the request was
read, the order's fate being in `status` (success, processing, failed; not_found on a query).
A refused order request (bad signature, bad parameters) never became an order: it is failed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

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
from app.suppliers.connectors.generic_http import (
    Answer,
    InvalidSettings,
    loggable,
    md5_sorted_sign,
    optional_int,
    same_signature,
    scalar_text,
    send,
)

DEFAULT_URL = "http://127.0.0.1:8765"
ORDER_STATES = (SUCCESS, PROCESSING, FAILED)


class SimulatorConnector(Connector):
    kind = "simulator"
    label = N_("Top-up simulator (testing)")
    setting_fields = (
        SettingField("base_url", N_("API base URL"), default=DEFAULT_URL),
        SettingField("key", N_("Signing key"), secret=True),
    )
    callback_reply = ("success", 200, "text/plain")

    def __init__(self, settings: Mapping[str, str] | None = None, *, timeout: float = 10.0):
        super().__init__(settings, timeout=timeout)
        self.base_url = (self.settings.get("base_url") or DEFAULT_URL).strip().rstrip("/")
        self.key = self.settings.get("key") or ""
        errors = {}
        if not self.base_url.startswith(("http://", "https://")):
            errors["base_url"] = "must start with http:// or https://"
        if not self.key:
            errors["key"] = "required"
        if errors:
            raise InvalidSettings(self.kind, errors)

    def _call(self, path: str, params: dict[str, str], method: str = "POST") -> Answer:
        params = {**params, "timestamp": str(int(time.time()))}
        signed = urlencode({**params, "sign": md5_sorted_sign(params, self.key)})
        answer = send(
            method,
            f"{self.base_url}{path}",
            query=signed if method == "GET" else "",
            body=b"" if method == "GET" else signed.encode(),
            headers={}
            if method == "GET"
            else {"Content-Type": "application/x-www-form-urlencoded"},
            timeout=self.timeout,
            log_params=params,
            secrets=(self.key,),
        )
        if "code" not in answer.document:
            raise SupplierTransportError(f"simulator {path}: an answer without a code")
        return answer

    def _result(self, answer: Answer, reference: str, states: tuple[str, ...]) -> SupplierResult:
        document = answer.document
        state = scalar_text(document.get("status"))
        if state not in states:
            raise SupplierTransportError(f"simulator: unexpected status {state!r}")
        if document.get("reference") not in (None, reference):
            raise SupplierTransportError("simulator: the answer is for another reference")
        return SupplierResult(
            reference=reference,
            state=state,
            supplier_order_id=scalar_text(document.get("order_id")),
            delivered_quantity=optional_int(document.get("delivered_quantity")),
            message=scalar_text(document.get("message")),
            request_log=answer.request_log,
            response_log=answer.response_log,
        )

    def place(self, request: PlaceRequest) -> SupplierResult:
        fields = dict(request.account_fields)
        account = fields.pop("account", "") or (fields.pop(next(iter(fields))) if fields else "")
        params = {
            **fields,  # further account fields (a game server, a region) go by their own names
            "reference": request.reference,
            "sku": request.supplier_sku_code,
            "quantity": str(request.quantity),
            "account": account,
            "face_value": str(request.face_value_cents),
        }
        if request.callback_url:
            params["callback_url"] = request.callback_url
        answer = self._call("/api/order", params)
        if answer.document["code"] != 0:
            # Refused before it became an order (signature, parameters): it never will be one.
            return SupplierResult(
                reference=request.reference,
                state=FAILED,
                message=f"refused: {scalar_text(answer.document.get('message'))}",
                request_log=answer.request_log,
                response_log=answer.response_log,
            )
        return self._result(answer, request.reference, ORDER_STATES)

    def query(self, reference: str, supplier_order_id: str = "") -> SupplierResult:
        answer = self._call("/api/query", {"reference": reference})
        if answer.document["code"] != 0:
            message = scalar_text(answer.document.get("message"))
            raise SupplierTransportError(f"simulator refused the query: {message}")
        return self._result(answer, reference, (*ORDER_STATES, NOT_FOUND))

    def balance(self) -> int:
        document = self._call("/api/balance", {}).document
        balance = document.get("balance")
        if document["code"] != 0 or not isinstance(balance, int) or isinstance(balance, bool):
            message = scalar_text(document.get("message"))
            raise SupplierTransportError(f"simulator gave no balance: {message}")
        return balance

    def catalog(self) -> list[CatalogEntry]:
        document = self._call("/api/products", {}, method="GET").document
        products = document.get("products")
        if document["code"] != 0 or not isinstance(products, list):
            raise SupplierTransportError("simulator gave no product list")
        try:
            return [
                CatalogEntry(
                    supplier_sku_code=str(p["code"]),
                    name=str(p["name"]),
                    cost_cents=int(p["cost"]),
                    in_stock=int(p["stock"]) > 0,
                )
                for p in products
            ]
        except (KeyError, TypeError, ValueError):
            raise SupplierTransportError("simulator: a malformed product list") from None

    def verify_callback(self, request: CallbackRequest) -> SupplierResult:
        params = dict(request.params) or dict(
            parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        )
        if not same_signature(md5_sorted_sign(params, self.key), params.get("sign", "")):
            raise SupplierRejected("bad signature")
        reference, state = params.get("reference", ""), params.get("status", "")
        if not reference or state not in ORDER_STATES:
            raise SupplierRejected("a callback without reference or status")
        shown = {k: v for k, v in params.items() if k != "sign"}
        return SupplierResult(
            reference=reference,
            state=state,
            supplier_order_id=params.get("order_id", ""),
            delivered_quantity=optional_int(params.get("delivered_quantity")),
            message=params.get("message", ""),
            request_log=f"callback {request.method}\n{loggable(shown)}",
        )
