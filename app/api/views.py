"""`/api/v1` on a store's host: signed JSON requests of the store's customers (B2B buyers).

Thin: each view authenticates (before_request), checks the key's scope, calls app.api.services
and answers JSON; every error is `application/problem+json`."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, g, render_template, request
from werkzeug.exceptions import HTTPException

from app.api import idempotency, services
from app.api.auth import SignedRequest, authenticate
from app.api.openapi import document
from app.api.problems import ApiProblem
from app.extensions import csrf
from app.i18n import translate
from app.net import client_ip
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from app.webhooks import services as webhooks
from tenants.context import current_tenant

bp = SiteBlueprint("api", __name__, site="store", url_prefix="/api/v1")
csrf.exempt(bp)

PUBLIC_ENDPOINTS = frozenset(("api.openapi", "api.docs"))
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_BODY_BYTES = 512 * 1024  # a batch of up to BATCH_MAX_ROWS rows


def _limit_key() -> str:
    """Per key id as claimed in the header (checked later), else per address."""
    return request.headers.get("X-Kameng-Key", "")[:40] or f"ip:{client_ip()}"


ratelimits.shared("api", key=_limit_key)(bp)
ratelimits.shared("api_ip", key=client_ip)(bp)


def _store():
    return current_tenant._get_current_object()


def _json(data, status: int = 200) -> Response:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status=status, content_type="application/json")


@bp.before_request
def authenticate_caller():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    limit = MAX_BATCH_BODY_BYTES if request.endpoint == "api.create_batch" else MAX_BODY_BYTES
    if (request.content_length or 0) > limit:
        raise ApiProblem("payload-too-large", f"Keep the body under {limit} bytes.")
    signed = SignedRequest(
        method=request.method,
        path=_path_as_sent(),
        query=request.query_string.decode("latin-1"),
        headers=request.headers,
        body=request.get_data(cache=True),
        client_ip=client_ip(),
    )
    g.api_caller = authenticate(_store(), signed)
    return None


def _path_as_sent() -> str:
    """The path exactly as the client sent it (percent-encoding included): what it signed."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(request.path, safe="/-_.~!$&'()*+,;=:@")


def _caller(scope: str):
    caller = g.api_caller
    caller.require(scope)
    return caller


def _body() -> dict:
    if request.mimetype != "application/json":
        raise ApiProblem("unsupported-media-type")
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        raise ApiProblem("invalid-request", "The body is not valid JSON.") from None


@bp.errorhandler(ApiProblem)
def problem(error: ApiProblem):
    return error.response()


def http_problem(error: HTTPException) -> Response:
    """Any HTTP error under /api/ (unknown path, wrong method, too large, rate limit) as a
    problem."""
    if error.code == 429:
        found = ApiProblem(
            "rate-limited",
            translate(ratelimits.TOO_MANY),
            retry_after=ratelimits.retry_after_seconds(),
        )
    elif error.code == 404:
        found = ApiProblem("not-found")
    elif error.code == 405:
        found = ApiProblem("method-not-allowed")
    elif error.code == 413:
        found = ApiProblem("payload-too-large")
    else:
        found = ApiProblem("internal-error") if (error.code or 500) >= 500 else None
    if found is None:
        return error
    response = found.response()
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


# -- the document and its page ---------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    return _json(document(request.host_url.rstrip("/")))


@bp.get("/docs")
def docs():
    spec = document(request.host_url.rstrip("/"))
    return render_template("api/docs.html", spec=spec, store=_store())


# -- catalog and balance ---------------------------------------------------------------------------


@bp.get("/products")
def products():
    caller = _caller("read")
    return _json({"products": services.products(_store(), caller.customer)})


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    caller = _caller("read")
    return _json(services.product(_store(), caller.customer, product_id))


@bp.get("/balance")
def balance():
    caller = _caller("read")
    return _json(services.balance_view(_store(), caller.customer))


# -- orders ----------------------------------------------------------------------------------------


def _order_response(order, status: int = 200) -> Response:
    caller = g.api_caller
    view = services.order_view(_store(), order, reveal_for=f"api:{caller.key.key_id}")
    return _json(view, status)


@bp.post("/orders")
def create_order():
    caller = _caller("order")
    return _idempotent(caller, lambda: _place(caller))


