"""Supplier connectors against suppliers on real sockets: the simulator (spoken by its own
connector and by generic_http configured for it) and a second supplier with other names and
HMAC signing that only generic_http's settings dock. No app, no database: connectors alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import pytest

from app.suppliers.connectors import connector_class
from app.suppliers.connectors.base import (
    FAILED,
    NOT_FOUND,
    PROCESSING,
    SUCCESS,
    CallbackRequest,
    PlaceRequest,
    SupplierRejected,
    SupplierTransportError,
)
from app.suppliers.connectors.generic_http import GenericHttpConnector, md5_sorted_sign
from app.suppliers.connectors.simulator import SimulatorConnector
from tests.support.gateways.local_server import LocalGateway
from workers.simulator import Simulator

KEY = "sim-key-7f3a9c"
TIMEOUT = 0.4  # seconds; the simulator's stall is longer, so a stalled answer is lost


@pytest.fixture
def simulator():
    with Simulator(key=KEY, latency_ms=2, stall_seconds=1.5) as running:
        yield running
        running.wait_idle(2)


def simulator_settings_for_generic(simulator: Simulator, body_format: str) -> dict[str, str]:
    """generic_http told, field by field, how the simulator's API looks."""
    return {
        "base_url": simulator.url,
        "place_path": "/api/order",
        "query_path": "/api/query",
        "balance_path": "/api/balance",
        "method": "POST",
        "body_format": body_format,
        "signing": "md5_sorted_key",
        "md5_key_style": "and_key",
        "sign_case": "lower",
        "sign_field": "sign",
        "key": KEY,
        "param_names": json.dumps(
            {
                "reference": "reference",
                "sku": "sku",
                "quantity": "quantity",
                "account": "account",
                "face_value": "face_value",
                "callback": "callback_url",
                "timestamp": "timestamp",
            }
        ),
        "response_fields": json.dumps(
            {
                "status": "status",
                "order_id": "order_id",
                "message": "message",
                "reference": "reference",
                "balance": "balance",
                "delivered_quantity": "delivered_quantity",
            }
        ),
        "status_map": json.dumps({s: s for s in ("success", "processing", "failed", "not_found")}),
        "money_unit": "cents",
        "callback_reply": "success",
    }


@pytest.fixture(params=["simulator", "generic_http_form", "generic_http_json"])
def connector(request, simulator):
    if request.param == "simulator":
        return SimulatorConnector({"base_url": simulator.url, "key": KEY}, timeout=TIMEOUT)
    body_format = request.param.rpartition("_")[2]
    settings = simulator_settings_for_generic(simulator, body_format)
    return GenericHttpConnector(settings, timeout=TIMEOUT)


class CallbackRoute(LocalGateway):
    """Our callback route in miniature: verify with the connector, answer its callback_reply."""

    def __init__(self, connector):
        super().__init__()
        self.connector = connector
        self.accepted = []
        self.arrived = threading.Event()

    def handle(self, method, path, query, headers, body):
        request = CallbackRequest(
            method=method,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            params=dict(parse_qsl(body.decode(), keep_blank_values=True)),
        )
        try:
            self.accepted.append((request, self.connector.verify_callback(request)))
        except SupplierRejected:
            return 400, {"Content-Type": "text/plain"}, b"fail"
        finally:
            self.arrived.set()
        reply, status, content_type = self.connector.callback_reply
        return status, {"Content-Type": content_type}, reply.encode()


def order(reference, sku="CM10", quantity=1, callback_url=""):
    return PlaceRequest(
        reference=reference,
        supplier_sku_code=sku,
        quantity=quantity,
        account_fields={"account": "13800138000"},
        face_value_cents=1000 * quantity,
        callback_url=callback_url,
    )


# -- the same behaviours through every connector that speaks the simulator's API --------------


def test_a_placed_order_succeeds_and_is_paid_from_the_balance(connector, simulator):
    before = connector.balance()
    result = connector.place(order("K-1001"))
    assert result.state == SUCCESS
    assert result.supplier_order_id == simulator.order("K-1001").order_id
    assert result.delivered_quantity == 1
    assert simulator.order("K-1001").account == "13800138000"
    assert connector.balance() == before - 985 == simulator.balance_cents


def test_the_exchange_is_logged_without_the_key_or_the_signature(connector):
    result = connector.place(order("K-1002"))
    assert "reference=K-1002" in result.request_log and '"status": "success"' in result.response_log
    for log in (result.request_log, result.response_log):
        assert KEY not in log and "sign=" not in log


def test_a_reference_placed_twice_is_bought_once(connector, simulator):
    first = connector.place(order("K-1003"))
    again = connector.place(order("K-1003"))
    assert again.supplier_order_id == first.supplier_order_id
    assert simulator.received_count("K-1003") == 2
    assert simulator.placed_count("K-1003") == 1


