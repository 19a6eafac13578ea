"""The acg-faka-compatible docking endpoint set of a store (`/shared/...`): what an acg-faka
site (or 萌次元 v5's MCYShopV3 plugin) calls when it takes one of our stores as its upstream.

Who calls: a customer of the store with an API key that has the `acg_faka` scope — `app_id` is
the key id (kk_…), `app_key` the key's secret. Every call is checked like acg-faka's own
SharedValidation (the MD5 signature over all posted fields), then: the store's plan offers the
API, the key is not revoked, the caller's address is in the key's allowlist, the account may
order. The protocol has no timestamp or nonce, so a request can be replayed: reads are harmless,
and `trade` requires a `request_no`, which is the order's permanent reference for that customer —
a replayed or repeated `trade` answers the original order and never buys again.

Everything is priced by the store's catalog at the caller's prices (level discount included) and
ordered through app.api.services.place_order (the same order, risk rules, ledger and webhooks as
the open API), paid from the caller's balance. Card keys come back at once in `secret`; goods a
supplier delivers later answer acg-faka's placeholder ("正在发货中…") until `query` shows them.

Messages are acg-faka's own Chinese texts (its clients show `msg` as it is). Free of Flask
request state: the view passes the parsed fields in.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from app.api import services as api
from app.api.auth import LAST_USED_EVERY, Caller
from app.api.keys import find_key, ip_allowed, key_secret
from app.api.problems import ApiProblem
from app.billing import entitled
from app.customers import balance
from app.customers.levels import discount_bp_for
from app.customers.models import Customer
from app.db import utcnow
from app.docking import acg_wire
from app.extensions import db
from app.orders.models import Order
from app.storefront.catalog import stock_counts_snapshot, store_catalog
from app.web.urls import tenant_url
from tenants.context import TenantRef

SCOPE = "acg_faka"
PLENTY = 9999  # what goods without a count (supplied on demand, manual) show as stock
CREATED = "2026-01-01 00:00:00"
DELIVERED = ("delivered", "partially_refunded")
WAITING = ("paid", "fulfilling")
POLL_SECONDS = 0.25
GONE = ("cancelled", "expired", "failed", "refunded")


class AcgError(Exception):
    """Answered as `{"code":0,"msg":…}`."""

    def __init__(self, msg: str, *, outcome: str = "refused"):
        super().__init__(msg)
        self.msg = msg
        self.outcome = outcome


@dataclass
class Outcome:
    """What a call returns and what its log line records."""

    data: object
    msg: str | None = "success"
    request_no: str = ""
    order_no: str = ""
    replayed: bool = False


# -- who is calling --------------------------------------------------------------------------------


def authenticate(store: TenantRef, fields: dict, client_ip: str) -> Caller:
    """The caller of a signed acg request, or AcgError (outcome "denied")."""
    if not entitled(store, "api_access"):
        raise AcgError("该店铺未开通对接", outcome="denied")
    app_id = str(fields.get("app_id") or "").strip()
    key = find_key(app_id) if app_id else None
    if key is None or not key.is_active:
        raise AcgError("商户ID不存在", outcome="denied")
    secret = key_secret(store, key)
    posted_key = fields.get("app_key")
    if not acg_wire.verify(fields, secret) or (posted_key not in (None, "", secret)):
        raise AcgError("密钥错误", outcome="denied")
    if SCOPE not in (key.scopes or ()):
        raise AcgError("该密钥未开通异次元对接", outcome="denied")
    if not ip_allowed(key, client_ip):
        raise AcgError(f"IP {client_ip} 不在该密钥的白名单中", outcome="denied")
    customer = db.session.get(Customer, key.customer_id)
    if customer is None or not customer.can_sign_in:
        raise AcgError("You have been banned", outcome="denied")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        key.last_used_at = now
        db.session.commit()
    return Caller(key=key, customer=customer)


# -- the catalog as acg-faka shows it --------------------------------------------------------------


class Listing:
    """The store's catalog at the caller's prices, one acg commodity per SKU (code = SKU code)."""

    def __init__(self, store: TenantRef, customer: Customer):
        self.store = store
        self.view = store_catalog(store, discount_bp_for(customer.id))
        self.counts = stock_counts_snapshot()

    @property
    def products(self) -> list[dict]:
        """Every product the store shows, priced for the caller (for `items`)."""
        return [
            found
            for card in self.view.products()
            if (found := self.view.product(card["id"])) is not None
        ]

    def _priced(self, product_id: int, sku_id: int) -> tuple[dict, dict] | None:
        """One product priced for the caller (not the whole catalog), if the store shows it."""
        product = self.view.product(product_id)
        sku = next((s for s in (product or {}).get("skus", []) if s["id"] == sku_id), None)
        return (product, sku) if sku is not None else None

    def find(self, code: str) -> tuple[dict, dict] | None:
        """The SKU with this code (or, failing that, this id) and its product."""
        code = (code or "").strip()
        if not code:
            return None
        for product in self.view.base["products"]:
            for sku in product["skus"]:
                if sku["code"] == code:
                    return self._priced(product["id"], sku["id"])
        return self.by_id(int(code)) if code.isdecimal() else None

    def by_id(self, sku_id: int) -> tuple[dict, dict] | None:
        for product in self.view.base["products"]:
            for sku in product["skus"]:
                if sku["id"] == sku_id:
                    return self._priced(product["id"], sku_id)
        return None

    def stock(self, product: dict, sku: dict) -> int:
        if sku["stock"] == "sold_out":
            return 0
        if product["delivery_type"] == "card_key":
            return int(self.counts.get(str(sku["id"]), 0))
        return PLENTY

    def commodity(self, product: dict, sku: dict) -> dict:
        """A commodity row as acg-faka's `items` lists it."""
        price = acg_wire.yuan(sku["price_cents"])
        title = product["title"]
        name = title if len(product["skus"]) == 1 else f"{title} / {sku['name']}"
        return {
            "id": sku["id"],
            "category_id": product["category_id"],
            "name": name[:255],
            "description": product["description_html"] or "",
            "cover": self._cover(product),
            "factory_price": price,
            "price": price,
            "user_price": price,
            "status": 1,
            "owner": 0,
            "create_time": CREATED,
            "api_status": 1,
            "code": sku["code"],
            "delivery_way": 0 if product["delivery_type"] == "card_key" else 1,
            "delivery_auto_mode": 0,
            "contact_type": 0,
            "password_status": 0,
            "sort": 0,
            "coupon": 0,
            "shared_id": None,
            "shared_code": "",
            "shared_premium": "0.00",
            "shared_premium_type": 0,
            "shared_sync": 0,
            "stock": self.stock(product, sku),
            "seckill_status": 0,
            "seckill_start_time": None,
            "seckill_end_time": None,
            "draft_status": 0,
            "draft_premium": "0.00",
            "inventory_hidden": 0,
            "send_email": 0,
            "only_user": 0,
            "purchase_count": 0,
            "widget": json.dumps(widgets(product), ensure_ascii=False),
            "tags": None,
            "level_price": None,
            "level_disable": 0,
            "minimum": sku["min_quantity"],
            "maximum": sku["max_quantity"],
            "config": "",
            "hide": 0,
        }

    def item(self, product: dict, sku: dict) -> dict:
        """One commodity as acg-faka's `item` (Shop::getItem) shows it: widget and config
        decoded, the owner as an object."""
        row = self.commodity(product, sku)
        row.update(
            widget=widgets(product),
            config={},
            owner={"id": 0, "username": self.store.name, "avatar": ""},
            tags=[],
            order_sold=0,
            service_url="",
            service_qq="",
            share_url=tenant_url(self.store, f"/p/{product['id']}"),
            login=False,
            trade_captcha=0,
        )
        return row

    def tree(self, only: tuple[dict, dict] | None = None) -> list[dict]:
        """Categories (with parents' ids as `pid`) and their commodities, as `items` answers."""
        names = {c["id"]: c for c in self.view.base["categories"]}
        groups: dict[int, list[dict]] = {}
        for product in self.products:
            for sku in product["skus"]:
                if only is None or only[1]["id"] == sku["id"]:
                    groups.setdefault(product["category_id"], []).append(
                        self.commodity(product, sku)
                    )
        categories = []
        for category_id, children in groups.items():
            category = names.get(category_id, {"name": "", "icon": "", "parent_id": None})
            categories.append(
                {
                    "id": category_id,
                    "name": category["name"],
                    "sort": 0,
                    "create_time": CREATED,
                    "owner": 0,
                    "icon": category.get("icon") or "",
                    "status": 1,
                    "hide": 0,
                    "user_level_config": None,
                    "pid": category.get("parent_id") or 0,
                    "children": children,
                }
            )
        return categories

    def _cover(self, product: dict) -> str | None:
        if not product.get("image"):
            return None
        return tenant_url(self.store, f"/media/{product['image']}")