def _idempotent(caller, answer) -> Response:
    """`answer()` once per Idempotency-Key (when the request sends one): the same key with the
    same request replays the first response; with another request, 409."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return answer()
    fingerprint = idempotency.request_hash(
        request.method, request.path, request.get_data(cache=True)
    )
    claimed = idempotency.claim(caller.key.id, key, fingerprint)
    if isinstance(claimed, idempotency.Replay):
        response = Response(claimed.body, status=claimed.status)
        response.content_type = (
            "application/json" if claimed.status < 400 else "application/problem+json"
        )
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        response = answer()
    except ApiProblem as error:
        response = error.response()
    except Exception:
        idempotency.answer(claimed, 500, json.dumps(ApiProblem("internal-error").body()).encode())
        raise
    idempotency.answer(claimed, response.status_code, response.get_data())
    return response


def _place(caller) -> Response:
    wanted = services.parse_order_request(_body())
    order, new = services.place_order(_store(), caller.customer, wanted, client_ip=client_ip())
    return _order_response(order, 201 if new else 200)


@bp.get("/orders")
def orders():
    caller = _caller("read")
    try:
        limit = int(request.args.get("limit", services.DEFAULT_PAGE))
    except ValueError:
        limit = 0
    if not 1 <= limit <= services.MAX_PAGE:
        raise ApiProblem(
            "invalid-request",
            f"limit must be from 1 to {services.MAX_PAGE}.",
            errors=[{"field": "limit", "message": "out of range"}],
        )
    page = services.list_orders(
        caller.customer,
        cursor=request.args.get("cursor", ""),
        limit=limit,
        reference=request.args.get("reference", ""),
    )
    store = _store()
    return _json(
        {
            "orders": [services.order_view(store, order) for order in page["orders"]],
            "next_cursor": page["next_cursor"],
        }
    )


@bp.get("/orders/<order_no>")
def order(order_no: str):
    caller = _caller("read")
    return _order_response(services.own_order(caller.customer, order_no))


@bp.post("/orders/<order_no>/cancel")
def cancel(order_no: str):
    caller = _caller("order")
    return _order_response(services.cancel_unpaid(_store(), caller.customer, order_no))


# -- batches --------------------------------------------------------------------------------------


@bp.post("/batches")
def create_batch():
    caller = _caller("order")
    return _idempotent(caller, lambda: _submit_batch(caller))


def _submit_batch(caller) -> Response:
    from app.batches.services import max_rows

    rows, skip_invalid = services.parse_batch_request(_body(), max_rows())
    store = _store()
    batch = services.submit_batch(
        store, caller, rows, skip_invalid=skip_invalid, client_ip=client_ip()
    )
    response = _json(services.batch_view(store, batch), 202)
    response.headers["Location"] = f"/api/v1/batches/{batch.batch_no}"
    return response


@bp.get("/batches/<batch_no>")
def batch(batch_no: str):
    caller = _caller("read")
    return _json(services.batch_view(_store(), services.own_batch(caller.customer, batch_no)))


# -- the customer's webhook ------------------------------------------------------------------------


def _webhook_view(endpoint, secret: str | None = None) -> dict:
    view = {
        "url": endpoint.url,
        "events": list(endpoint.events or []),
        "active": endpoint.is_active,
    }
    if secret:
        view["secret"] = secret
    return view


@bp.get("/webhook")
def webhook():
    caller = _caller("read")
    endpoint = webhooks.customer_endpoint(caller.customer.id)
    if endpoint is None:
        raise ApiProblem("not-found", "No webhook is set.")
    return _json(_webhook_view(endpoint))


@bp.put("/webhook")
def set_webhook():
    caller = _caller("order")
    body = _body()
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise ApiProblem(
            "invalid-request",
            "Send {url, events}.",
            errors=[{"field": "url", "message": "required"}],
        )
    events = body.get("events", list(webhooks.EVENT_TYPES))
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ApiProblem(
            "invalid-request",
            "events must be a list of event types.",
            errors=[{"field": "events", "message": "a list of strings"}],
        )
    try:
        endpoint, secret = webhooks.set_customer_endpoint(
            _store(), caller.customer.id, url=body["url"], events=events
        )
    except webhooks.WebhookError as error:
        detail = translate(error.message, **error.params)
        raise ApiProblem(
            "invalid-request", detail, errors=[{"field": error.field, "message": detail}]
        ) from None
    return _json(_webhook_view(endpoint, secret), 201 if secret else 200)


@bp.delete("/webhook")
def delete_webhook():
    caller = _caller("order")
    endpoint = webhooks.customer_endpoint(caller.customer.id)
    if endpoint is None:
        raise ApiProblem("not-found", "No webhook is set.")
    webhooks.delete_endpoint(endpoint)
    return Response(status=204)
