"""The OpenAPI 3.1 document of /api/v1, kept true by tests (every answer is checked against it,
and schemathesis explores it). Built once per server URL."""

from __future__ import annotations

from functools import cache

from app.api.problems import PROBLEMS
from app.api.signing import KEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from app.batches.models import BATCH_STATUSES, ROW_LABELS

BATCH_ROW_STATUSES = tuple(ROW_LABELS)

SIGNING = f"""Every request except this document and the docs page is signed with an API key
(created in the store's customer account, **API keys**).

1. Take the request's method, path and query string exactly as sent (percent-encoded as on
   the wire), a timestamp (Unix seconds) and a nonce (16–64 characters of `A–Z a–z 0–9 - _`,
   new for every request).
2. Build the text of six lines joined by `\\n`: `KAMENG-HMAC-SHA256`, the METHOD, the
   path[?query], the timestamp, the nonce, and the hex SHA-256 of the body (of the empty string
   for GET).
3. Sign it with HMAC-SHA256 under the key's secret; send the lower-case hex digest.

Headers: `{KEY_HEADER}` (the key id), `{TIMESTAMP_HEADER}`, `{NONCE_HEADER}`, `{SIGNATURE_HEADER}`.
Timestamps more than 300 s from our clock, re-used nonces and altered bodies are refused.
Errors are `application/problem+json`; branch on `type`."""