def test_concurrent_repeats_of_one_reference_still_buy_once(connector, simulator):
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda _: connector.place(order("K-1004")), range(64)))
    assert {r.supplier_order_id for r in results} == {simulator.order("K-1004").order_id}
    assert simulator.received_count("K-1004") == 64
    assert simulator.placed_count("K-1004") == 1


def test_a_lost_answer_is_unknown_and_the_query_finds_the_order(connector, simulator):
    simulator.configure(timeout_rate=1.0)
    started = time.monotonic()
    with pytest.raises(SupplierTransportError, match="outcome unknown"):
        connector.place(order("K-1005"))
    assert time.monotonic() - started < 1.0  # gave up after its own timeout
    simulator.configure(timeout_rate=0.0)
    found = connector.query("K-1005")
    assert found.state == SUCCESS
    assert found.supplier_order_id == simulator.order("K-1005").order_id
    assert simulator.placed_count("K-1005") == 1


@pytest.mark.parametrize("fault", ["http_500", "garbled"])
def test_a_broken_answer_is_a_transport_error(connector, simulator, fault):
    simulator.configure(fault=fault)
    with pytest.raises(SupplierTransportError):
        connector.place(order("K-1006"))
    with pytest.raises(SupplierTransportError):
        connector.query("K-1006")
    with pytest.raises(SupplierTransportError):
        connector.balance()
    assert simulator.placed_count("K-1006") == 0


def test_an_unreachable_supplier_is_a_transport_error(connector, simulator):
    simulator.stop()
    with pytest.raises(SupplierTransportError):
        connector.place(order("K-1007"))


def test_an_unknown_reference_is_not_found(connector):
    assert connector.query("K-never-placed").state == NOT_FOUND


def test_a_failing_product_fails_with_the_suppliers_reason(connector, simulator):
    result = connector.place(order("K-1008", sku="FAIL10"))
    assert result.state == FAILED
    assert result.message == "该商品维护中，下单失败"
    assert connector.query("K-1008").state == FAILED


def test_a_failure_rate_fails_orders_without_charging(connector, simulator):
    simulator.configure(failure_rate=1.0)
    before = simulator.balance_cents
    result = connector.place(order("K-1009"))
    assert result.state == FAILED and result.message
    assert simulator.balance_cents == before


def test_a_partial_delivery_reports_how_many_arrived(connector, simulator):
    simulator.configure(partial=True)
    result = connector.place(order("K-1010", quantity=4))
    assert result.state == SUCCESS
    assert result.delivered_quantity == 2
    assert connector.query("K-1010").delivered_quantity == 2


def test_a_processing_order_is_settled_by_a_verified_callback(connector, simulator):
    simulator.configure(processing_rate=1.0, callback_delay_ms=30)
    with CallbackRoute(connector) as route:
        placed = connector.place(order("K-1011", callback_url=f"{route.url}/callback"))
        assert placed.state == PROCESSING
        assert route.arrived.wait(3)
        assert simulator.wait_idle(3)
    ((request, result),) = route.accepted
    assert (result.reference, result.state) == ("K-1011", SUCCESS)
    assert result.supplier_order_id == placed.supplier_order_id
    assert simulator.order("K-1011").callbacks[-1]["reply"] == "success"  # it stops retrying
    assert connector.query("K-1011").state == SUCCESS

    forged = dict(request.params, status="failed")  # the same signature over other words
    with pytest.raises(SupplierRejected):
        connector.verify_callback(CallbackRequest("POST", {}, b"", forged))
    unsigned = {k: v for k, v in request.params.items() if k != "sign"}
    wrong_key = dict(unsigned, sign=md5_sorted_sign(unsigned, "not-the-key"))
    with pytest.raises(SupplierRejected):
        connector.verify_callback(CallbackRequest("POST", {}, b"", wrong_key))


# -- the simulator connector alone ----------------------------------------------------------------


def test_the_simulator_connector_reads_the_catalog(simulator):
    connector = SimulatorConnector({"base_url": simulator.url, "key": KEY})
    entries = {e.supplier_sku_code: e for e in connector.catalog()}
    assert entries["CM10"].cost_cents == 985 and entries["CM10"].in_stock


def test_an_order_signed_with_the_wrong_key_is_refused_and_never_bought(simulator):
    connector = SimulatorConnector({"base_url": simulator.url, "key": "wrong"})
    result = connector.place(order("K-2001"))
    assert result.state == FAILED and "签名错误" in result.message
    assert simulator.placed_count("K-2001") == 0
    with pytest.raises(SupplierTransportError):
        connector.query("K-2001")  # a refused query says nothing about the order


def test_connectors_are_found_by_kind():
    assert connector_class("simulator") is SimulatorConnector
    assert connector_class("generic_http") is GenericHttpConnector


