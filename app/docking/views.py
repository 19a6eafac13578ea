"""`/shared/...` on a store's host: the acg-faka-compatible docking endpoints (thin: parse the
form as PHP would, authenticate, call app.docking.acg_services, answer acg-faka's JSON, log).

Always HTTP 200 with `{"code":200,…}` or `{"code":0,"msg":…}` like acg-faka, except the rate
limit (429) and an oversized body (413), which carry the same JSON shape."""

from __future__ import annotations

import logging

from flask import Response, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from app.docking import acg_services as services
from app.docking import acg_wire
from app.extensions import csrf, db
from app.net import client_ip
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from tenants.context import current_tenant

log = logging.getLogger(__name__)
bp = SiteBlueprint("docking", __name__, site="store", url_prefix="/shared")
csrf.exempt(bp)

MAX_BODY_BYTES = 64 * 1024


def _limit_key() -> str:
    """Per key id as claimed in the form (checked later), else per address."""
    claimed = request.form.get("app_id", "") if request.mimetype.endswith("urlencoded") else ""
    return f"acg:{claimed[:40]}" if claimed else f"ip:{client_ip()}"


# The open API's budgets: per key (as claimed) and per address (app.web.ratelimits).
ratelimits.shared("api", key=_limit_key)(bp)
ratelimits.shared("api_ip", key=client_ip)(bp)


def _answer(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="application/json; charset=utf-8")


def _call(endpoint: str):
    store = current_tenant._get_current_object()
    ip = client_ip()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _answer(acg_wire.failure("请求内容过大"), 413)
    fields = acg_wire.parse_form(request.form.items(multi=True))
    claimed = str(fields.get("app_id") or "")
    handler = services.ENDPOINTS[endpoint]
    caller = None
    try:
        caller = services.authenticate(store, fields, ip)
        outcome = handler(store, caller, fields, ip)
    except services.AcgError as error:
        db.session.rollback()
        services.log_call(
            endpoint=endpoint, key_id=claimed, ip=ip, outcome=error.outcome, message=error.msg,
            customer_id=caller.customer.id if caller else None,
            request_no=str(fields.get("request_no") or ""),
        )  # fmt: skip
        return _answer(acg_wire.failure(error.msg))
    services.log_call(
        endpoint=endpoint, key_id=claimed, customer_id=caller.customer.id, ip=ip,
        outcome="replayed" if outcome.replayed else "ok",
        request_no=outcome.request_no, order_no=outcome.order_no,
    )  # fmt: skip
    return _answer(acg_wire.success(outcome.data, outcome.msg))


def _route(endpoint: str) -> None:
    view = lambda: _call(endpoint)  # noqa: E731
    view.__name__ = endpoint.replace("/", "_")
    bp.add_url_rule(f"/{endpoint}", view_func=view, methods=["POST"])


for _endpoint in services.ENDPOINTS:
    _route(_endpoint)


def http_error(error: HTTPException) -> Response:
    """Any HTTP error under /shared/ (unknown path, wrong method, rate limit) in acg's shape."""
    if isinstance(error, RateLimitExceeded):
        return _answer(acg_wire.failure("请求过于频繁，请稍后再试"), 429)
    status = error.code or 500
    messages = {404: "接口不存在", 405: "请使用POST请求", 413: "请求内容过大"}
    return _answer(acg_wire.failure(messages.get(status, "服务器繁忙")), status)