STOCK = {"type": "string", "enum": ["in_stock", "low", "sold_out"]}
TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
ORDER_STATUS = {
    "type": "string",
    "enum": [
        "pending_payment",
        "paid",
        "review",
        "fulfilling",
        "delivered",
        "expired",
        "cancelled",
        "failed",
        "refunded",
        "partially_refunded",
    ],
}
EVENTS = [
    "order.paid",
    "order.delivered",
    "order.failed",
    "order.refunded",
    "order.partially_refunded",
]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SCHEMAS = {
    "Sku": _obj(
        {
            "id": {"type": "integer"},
            "code": {"type": "string"},
            "name": {"type": "string"},
            "price_cents": {"type": "integer", "description": "Your price per unit"},
            "currency": {"type": "string", "minLength": 3, "maxLength": 3},
            "face_value_cents": {"type": ["integer", "null"]},
            "min_quantity": {"type": "integer"},
            "max_quantity": {"type": "integer"},
            "stock": STOCK,
            "available": {
                "type": ["integer", "null"],
                "description": "Exact count, when the store shows counts",
            },
        }
    ),
    "AccountField": _obj(
        {
            "name": {"type": "string"},
            "label": {"type": "string"},
            "required": {"type": "boolean"},
            "example": {"type": "string"},
        }
    ),
    "Product": _obj(
        {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "category_id": {"type": "integer"},
            "category_name": {"type": "string"},
            "delivery_type": {"type": "string", "enum": ["card_key", "direct_topup", "manual"]},
            "stock": STOCK,
            "account_fields": {"type": "array", "items": _ref("AccountField")},
            "skus": {"type": "array", "items": _ref("Sku")},
        }
    ),
    "ProductList": _obj({"products": {"type": "array", "items": _ref("Product")}}),
    "Balance": _obj({"balance_cents": {"type": "integer"}, "currency": {"type": "string"}}),
    "CardKey": _obj({"card_no": {"type": "string"}, "secret": {"type": "string"}}),
    "OrderItem": _obj(
        {
            "sku_id": {"type": "integer"},
            "product_id": {"type": "integer"},
            "product_name": {"type": "string"},
            "sku_name": {"type": "string"},
            "delivery_type": {"type": "string"},
            "quantity": {"type": "integer"},
            "unit_price_cents": {"type": "integer"},
            "keys": {"type": "array", "items": _ref("CardKey")},
            "topup": _obj(
                {
                    "status": {"type": "string"},
                    "delivered_quantity": {"type": "integer"},
                }
            ),
            "delivery": {"type": "string", "description": "What was delivered by hand"},
        },
        required=[
            "sku_id",
            "product_id",
            "product_name",
            "sku_name",
            "delivery_type",
            "quantity",
            "unit_price_cents",
        ],
    ),
    "Order": _obj(
        {
            "order_no": {"type": "string"},
            "reference": {"type": ["string", "null"], "description": "Yours, if you gave one"},
            "status": ORDER_STATUS,
            "total_cents": {"type": "integer"},
            "currency": {"type": "string"},
            "created_at": TIMESTAMP,
            "paid_at": TIMESTAMP,
            "delivered_at": TIMESTAMP,
            "items": {"type": "array", "items": _ref("OrderItem")},
        }
    ),
    "OrderPage": _obj(
        {
            "orders": {"type": "array", "items": _ref("Order")},
            "next_cursor": {"type": ["string", "null"]},
        }
    ),
    "NewOrder": {
        "type": "object",
        "properties": {
            "sku_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1},
            "account_fields": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 200},
                "description": "The product's account fields, for direct top-ups",
            },
            "reference": {
                "type": "string",
                "pattern": "^[A-Za-z0-9._:-]{1,64}$",
                "description": "Your own order number: placing it again returns the same order "
                "(200), for ever",
            },
        },
        "required": ["sku_id"],
        "additionalProperties": False,
    },
    "Webhook": _obj(
        {
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string", "enum": EVENTS}},
            "active": {"type": "boolean"},
            "secret": {"type": "string", "description": "Only when the webhook is created"},
        },
        required=["url", "events", "active"],
    ),
    "WebhookSettings": {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "events": {"type": "array", "items": {"type": "string", "enum": EVENTS}},
        },
        "required": ["url"],
    },
    "NewBatchRow": {
        "type": "object",
        "properties": {
            "sku": {
                "type": ["string", "integer"],
                "description": "The SKU's code, or its id",
            },
            "account": {
                "type": "string",
                "maxLength": 400,
                "description": "The account to top up: for a product with one account field its "
                "value; with several, `name=value;name=value`",
            },
            "account_fields": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 200},
                "description": "The account fields by name (instead of `account`)",
            },
            "quantity": {"type": "integer", "minimum": 1, "default": 1},
        },
        "required": ["sku"],
        "additionalProperties": False,
    },
    "NewBatch": {
        "type": "object",
        "properties": {
            "rows": {"type": "array", "minItems": 1, "items": _ref("NewBatchRow")},
            "skip_invalid": {
                "type": "boolean",
                "default": False,
                "description": "Place the valid rows and skip the invalid ones (else any "
                "invalid row refuses the whole batch)",
            },
        },
        "required": ["rows"],
        "additionalProperties": False,
    },
    "BatchRow": _obj(
        {
            "row": {"type": "integer"},
            "sku": {"type": "string"},
            "sku_id": {"type": ["integer", "null"]},
            "account_fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "quantity": {"type": "integer"},
            "unit_price_cents": {"type": "integer"},
            "amount_cents": {"type": "integer"},
            "order_no": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": list(BATCH_ROW_STATUSES)},
            "message": {"type": "string", "description": "Why the row is invalid"},
        }
    ),
    "Batch": _obj(
        {
            "batch_no": {"type": "string"},
            "status": {"type": "string", "enum": list(BATCH_STATUSES)},
            "currency": {"type": "string"},
            "total_cents": {"type": "integer", "description": "The price of the valid rows"},
            "charged_cents": {"type": "integer", "description": "Charged to your balance"},
            "refunded_cents": {"type": "integer", "description": "Refunded for failed rows"},
            "created_at": TIMESTAMP,
            "placed_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
            "error": {"type": ["string", "null"], "description": "Why it was not placed"},
            "progress": _obj(
                {
                    "rows": {"type": "integer"},
                    "done": {"type": "integer"},
                    "succeeded": {"type": "integer"},
                    "partial": {"type": "integer"},
                    "failed": {"type": "integer"},
                    "pending": {"type": "integer"},
                }
            ),
            "rows": {"type": "array", "items": _ref("BatchRow")},
        }
    ),
    "Problem": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": _obj(
                    {
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                        "row": {"type": "integer", "description": "The batch row (from 1)"},
                    },
                    required=["field", "message"],
                ),
            },
        },
        "required": ["type", "title", "status", "detail"],
    },
}

PROBLEM = {"application/problem+json": {"schema": _ref("Problem")}}
COMMON = {
    "401": {"description": "Not signed, or signed wrongly", "content": PROBLEM},
    "403": {"description": "Not allowed (scope, address, plan)", "content": PROBLEM},
    "429": {
        "description": "Too many requests",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": PROBLEM,
    },
}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _op(summary: str, scope: str, responses: dict, **extra) -> dict:
    return {
        "summary": summary,
        "description": extra.pop("description", "") + f"\n\nScope: `{scope}`.",
        "security": [{"KamengSignature": []}],
        "responses": {**responses, **COMMON},
        **extra,
    }


def _problem(description: str) -> dict:
    return {"description": description, "content": PROBLEM}


