"""`acg_faka`: an acg-faka (异次元发卡) site as our upstream, over its docking API (`/shared/...`).

We are a member there (商户ID = our user id, 对接密钥 = its app_key) and buy from that member's
balance, at the member's price. Every call is a form POST signed with acg-faka's MD5 signature
(app.docking.acg_wire), redirects not followed; answers are `{"code":200,"data":…}` or
`{"code":0,"msg":…}`.

- catalog(): `items` — each commodity (or each race of one, code `<code>|<race>`) with our cost
  = what the site says it charges us (`factory_price`, or `[category_factory]` per race; else the
  member price), times the exchange rate; stock; buyer fields (widgets) for the import.
- place(): `trade` with our reference as `request_no` (19 digits derived from it: the site
  allows 19 characters). acg-faka keeps request_no unique and refuses a known one ("The request
  ID already exists"), so placing again never buys twice — but it checks stock and limits
  before that, so a repeat refused for those stays open (it may be an order it has). The cards
  come back at once in `secret` (one per line); a manual item's placeholder ("正在发货中…")
  means: later.
- query(): acg-faka looks orders up only by its own number (`tradeNo`). With it, `query`; without
  it (the answer to `trade` was lost) we answer not_found, and the top-up is placed again with the
  same request_no: either it buys now (the first never arrived) or the site says it knows the
  request — then the order is there but acg-faka has no way to show it to us again, and the
  top-up waits with that said (a Kameng store's compatible endpoint answers with the original
  order instead).
- balance(): `connect`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode

from app.docking import acg_wire
from app.i18n import N_
from app.pricing.engine import converted_cents, parse_rate
from app.suppliers.connectors.base import (
    FAILED,
    NOT_FOUND,
    PROCESSING,
    SUCCESS,
    CatalogEntry,
    Connector,
    PlaceRequest,
    SettingField,
    SupplierResult,
    SupplierTransportError,
)
from app.suppliers.connectors.generic_http import Answer, InvalidSettings, send

CONNECT = "/shared/authentication/connect"
ITEMS = "/shared/commodity/items"
TRADE = "/shared/commodity/trade"
QUERY = "/shared/commodity/query"
RACE_SEPARATOR = "|"
CODE_MAX = 64
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
MAX_QUANTITY = 10_000
ORDER_UNKNOWN = "订单不存在"
# Refusals acg-faka gives only after it found the request_no unknown (inside the order's
# transaction): certain answers even for a repeat.
AFTER_DUPLICATE_CHECK = ("余额不足", "You have been banned")


class AcgRefused(Exception):
    """The site answered, with `code` other than 200: `msg` says why."""

    def __init__(self, message: str, answer: Answer):
        super().__init__(message)
        self.message = message
        self.answer = answer


class AcgFakaConnector(Connector):
    kind = "acg_faka"
    label = N_("acg-faka site (异次元发卡 docking)")
    setting_fields = (
        SettingField("base_url", N_("Site URL, e.g. https://faka.example.com")),
        SettingField("app_id", N_("Merchant ID (商户ID, your user id there)")),
        SettingField("app_key", N_("Docking key (对接密钥)"), secret=True),
        SettingField(
            "exchange_rate",
            N_("Exchange rate: our currency per unit of its prices"),
            default="1",
        ),
    )

    def __init__(self, settings: Mapping[str, str] | None = None, *, timeout: float = 10.0):
        super().__init__(settings, timeout=timeout)
        errors = {}
        self.base_url = (self.settings.get("base_url") or "").strip().rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            errors["base_url"] = "must start with http:// or https://"
        self.app_id = str(self.settings.get("app_id") or "").strip()
        self.app_key = str(self.settings.get("app_key") or "").strip()
        if not self.app_id or len(self.app_id) > 32:
            errors["app_id"] = "required, up to 32 characters"
        if not self.app_key:
            errors["app_key"] = "required"
        try:
            self.rate = parse_rate(self.settings.get("exchange_rate") or "1")
        except ValueError as error:
            errors["exchange_rate"] = str(error)
        if errors:
            raise InvalidSettings(self.kind, errors)

    # -- one call ---------------------------------------------------------------------------------

    def _call(self, path: str, fields: Mapping[str, object]) -> tuple[object, Answer]:
        """POST the signed form; (data, answer) on code 200. Raises AcgRefused for any other
        code, SupplierTransportError when there is no usable answer."""
        body = urlencode(acg_wire.signed_body(fields, self.app_id, self.app_key)).encode()
        answer = send(
            "POST",
            self.base_url + path,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=self.timeout,
            log_params={**{k: str(v) for k, v in fields.items()}, "app_id": self.app_id},
            secrets=(self.app_key,),
            follow_redirects=False,
        )
        document = answer.document
        if str(document.get("code")) != str(acg_wire.OK):
            raise AcgRefused(str(document.get("msg") or "refused without a message"), answer)
        return document.get("data"), answer

    def _cents(self, value) -> int:
        return converted_cents(acg_wire.amount(value), self.rate)

    # -- the interface ----------------------------------------------------------------------------

    def place(self, request: PlaceRequest) -> SupplierResult:
        code, _, race = request.supplier_sku_code.partition(RACE_SEPARATOR)
        if not code:
            return SupplierResult(request.reference, FAILED, message="no upstream commodity code")
        fields = {
            # Widget values first: our own fields below win over any of the same name.
            **{name: str(value) for name, value in request.account_fields.items()},
            "shared_code": code,
            "num": str(request.quantity),
            "race": race,
            "card_id": "0",
            "device": "0",
            "contact": "kameng",  # a member's contact is not checked (the site writes "-")
            "password": "",
            "request_no": acg_wire.request_no_for(request.reference),
        }
        try:
            data, answer = self._call(TRADE, fields)
        except AcgRefused as refused:
            logs = {
                "request_log": refused.answer.request_log,
                "response_log": refused.answer.response_log,
            }
            if acg_wire.DUPLICATE_REQUEST.lower() in refused.message.lower():
                return SupplierResult(
                    request.reference,
                    PROCESSING,
                    message=(
                        f"the site already has request_no {fields['request_no']} but cannot show "
                        "that order again by it: find it in the site's order list"
                    ),
                    **logs,
                )
            if request.repeat and not any(m in refused.message for m in AFTER_DUPLICATE_CHECK):
                # acg-faka checks stock, limits and the like before it looks at request_no: a
                # repeat refused for those may well be an order it already has.
                return SupplierResult(
                    request.reference,
                    PROCESSING,
                    message=(
                        f"the site refused a repeat of request_no {fields['request_no']} "
                        f"({refused.message}); it may hold the first: check its order list"
                    ),
                    **logs,
                )
            # Refused before or inside the order's transaction: nothing was bought.
            return SupplierResult(request.reference, FAILED, message=refused.message, **logs)
        if not isinstance(data, Mapping):
            raise SupplierTransportError(f"{self.kind}: trade answered without data")
        return self._delivery(request.reference, data, answer)

    def query(self, reference: str, supplier_order_id: str = "") -> SupplierResult:
        if not supplier_order_id:
            return SupplierResult(
                reference,
                NOT_FOUND,
                message="acg-faka finds orders only by its own number, which no answer gave us",
            )
        try:
            data, answer = self._call(QUERY, {"tradeNo": supplier_order_id})
        except AcgRefused as refused:
            if ORDER_UNKNOWN in refused.message:
                return SupplierResult(reference, NOT_FOUND, message=refused.message)
            raise SupplierTransportError(f"{self.kind}: {refused.message}") from None
        if not isinstance(data, Mapping):
            raise SupplierTransportError(f"{self.kind}: query answered without data")
        if str(data.get("status")) != "1":
            return SupplierResult(
                reference,
                FAILED,
                supplier_order_id=supplier_order_id,
                message=f"upstream order status {data.get('status')!r} (not paid)",
                request_log=answer.request_log,
                response_log=answer.response_log,
            )
        return self._delivery(reference, {**data, "tradeNo": supplier_order_id}, answer)

    def balance(self) -> int:
        try:
            data, _ = self._call(CONNECT, {})
            return self._cents(data["balance"])
        except AcgRefused as refused:
            raise SupplierTransportError(f"{self.kind}: {refused.message}") from None
        except (KeyError, TypeError, ValueError):
            raise SupplierTransportError(f"{self.kind}: connect answered no balance") from None

    def catalog(self) -> list[CatalogEntry]:
        try:
            data, _ = self._call(ITEMS, {})
        except AcgRefused as refused:
            raise SupplierTransportError(f"{self.kind}: {refused.message}") from None
        if not isinstance(data, list):
            raise SupplierTransportError(f"{self.kind}: items answered no list")
        entries = []
        for category in data:
            if not isinstance(category, Mapping):
                continue
            for commodity in category.get("children") or []:
                if isinstance(commodity, Mapping):
                    entries += self._entries(str(category.get("name") or ""), commodity)
        return entries

    # -- reading answers --------------------------------------------------------------------------

    def _delivery(self, reference: str, data: Mapping, answer: Answer) -> SupplierResult:
        goods, placeholder = acg_wire.secret_lines(data.get("secret"))
        common = {
            "supplier_order_id": str(data.get("tradeNo") or ""),
            "request_log": answer.request_log,
            # The cards themselves must not sit in the timeline's copy of the answer.
            "response_log": _masked(answer),
        }
        if goods:
            return SupplierResult(
                reference, SUCCESS, secrets=tuple(goods), message="delivered", **common
            )
        why = "awaiting delivery at the site" if placeholder else "answered without goods yet"
        return SupplierResult(reference, PROCESSING, message=why, **common)

    def _entries(self, category: str, item: Mapping) -> list[CatalogEntry]:
        code = str(item.get("code") or item.get("id") or "").strip()
        if not code or len(code) > CODE_MAX or any(c.isspace() for c in code):
            return []
        name = str(item.get("name") or code)[:120]
        config = acg_wire.parse_config(item.get("config"))
        fields, field_note = _account_fields(item.get("widget"))
        notes = [field_note] if field_note else []
        if any(isinstance(v, Mapping) and v for v in (config.get("sku") or {}).values()):
            notes.append("has options (sku) that an order would have to choose")
        stock = _int(item.get("stock"))
        low = max(_int(item.get("minimum")) or 1, 1)
        high = _int(item.get("maximum")) or 100
        high = min(max(high, low), MAX_QUANTITY)
        common = {
            "product_code": code,
            "product_name": name,
            "category": category[:60],
            "description": str(item.get("description") or "")[:20_000],
            "account_fields": tuple(fields),
            "min_quantity": min(low, MAX_QUANTITY),
            "max_quantity": high,
            "stock": stock,
            "in_stock": stock is None or stock > 0,
        }
        races = config.get("category") or {}
        if races:
            factory = config.get("category_factory") or {}
            entries = []
            for race, price in races.items():
                race_code = f"{code}{RACE_SEPARATOR}{race}"
                note = list(notes)
                if len(race_code) > CODE_MAX:
                    note.append("code and type together are too long")
                entries.append(
                    CatalogEntry(
                        supplier_sku_code=race_code[:CODE_MAX],
                        name=f"{name} / {race}",
                        cost_cents=self._cost(factory.get(race), price),
                        sku_name=str(race)[:120],
                        note="; ".join(note),
                        **common,
                    )
                )
            return entries
        return [
            CatalogEntry(
                supplier_sku_code=code,
                name=name,
                cost_cents=self._cost(
                    item.get("factory_price"), item.get("user_price"), item.get("price")
                ),
                sku_name=name,
                note="; ".join(notes),
                **common,
            )
        ]

    def _cost(self, *candidates) -> int:
        """The first positive price of the candidates (what the site charges us, then the
        member price, then the guest price), converted; 0 when none is usable."""
        for value in candidates:
            try:
                amount = acg_wire.amount(value)
            except ValueError:
                continue
            if amount > Decimal(0):
                return converted_cents(amount, self.rate)
        return 0


def _masked(answer: Answer) -> str:
    """The answer for the timeline, its `secret` replaced by how many lines it had."""
    data = answer.document.get("data")
    if not isinstance(data, Mapping) or "secret" not in data:
        return answer.response_log
    lines = len(str(data.get("secret") or "").splitlines())
    shown = {**answer.document, "data": {**data, "secret": f"*** ({lines} lines)"}}
    status = answer.response_log.split("\n", 1)[0]
    return f"{status}\n{json.dumps(shown, ensure_ascii=False)}"[:4000]


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _account_fields(widget) -> tuple[list[dict], str]:
    """A commodity's buyer inputs (widgets) as our account fields, and what could not be carried.
    acg-faka checks each value with an unanchored PCRE search; we ask for a non-empty value of up
    to 200 characters and leave its own pattern to the site."""
    if isinstance(widget, str):
        try:
            widget = json.loads(widget) if widget.strip() else []
        except ValueError:
            return [], "its buyer fields (widget) are not readable"
    if not isinstance(widget, list):
        return [], ""
    fields, refused = [], []
    for entry in widget[:5]:
        if not isinstance(entry, Mapping):
            continue
        name = str(entry.get("name") or "")
        if not FIELD_NAME.match(name):
            refused.append(name)
            continue
        label = str(entry.get("cn") or entry.get("title") or name).strip()[:40] or name
        example = str(entry.get("placeholder") or "").strip()[:200] or label
        fields.append({"name": name, "label": label, "regex": r"(?s).{1,200}", "example": example})
    if len(widget) > 5:
        refused.append("…")
    note = f"buyer fields we cannot carry: {', '.join(refused)}" if refused else ""
    return fields, note
