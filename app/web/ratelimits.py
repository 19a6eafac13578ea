"""Every rate limit by name, in one table; the decorators that apply them; the 429 answer.

A view is limited with `@ratelimits.limit("name")`: the rule comes from the table below and can
be changed per deployment with the setting `RATE_LIMIT_<NAME>` (e.g. `RATE_LIMIT_CHECKOUT="60 per
minute"`). The counters live in Redis when REDIS_URL is set (shared by every web process), in
memory otherwise (the embedded default); if Redis cannot be reached each process falls back to
memory rather than failing requests.

Every 429 carries `Retry-After` (seconds) and says the same thing whoever asks: a translated page,
or `application/problem+json` for JSON endpoints (the API under /api/, views marked
`json=True`, clients that prefer JSON). It never says whether an account, order or contact exists.

The JSON API (/api/v1) has one budget per API key shared by all its endpoints, and one per
address (`ratelimits.shared("api", key=…)` on its blueprint, app.api.views). Callbacks from
payment gateways and suppliers are `@limiter.exempt`: a gateway retries from a few addresses, and
dropping its retries would lose payments (they are verified by signature instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import current_app, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import TooManyRequests

from app.extensions import limiter
from app.i18n import N_, translate

# name → (default rule, what it protects). Keyed by the client's address unless the view says
# otherwise (`key=`).
LIMITS: dict[str, tuple[str, str]] = {
    # Sign-in, customer sign-up and password-reset forms: LOGIN_RATE_LIMIT per address, and
    # LOGIN_LOCKOUT_LIMIT per account for failed sign-ins (app.auth.views).
    "checkout": ("30 per minute", "placing an order (POST /checkout)"),
    "captcha": ("60 per minute", "the checkout's captcha picture"),
    "order_page": ("60 per minute", "the buyer's order page, which reveals the card keys"),
    "order_pay": ("20 per minute", "paying an open order again"),
    "order_status": ("120 per minute", "the payment page's status poll"),
    "order_lookup": ("10 per minute", "order lookup (per address)"),
    "order_lookup_target": ("20 per hour", "order lookup of one number/contact (any address)"),
    "balance_topup": ("20 per minute", "customer balance top-up"),
    "ticket_open": ("10 per hour", "opening an after-sales ticket"),
    "ticket_page": ("60 per minute", "a ticket's page (signed link)"),
    "ticket_reply": ("30 per hour", "replying to a ticket"),
    "ticket_escalate": ("10 per hour", "escalating a ticket to the platform"),
    "store_signup": ("20 per hour", "opening a store"),
    "slug_check": ("60 per minute", "the store-name availability check"),
    "store_welcome": ("30 per minute", "the new store's welcome page"),
    "view_as_platform": ("30 per minute", "the platform's view-as sign-in link"),
    "withdrawal_request": ("20 per hour", "asking for a withdrawal"),
    "verification_submit": ("10 per hour", "submitting real-name verification"),
    "staff_invite": ("30 per hour", "inviting staff"),
    "staff_accept": ("30 per hour", "accepting a staff invitation"),
    "supplier_apply": ("10 per hour", "applying as a supplier"),
    "supplier_upload": ("60 per hour", "a supplier's card-key upload"),
    "poster": ("30 per minute", "share posters (drawn on demand, then kept as files)"),
    "unsubscribe": ("30 per minute", "the one-click unsubscribe link of marketing e-mail"),
    # The JSON API: per key (as named in the request) and per address, all endpoints together.
    "api": ("300 per minute", "the JSON API, per key"),
    "api_ip": ("1200 per minute", "the JSON API, per client address"),
}

TOO_MANY = N_("Too many attempts. Please wait a moment and try again.")


def rule(name: str) -> Callable[[], str]:
    """The rule of a named limit, read at request time (RATE_LIMIT_<NAME> or the default)."""
    default = LIMITS[name][0]

    def current() -> str:
        return current_app.config.get(f"RATE_LIMIT_{name.upper()}") or default

    return current


def limit(
    name: str,
    *,
    methods: list[str] | None = None,
    key: Callable[[], str] | None = None,
    json: bool = False,
    deduct_when: Callable | None = None,
):
    """Decorate a view with the named limit (its own counter per view); `json=True` answers its
    429 as problem+json."""
    decorate = limiter.limit(
        rule(name), methods=methods, key_func=key, deduct_when=deduct_when, scope=name
    )

    def wrap(view):
        if json:
            view.json_errors = True
        return decorate(view)

    return wrap


def shared(name: str, *, key: Callable[[], str] | None = None, methods: list[str] | None = None):
    """One counter for every view that carries this decorator (e.g. all API endpoints)."""
    return limiter.shared_limit(rule(name), scope=name, key_func=key, methods=methods)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "json_errors", False):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > (request.accept_mimetypes["text/html"])
    )


def retry_after_seconds() -> int:
    """Seconds until the breached window resets (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


def too_many_requests(error: TooManyRequests):
    seconds = retry_after_seconds()
    message = translate(TOO_MANY)
    if request.path.startswith(("/api/", "/shared/")):  # the API's and docking's own shapes
        from app.web.errors import handle_http_error

        response = current_app.make_response(handle_http_error(error))
        response.status_code = 429
    elif wants_json():
        response = current_app.response_class(
            current_app.json.dumps(
                {
                    "type": "about:blank",
                    "title": "Too Many Requests",
                    "status": 429,
                    "detail": message,
                    "retry_after": seconds,
                }
            ),
            status=429,
            mimetype="application/problem+json",
        )
    else:
        from app.web.errors import handle_http_error

        response = current_app.make_response(handle_http_error(error))
        response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    app.register_error_handler(429, too_many_requests)