ORDER_NO = {"name": "order_no", "in": "path", "required": True, "schema": {"type": "string"}}
BATCH_NO = {"name": "batch_no", "in": "path", "required": True, "schema": {"type": "string"}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _paths() -> dict:
    return {
        "/api/v1/products": {
            "get": _op(
                "Products with your prices",
                "read",
                {"200": _json("ProductList", "Every product the store sells")},
                operationId="listProducts",
            )
        },
        "/api/v1/products/{product_id}": {
            "get": _op(
                "One product",
                "read",
                {"200": _json("Product", "The product"), "404": _problem("No such product")},
                operationId="getProduct",
                parameters=[
                    {
                        "name": "product_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
            )
        },
        "/api/v1/balance": {
            "get": _op(
                "Your balance",
                "read",
                {"200": _json("Balance", "Your prepaid balance")},
                operationId="getBalance",
            )
        },
        "/api/v1/orders": {
            "get": _op(
                "Your orders, newest first",
                "read",
                {
                    "200": _json("OrderPage", "A page of orders"),
                    "422": _problem("Bad cursor or limit"),
                },
                operationId="listOrders",
                description="Pass `next_cursor` as `cursor` for the next page; orders placed "
                "meanwhile never shift a page.",
                parameters=[
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "reference",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Only the order with this reference of yours",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                ],
            ),
            "post": _op(
                "Place an order paid from your balance",
                "order",
                {
                    "200": _json("Order", "The order placed earlier with this reference"),
                    "201": _json("Order", "Placed and paid (card keys already delivered)"),
                    "402": _problem("The balance does not cover it (nothing was charged)"),
                    "409": _problem("The Idempotency-Key was used for another request"),
                    "415": _problem("The body is not JSON"),
                    "422": _problem("Invalid request (unknown SKU, quantity, account fields)"),
                },
                operationId="createOrder",
                description="Send an `Idempotency-Key` header (up to 255 characters): the same "
                "key with the same body returns the first answer again for 24 hours "
                "(`Idempotent-Replayed: true`); with another body, 409.",
                parameters=[IDEMPOTENCY_KEY],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewOrder")}},
                },
            ),
        },
        "/api/v1/orders/{order_no}": {
            "get": _op(
                "One of your orders, with its card keys",
                "read",
                {"200": _json("Order", "The order"), "404": _problem("No such order of yours")},
                operationId="getOrder",
                parameters=[ORDER_NO],
            )
        },
        "/api/v1/orders/{order_no}/cancel": {
            "post": _op(
                "Cancel an unpaid order",
                "order",
                {
                    "200": _json("Order", "Cancelled"),
                    "404": _problem("No such order of yours"),
                    "409": _problem("The order is not unpaid"),
                },
                operationId="cancelOrder",
                parameters=[ORDER_NO],
            )
        },
        "/api/v1/batches": {
            "post": _op(
                "Top up many accounts, paid from your balance as one charge",
                "order",
                {
                    "202": _json("Batch", "Checked and queued: poll it for progress"),
                    "402": _problem("The balance does not cover the batch (nothing charged)"),
                    "409": _problem("The Idempotency-Key was used for another request"),
                    "413": _problem("The body is too large"),
                    "415": _problem("The body is not JSON"),
                    "422": _problem("Invalid rows, each named in `errors` with its `row`"),
                },
                operationId="createBatch",
                description="Every row is checked first (SKU sold here as a direct top-up, "
                "quantity, account fields); any invalid row refuses the batch unless "
                "`skip_invalid`. A job then places every row as an order and pays them all "
                "from your balance in one charge, or none; failed top-ups are refunded to the "
                "balance. `Idempotency-Key` works as for orders.",
                parameters=[IDEMPOTENCY_KEY],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewBatch")}},
                },
            )
        },
        "/api/v1/batches/{batch_no}": {
            "get": _op(
                "One of your batches, with its progress and each row's result",
                "read",
                {"200": _json("Batch", "The batch"), "404": _problem("No such batch of yours")},
                operationId="getBatch",
                parameters=[BATCH_NO],
            )
        },
        "/api/v1/webhook": {
            "get": _op(
                "Your webhook",
                "read",
                {"200": _json("Webhook", "The webhook"), "404": _problem("None is set")},
                operationId="getWebhook",
            ),
            "put": _op(
                "Set your webhook",
                "order",
                {
                    "200": _json("Webhook", "Changed"),
                    "201": _json("Webhook", "Created: `secret` is shown this once"),
                    "415": _problem("The body is not JSON"),
                    "422": _problem("Invalid URL or events"),
                },
                operationId="setWebhook",
                description="Events of your orders are POSTed to `url`, signed as in Standard "
                "Webhooks with the secret returned when the webhook is created.",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("WebhookSettings")}},
                },
            ),
            "delete": _op(
                "Remove your webhook",
                "order",
                {"204": {"description": "Removed"}, "404": _problem("None is set")},
                operationId="deleteWebhook",
            ),
        },
    }


@cache
def document(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kameng store API",
            "version": "1.0.0",
            "description": SIGNING,
        },
        "servers": [{"url": server_url}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "KamengSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": KEY_HEADER,
                    "description": "The key id, with the timestamp, nonce and signature headers "
                    "described above.",
                }
            },
        },
        "x-problem-types": {slug: title for slug, (_, title) in PROBLEMS.items()},
    }