def widgets(product: dict) -> list[dict]:
    """Our account fields as acg-faka widgets. acg-faka checks `/regex/` unanchored, so ours (a
    full match) is anchored, with the delimiter escaped."""
    return [
        {
            "cn": field["label"],
            "name": field["name"],
            "placeholder": field.get("example", ""),
            "type": "text",
            "regex": "^(?:" + field["regex"].replace("/", "\\/") + ")$",
            "error": f"请检查{field['label']}",
            "dict": "",
        }
        for field in product.get("input_schema") or []
    ]


def _find(listing: Listing, code: str, *, empty: str) -> tuple[dict, dict]:
    if not (code or "").strip():
        raise AcgError(empty)
    found = listing.find(code)
    if found is None:
        raise AcgError("商品不存在")
    return found


def _no_race(race) -> None:
    """Our SKUs are commodities of their own: no races (商品类型) to choose."""
    if isinstance(race, str) and race.strip():
        raise AcgError(f"此商品类型不存在[{race.strip()}]")


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise AcgError("至少购买1个") from None
    if quantity < 1:
        raise AcgError("至少购买1个")
    return quantity


# -- the endpoints ---------------------------------------------------------------------------------


def connect(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    cents = balance.balance_cents(store.id, caller.customer.id, "CNY")
    return Outcome({"shopName": store.name, "balance": acg_wire.yuan(cents)})


def items(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    return Outcome(Listing(store, caller.customer).tree(), msg=None)


def item(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    listing = Listing(store, caller.customer)
    if str(fields.get("code") or "").strip():
        product, sku = _find(listing, fields["code"], empty="对接CODE不能为空")
        return Outcome(listing.item(product, sku), msg=None)
    # Older clients (acg-faka ≤ 3.4 "type 2") send sharedCode and read a one-item tree.
    found = _find(listing, str(fields.get("sharedCode") or ""), empty="对接CODE不能为空")
    return Outcome(listing.tree(only=found), msg=None)


def stock(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    listing = Listing(store, caller.customer)
    product, sku = _find(listing, str(fields.get("code") or ""), empty="对接CODE不能为空")
    _no_race(fields.get("race"))
    return Outcome({"stock": str(listing.stock(product, sku))}, msg=None)


def valuation(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    listing = Listing(store, caller.customer)
    found = listing.find(str(fields.get("code") or ""))
    if found is None:
        raise AcgError("商品不存在#0")
    _no_race(fields.get("race"))
    quantity = _quantity(fields.get("num", 1))
    return Outcome({"price": acg_wire.yuan(found[1]["price_cents"] * quantity)}, msg=None)


def inventory(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    listing = Listing(store, caller.customer)
    product, sku = _find(listing, str(fields.get("sharedCode") or ""), empty="商品代码不能为空")
    _no_race(fields.get("race"))
    price = acg_wire.yuan(sku["price_cents"])
    return Outcome(
        {
            "count": listing.stock(product, sku),
            "delivery_way": 0 if product["delivery_type"] == "card_key" else 1,
            "draft_status": 0,
            "price": price,
            "user_price": price,
            "config": "",
            "factory_price": price,
            "is_category": False,
        }
    )


def inventory_state(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    listing = Listing(store, caller.customer)
    product, sku = _find(listing, str(fields.get("shared_code") or ""), empty="商品代码不能为空")
    _no_race(fields.get("race"))
    if listing.stock(product, sku) < _quantity(fields.get("num", 1)):
        raise AcgError("库存不足")
    return Outcome([])


def draft(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    raise AcgError("该商品不支持预选")


def trade(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    """Buy, paid from the caller's balance; the cards come back in `secret` at once. The
    `request_no` is required: it is the order's reference, so the same one answers the order it
    placed (whatever became of it) and never buys twice."""
    request_no = str(fields.get("request_no") or "").strip()
    if not request_no:
        raise AcgError("request_no 不能为空（用于防止重复下单）")
    if not api.reference_is_wellformed(request_no):
        raise AcgError("request_no 只能由字母、数字和 -_.: 组成，最长64位")
    earlier = api.by_reference(caller.customer, request_no)
    if earlier is None:
        listing = Listing(store, caller.customer)
        product, sku = _find(listing, str(fields.get("shared_code") or ""), empty="商品不存在")
        _no_race(fields.get("race"))
        wanted = api.OrderRequest(
            sku_id=sku["id"],
            quantity=_quantity(fields.get("num")),
            account_fields={
                f["name"]: str(fields.get(f["name"]) or "").strip() for f in product["input_schema"]
            },
            reference=request_no,
        )
        if listing.stock(product, sku) < wanted.quantity:  # acg-faka's words for it
            raise AcgError("库存不足")
        try:
            with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
                order, new = api.place_order(store, caller.customer, wanted, client_ip=client_ip)
        except ApiProblem as problem:
            db.session.rollback()
            if problem.slug == "insufficient-balance":
                raise AcgError("余额不足") from None
            raise AcgError(_problem_text(problem)) from None
    else:
        order, new = earlier, False
    if new:
        order = _settled(order, current_app.config["DOCKING_TRADE_WAIT_SECONDS"])
    answer = _trade_answer(store, caller, order)
    return Outcome(answer, request_no=request_no, order_no=order.order_no, replayed=not new)


def _settled(order, seconds: float):
    """acg-faka sites store `secret` as the buyer's delivery and never ask again: give goods a
    supplier delivers (our direct top-ups, often an upstream's cards) a few seconds to arrive
    before answering. Manual items are not waited for."""
    waits = any(item.delivery_type == "direct_topup" for item in order.items)
    deadline = time.monotonic() + seconds
    order_no = order.order_no
    while waits and order.status in WAITING and time.monotonic() < deadline:
        db.session.rollback()  # end the read, to see what the fulfilment worker committed
        time.sleep(POLL_SECONDS)
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    return order


def _problem_text(problem: ApiProblem) -> str:
    errors = problem.extra.get("errors") or []
    return str(errors[0]["message"]) if errors else problem.detail


def _secret(store: TenantRef, caller: Caller, order) -> str:
    """The order's goods as acg-faka's `secret`: one card per line (number and password with a
    space between), then any text delivered; the placeholder while goods are still to come."""
    if order.status in GONE:
        return ""
    if order.status not in DELIVERED:
        return acg_wire.DEFAULT_PLACEHOLDER
    view = api.order_view(store, order, reveal_for=f"acg:{caller.key.key_id}")
    lines = []
    for line in view["items"]:
        for key in line.get("keys") or []:
            lines.append(" ".join(part for part in (key["card_no"], key["secret"]) if part))
        if line.get("delivery"):
            lines.append(line["delivery"])
    return "\n".join(lines)


def _trade_answer(store: TenantRef, caller: Caller, order) -> dict:
    listing = Listing(store, caller.customer)
    found = listing.by_id(order.items[0].sku_id) if order.items else None
    return {
        "url": None,
        "amount": acg_wire.yuan(order.total_cents),
        "tradeNo": order.order_no,
        "secret": _secret(store, caller, order),
        "leave_message": None,
        "stock": str(listing.stock(*found)) if found else "0",
    }


def query(store: TenantRef, caller: Caller, fields: dict, client_ip: str) -> Outcome:
    """An order of the caller's by our number (`tradeNo`), or — our addition — by its
    `request_no`. `status` 1: paid (the goods in `secret`, or the placeholder while they are
    still to come); 0: not paid, or given up (cancelled, failed, refunded) with no goods."""
    trade_no = str(fields.get("tradeNo") or "").strip()
    request_no = str(fields.get("request_no") or "").strip()
    order = None
    if trade_no:
        try:
            order = api.own_order(caller.customer, trade_no)
        except ApiProblem:
            order = None
    elif request_no:
        order = api.by_reference(caller.customer, request_no[:64])
    if order is None:
        raise AcgError("订单不存在")
    paid = order.status not in ("pending_payment", *GONE)
    given = (order.items[0].account_fields or {}) if order.items else {}
    return Outcome(
        {
            "secret": _secret(store, caller, order),
            "widget": {k: {"value": v, "cn": k} for k, v in given.items()} or None,
            "status": 1 if paid else 0,
            "kameng_status": order.status,
        },
        request_no=order.client_reference or "",
        order_no=order.order_no,
    )


ENDPOINTS = {
    "authentication/connect": connect,
    "commodity/items": items,
    "commodity/item": item,
    "commodity/stock": stock,
    "commodity/valuation": valuation,
    "commodity/inventory": inventory,
    "commodity/inventoryState": inventory_state,
    "commodity/trade": trade,
    "commodity/query": query,
    "commodity/draftCard": draft,
    "commodity/draft": draft,
}


# -- the log ---------------------------------------------------------------------------------------


def log_call(
    *,
    endpoint: str,
    key_id: str,
    customer_id: int | None,
    ip: str,
    outcome: str,
    message: str = "",
    request_no: str = "",
    order_no: str = "",
) -> None:
    """One line in the store's docking log, in its own transaction."""
    from app.docking.models import DockingCall

    db.session.add(
        DockingCall(
            protocol="acg_faka",
            endpoint=endpoint[:40],
            key_id=key_id[:40],
            customer_id=customer_id,
            ip=ip[:45],
            request_no=request_no[:64],
            order_no=order_no[:32],
            outcome=outcome,
            message=message[:200],
        )
    )
    db.session.commit()


def purge_log(days: int) -> int:
    """Forget calls older than `days` (periodic). Commits."""
    from sqlalchemy import delete

    from app.docking.models import DockingCall

    cutoff = utcnow() - timedelta(days=days)
    deleted = db.session.execute(delete(DockingCall).where(DockingCall.at < cutoff)).rowcount
    db.session.commit()
    return deleted or 0
