"""API errors as `application/problem+json` (RFC 9457): a stable `type` per kind of problem, a
short title, the specifics in `detail`, and for invalid input the offending field."""

from __future__ import annotations

import json

from flask import Response

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/docs#problem-"

# slug → (status, title). The docs page lists them; clients branch on the slug in `type`.
PROBLEMS: dict[str, tuple[int, str]] = {
    "missing-credentials": (401, "The request is not signed"),
    "stale-request": (401, "The request timestamp is outside the allowed window"),
    "invalid-nonce": (401, "The nonce is missing or malformed"),
    "invalid-key": (401, "Unknown or revoked API key"),
    "invalid-signature": (401, "The signature does not match the request"),
    "replayed-request": (401, "This nonce was already used"),
    "ip-not-allowed": (403, "This API key may not be used from this address"),
    "insufficient-scope": (403, "This API key lacks the scope this request needs"),
    "account-disabled": (403, "The customer account of this key cannot order"),
    "api-not-enabled": (403, "This store does not offer API access"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed"),
    "idempotency-key-reused": (409, "This Idempotency-Key was used for another request"),
    "idempotency-in-progress": (409, "A request with this Idempotency-Key is still in progress"),
    "order-not-cancellable": (409, "Only an unpaid order can be cancelled"),
    "insufficient-balance": (402, "Your balance does not cover this order"),
    "invalid-request": (422, "The request is not valid"),
    "unsupported-media-type": (415, "Send the body as application/json"),
    "payload-too-large": (413, "The request body is too large"),
    "rate-limited": (429, "Too many requests"),
    "internal-error": (500, "Something went wrong on our side"),
}


class ApiProblem(Exception):
    def __init__(self, slug: str, detail: str = "", **extra):
        super().__init__(detail or slug)
        self.slug = slug
        self.status, self.title = PROBLEMS[slug]
        self.detail = detail or self.title
        self.extra = extra

    def body(self) -> dict:
        return {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def response(self, headers: dict[str, str] | None = None) -> Response:
        text = json.dumps(self.body(), ensure_ascii=False, separators=(",", ":"))
        return Response(text, status=self.status, content_type=CONTENT_TYPE, headers=headers)
