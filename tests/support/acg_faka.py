"""A fake acg-faka (异次元发卡 3.6) site: a real local HTTP server speaking its `/shared/...`
docking API as ../shared/protocols/acg-faka-docking.md describes it — form POSTs checked with
SharedValidation's MD5 signature, the `{"code":200,…}` / `{"code":0,"msg":…}` envelope, members
paying from their balance, `request_no` unique across the site ("The request ID already
exists"), cards delivered at once in `secret`, manual goods answering the placeholder.

Its own signature check is written here from the notes, independently of app.docking.acg_wire
(a bug shared by both would otherwise go unseen); the worked examples pin both."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl

from tests.support.gateways.local_server import LocalGateway

APP_ID = "1000"
APP_KEY = "3f9a6b2c8d1e4f70a5b6c7d8e9f01234"
PLACEHOLDER = "正在发货中，请耐心等待，如有疑问，请联系客服。"


def php_sign(fields: dict, key: str) -> str:
    """Str::generateSignature for flat and one-level nested fields (`sku[区服]`)."""
    nested: dict = {}
    for name, value in fields.items():
        if name == "sign":
            continue
        if "[" in name and name.endswith("]"):
            parent, child = name[:-1].split("[", 1)
            nested.setdefault(parent, {})[child] = value
        else:
            nested[name] = value
    parts = []
    for name in sorted(nested, key=lambda n: n.encode()):
        value = nested[name]
        if value == "":
            continue
        if isinstance(value, dict):
            parts += [f"{name}[{k}]={v}" for k, v in value.items()]
        else:
            parts.append(f"{name}={value}")
    text = "&".join(parts) + f"&key={key}"
    return hashlib.md5(text.encode()).hexdigest()


@dataclass
class Commodity:
    code: str
    name: str
    price: str  # guest price, yuan
    user_price: str  # member price
    cards: list[str] = field(default_factory=list)
    races: dict[str, str] = field(default_factory=dict)  # race → price
    delivery_way: int = 0  # 0 cards at once, 1 manual
    stock: int = 0  # manual goods' counter
    widget: list[dict] = field(default_factory=list)
    status: int = 1
    id: int = 0
    category: str = "游戏点卡"

    def unit_price(self, race: str) -> Decimal:
        return Decimal(self.races[race] if race else self.user_price)

    def available(self) -> int:
        return len(self.cards) if self.delivery_way == 0 else self.stock


@dataclass
class FakeOrder:
    trade_no: str
    request_no: str
    owner: str
    code: str
    num: int
    amount: Decimal
    secret: str
    status: int = 1


class FakeAcgFaka(LocalGateway):
    def __init__(self, balance: str = "100.00"):
        super().__init__()
        self.users = {APP_ID: {"key": APP_KEY, "balance": Decimal(balance)}}
        self.commodities: dict[str, Commodity] = {}
        self.orders: list[FakeOrder] = []
        self.calls: list[tuple[str, dict]] = []
        self.stall_next_trade = 0.0  # seconds: the next trade is done, its answer comes late
        self.down = False  # every request answers 502 (the site is down)
        self._ids = 0

    # -- set-up ------------------------------------------------------------------------------------

    def add(self, commodity: Commodity) -> Commodity:
        with self.lock:
            self._ids += 1
            commodity.id = self._ids
            self.commodities[commodity.code] = commodity
            return commodity

    def balance(self, app_id: str = APP_ID) -> Decimal:
        with self.lock:
            return self.users[app_id]["balance"]

    def trades(self) -> list[FakeOrder]:
        with self.lock:
            return list(self.orders)

    def deliver(self, trade_no: str, text: str) -> None:
        """The site's staff fill in a manual order."""
        with self.lock:
            next(o for o in self.orders if o.trade_no == trade_no).secret = text

    # -- the wire ----------------------------------------------------------------------------------

    def handle(self, method, path, query, headers, body):
        if self.down:
            return 502, {"Content-Type": "text/html"}, b"<h1>502 Bad Gateway</h1>"
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
        self.calls.append((path, dict(fields)))
        user = self.users.get(fields.get("app_id", ""))
        if user is None:
            return self._fail("商户ID不存在")
        if php_sign(fields, user["key"]) != fields.get("sign"):
            return self._fail("密钥错误")
        handler = {
            "/shared/authentication/connect": self._connect,
            "/shared/commodity/items": self._items,
            "/shared/commodity/stock": self._stock,
            "/shared/commodity/trade": self._trade,
            "/shared/commodity/query": self._query,
        }.get(path)
        if handler is None:
            return 404, {"Content-Type": "text/html"}, b"not found"
        return handler(fields, user)

    def _ok(self, data, msg="success"):
        body = {"code": 200, **({"msg": msg} if msg else {}), "data": data}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _fail(self, msg):
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"code": 0, "msg": msg}).encode(),
        )

    def _connect(self, fields, user):
        return self._ok({"shopName": "Fake 发卡", "balance": f"{user['balance']:.2f}"})

    def _row(self, c: Commodity) -> dict:
        config = ""
        if c.races:
            config = "[category]\n" + "\n".join(f"{r}={p}" for r, p in c.races.items())
            config += "\n[category_factory]\n" + "\n".join(f"{r}={p}" for r, p in c.races.items())
        return {
            "id": c.id, "category_id": 1, "name": c.name, "description": f"<p>{c.name}</p>",
            "cover": None, "factory_price": 0 if c.races else c.user_price, "price": c.price,
            "user_price": c.user_price, "status": c.status, "owner": 0, "api_status": 1,
            "code": c.code, "delivery_way": c.delivery_way, "contact_type": 0,
            "password_status": 0, "stock": c.available(), "widget": json.dumps(c.widget),
            "minimum": 0, "maximum": 0, "config": config, "hide": 0, "level_price": None,
        }  # fmt: skip

    def _items(self, fields, user):
        groups: dict[str, list] = {}
        for c in self.commodities.values():
            if c.status == 1:
                groups.setdefault(c.category, []).append(self._row(c))
        tree = [
            {"id": i, "name": name, "status": 1, "pid": 0, "children": children}
            for i, (name, children) in enumerate(groups.items(), 1)
        ]
        return self._ok(tree, msg=None)

    def _stock(self, fields, user):
        c = self.commodities.get(fields.get("code", ""))
        if c is None:
            return self._fail("商品不存在")
        return self._ok({"stock": str(c.available())}, msg=None)

    def _trade(self, fields, user):
        c = self.commodities.get(fields.get("shared_code", ""))
        if c is None:
            return self._fail("商品不存在")
        if c.status != 1:
            return self._fail("当前商品已停售")
        num = int(fields.get("num") or 0)
        if num <= 0:
            return self._fail("至少购买1个")
        race = fields.get("race", "")
        if c.races and race not in c.races:
            return self._fail("请选择商品类型" if not race else f"此商品类型不存在[{race}]")
        for widget in c.widget:
            if not fields.get(widget["name"]):
                return self._fail(widget.get("error") or "请填写")
        if c.available() < num:
            return self._fail("库存不足")
        request_no = fields.get("request_no", "")
        if request_no and any(o.request_no == request_no for o in self.orders):
            return self._fail("The request ID already exists")
        amount = c.unit_price(race) * num
        if user["balance"] < amount:
            return self._fail("余额不足")
        user["balance"] -= amount
        if c.delivery_way == 0:
            secret = "\n".join(c.cards[:num])
            del c.cards[:num]
        else:
            c.stock -= num
            secret = PLACEHOLDER
        order = FakeOrder(
            trade_no=f"{time.strftime('%y%m%d%H%M%S')}{len(self.orders) + 1:05d}",
            request_no=request_no, owner=fields["app_id"], code=c.code, num=num,
            amount=amount, secret=secret,
        )  # fmt: skip
        self.orders.append(order)
        if self.stall_next_trade:
            stall, self.stall_next_trade = self.stall_next_trade, 0.0
            self.lock.release()  # done and committed; only the answer is late
            try:
                time.sleep(stall)
            finally:
                self.lock.acquire()
        return self._ok(
            {"url": None, "amount": f"{amount:.2f}", "tradeNo": order.trade_no,
             "secret": secret, "leave_message": None, "stock": str(c.available())}
        )  # fmt: skip

    def _query(self, fields, user):
        order = next(
            (o for o in self.orders
             if o.trade_no == fields.get("tradeNo") and o.owner == fields["app_id"]), None,
        )  # fmt: skip
        if order is None:
            return self._fail("订单不存在")
        return self._ok({"secret": order.secret, "widget": None, "status": order.status})