# -- generic_http: settings ----------------------------------------------------------------------


def test_generic_settings_that_cannot_work_name_each_field():
    with pytest.raises(ValueError) as refused:
        GenericHttpConnector(
            {
                "base_url": "ftp://supplier.example",
                "key": "k",
                "signing": "rsa",
                "param_names": '{"reference": ',
                "status_map": '{"1": "done"}',
            }
        )
    message = str(refused.value)
    for field in ("base_url", "signing", "param_names", "status_map"):
        assert field in message
    assert refused.value.errors["signing"].startswith("unknown 'rsa'")


def test_generic_settings_need_a_key_and_fill_in_defaults():
    with pytest.raises(ValueError, match="key: required"):
        GenericHttpConnector({"base_url": "https://supplier.example"})
    api = GenericHttpConnector({"base_url": "https://supplier.example/", "key": "k"}).api
    assert api.url(api.place_path) == "https://supplier.example/api/order"
    assert (api.method, api.signing, api.param_names["callback"]) == (
        "POST",
        "md5_sorted_key",
        "callback_url",
    )


def test_md5_signing_styles():
    params = {"b": "2", "a": "1", "empty": "", "sign": "x"}
    assert md5_sorted_sign(params, "K") == hashlib.md5(b"a=1&b=2&key=K").hexdigest()
    assert (
        md5_sorted_sign(params, "K", key_style="append", uppercase=True)
        == hashlib.md5(b"a=1&b=2K").hexdigest().upper()
    )


def test_a_status_nobody_mapped_is_unknown_not_failed(simulator):
    settings = simulator_settings_for_generic(simulator, "form")
    settings["status_map"] = json.dumps({"success": "success", "not_found": "not_found"})
    connector = GenericHttpConnector(settings, timeout=TIMEOUT)
    with pytest.raises(SupplierTransportError, match="'failed' is not in the status mapping"):
        connector.place(order("K-3001", sku="FAIL10"))


def test_a_refusal_without_a_status_is_unknown_not_failed(simulator):
    settings = dict(simulator_settings_for_generic(simulator, "form"), key="wrong")
    with pytest.raises(SupplierTransportError, match="签名错误"):
        GenericHttpConnector(settings).place(order("K-3002"))
    assert simulator.placed_count("K-3002") == 0


# -- generic_http: a supplier with other names, JSON, HMAC over timestamp + body, yuan -------------

ACME_KEY = "acme-0b6f2e9d41"
ACME_APP_ID = "A1001"
ACME_STATES = {"success": 1, "processing": 0, "failed": -1}


def acme_signature(stamp: str, body: bytes) -> str:
    return hmac.new(ACME_KEY.encode(), stamp.encode() + body, hashlib.sha256).hexdigest().upper()


class FakeAcme(LocalGateway):
    """POST JSON to /v2/recharge, /v2/order/query, /v2/account/balance; headers X-Acme-Timestamp
    and X-Acme-Signature (HMAC-SHA256, uppercase hex); answers {errCode, errMsg, data}; state 1
    success, 0 processing, -1 failed, 9 no such order; amounts in yuan."""

    def __init__(self):
        super().__init__()
        self.orders: dict[str, dict] = {}
        self.bought = 0
        self.next_state = 1
        self.answer_state: int | None = None  # answer this state whatever the order's

    def _json(self, document):
        return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()

    def handle(self, method, path, query, headers, body):
        stamp = headers.get("X-Acme-Timestamp", "")
        if headers.get("X-Acme-Signature") != acme_signature(stamp, body):
            return self._json({"errCode": 40001, "errMsg": "signature mismatch"})
        request = json.loads(body)
        if request.get("appId") != ACME_APP_ID:
            return self._json({"errCode": 40003, "errMsg": "unknown appId"})
        if path == "/v2/account/balance":
            return self._json({"errCode": 0, "data": {"balance": "1234.56"}})
        reference = request["outTradeNo"]
        if path == "/v2/recharge":
            if reference not in self.orders:
                self.bought += 1
                self.orders[reference] = {
                    "orderNo": f"AC{self.bought:04d}",
                    "state": self.next_state,
                    "request": request,
                }
        elif path != "/v2/order/query":
            return 404, {}, b""
        found = self.orders.get(reference)
        state = found["state"] if found else 9
        return self._json(
            {
                "errCode": 0,
                "data": {
                    "outTradeNo": reference,
                    "orderNo": found["orderNo"] if found else "",
                    "state": self.answer_state if self.answer_state is not None else state,
                    "remark": "ok" if found else "order not exist",
                },
            }
        )

    def notification(self, reference: str, state: int, *, stamp: str = "") -> CallbackRequest:
        """The callback Acme POSTs: flat JSON, signed like its requests (timestamp in ms)."""
        body = json.dumps(
            {
                "outTradeNo": reference,
                "orderNo": self.orders[reference]["orderNo"],
                "state": state,
                "remark": "charged",
            }
        ).encode()
        stamp = stamp or str(int(time.time() * 1000))
        headers = {
            "content-type": "application/json",
            "x-acme-timestamp": stamp,
            "x-acme-signature": acme_signature(stamp, body),
        }
        return CallbackRequest("POST", headers, body)


@pytest.fixture
def acme():
    with FakeAcme() as running:
        yield running


@pytest.fixture
def acme_connector(acme):
    settings = {
        "base_url": acme.url,
        "place_path": "/v2/recharge",
        "query_path": "/v2/order/query",
        "balance_path": "/v2/account/balance",
        "method": "POST",
        "body_format": "json",
        "signing": "hmac_sha256_timestamp",
        "sign_case": "upper",
        "sign_field": "X-Acme-Signature",
        "timestamp_header": "X-Acme-Timestamp",
        "key": ACME_KEY,
        "param_names": json.dumps(
            {
                "reference": "outTradeNo",
                "sku": "goodsId",
                "quantity": "num",
                "account": "rechargeAccount",
                "face_value": "faceValue",
                "callback": "notifyUrl",
                "timestamp": "",
                "zone": "gameZone",
            }
        ),
        "extra_params": json.dumps({"appId": ACME_APP_ID}),
        "response_fields": json.dumps(
            {
                "status": "data.state",
                "order_id": "data.orderNo",
                "message": "data.remark",
                "reference": "data.outTradeNo",
                "balance": "data.balance",
                "delivered_quantity": "",
            }
        ),
        "callback_fields": json.dumps(
            {
                "status": "state",
                "order_id": "orderNo",
                "message": "remark",
                "reference": "outTradeNo",
            }
        ),
        "status_map": json.dumps(
            {"1": "success", "0": "processing", "-1": "failed", "9": "not_found"}
        ),
        "money_unit": "yuan",
        "callback_reply": "ok",
    }
    return GenericHttpConnector(settings, timeout=TIMEOUT)


def test_generic_docks_a_supplier_with_its_own_names_and_signing(acme, acme_connector):
    request = PlaceRequest(
        reference="K-4001",
        supplier_sku_code="G-100",
        quantity=2,
        account_fields={"account": "player-9", "zone": "east-3", "note": "vip"},
        face_value_cents=1050,
        callback_url="https://kameng.test/callbacks/supplier/7",
    )
    result = acme_connector.place(request)
    assert (result.state, result.supplier_order_id, result.message) == (SUCCESS, "AC0001", "ok")
    assert acme.orders["K-4001"]["request"] == {
        "appId": ACME_APP_ID,
        "outTradeNo": "K-4001",
        "goodsId": "G-100",
        "num": "2",
        "rechargeAccount": "player-9",
        "gameZone": "east-3",
        "note": "vip",
        "faceValue": "10.50",
        "notifyUrl": "https://kameng.test/callbacks/supplier/7",
    }
    assert ACME_KEY not in result.request_log and "X-Acme-Signature" not in result.request_log
    again = acme_connector.place(request)
    assert again.supplier_order_id == "AC0001" and acme.bought == 1
    assert acme_connector.query("K-4001").state == SUCCESS
    assert acme_connector.query("K-unknown").state == NOT_FOUND
    assert acme_connector.balance() == 123456


def test_generic_maps_the_suppliers_own_status_codes(acme, acme_connector):
    acme.next_state = ACME_STATES["processing"]
    assert acme_connector.place(order("K-4002")).state == PROCESSING
    acme.next_state = ACME_STATES["failed"]
    assert acme_connector.place(order("K-4003")).state == FAILED
    acme.answer_state = 7  # a code nobody mapped: the order may or may not exist
    with pytest.raises(SupplierTransportError, match="'7'"):
        acme_connector.query("K-4002")


def test_generic_verifies_hmac_callbacks_and_refuses_forgeries_and_replays(acme, acme_connector):
    acme.next_state = ACME_STATES["processing"]
    acme_connector.place(order("K-4004"))
    assert acme_connector.callback_reply == ("ok", 200, "text/plain")

    genuine = acme.notification("K-4004", ACME_STATES["success"])
    result = acme_connector.verify_callback(genuine)
    assert (result.reference, result.state, result.supplier_order_id) == (
        "K-4004",
        SUCCESS,
        "AC0001",
    )

    tampered = genuine.body.replace(b'"state": 1', b'"state": -1')
    with pytest.raises(SupplierRejected, match="bad signature"):
        acme_connector.verify_callback(CallbackRequest("POST", genuine.headers, tampered))
    old = str(int((time.time() - 3600) * 1000))
    with pytest.raises(SupplierRejected, match="stale"):
        acme_connector.verify_callback(acme.notification("K-4004", 1, stamp=old))
