"""`generic_http`: dock a typical Chinese 直充 supplier API by configuration, without code.

The platform owner gives the supplier's paths, how it signs, what our fields are called in its
API, where its JSON answers keep the status, order id, message and balance, and what its status
codes mean. Two signing schemes cover most suppliers:

- `md5_sorted_key`: md5 over the non-empty parameters except the signature, sorted by name and
  joined `k=v&…` with raw values, then `&key=KEY` (style `and_key`) or `KEY` directly (style
  `append`); hex, lower or upper case. The signature travels as a parameter (`sign_field`).
- `hmac_sha256_timestamp`: HMAC-SHA256 under the key over the timestamp followed by the body
  exactly as sent (for GET, the query string); hex. Timestamp and signature travel in headers.

A status that the mapping does not know, or an answer without one, is an unknown outcome
(SupplierTransportError): an order is only ever given up on a status the owner mapped to
"failed". The wire helpers at the top (signing, one HTTP exchange, redacted logs) are shared
with the simulator connector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests

from app.i18n import N_
from app.money import to_decimal
from app.suppliers.connectors.base import (
    FAILED,
    PROCESSING,
    STATES,
    SUCCESS,
    CallbackRequest,
    Connector,
    PlaceRequest,
    SettingField,
    SupplierRejected,
    SupplierResult,
    SupplierTransportError,
)

LOG_LIMIT = 4000  # characters of an answer kept for the timeline
MAX_CALLBACK_AGE_SECONDS = 300  # HMAC-timestamp callbacks older than this are replays
SECRET_NAME = re.compile(r"key|secret|token|passw|pwd", re.IGNORECASE)

# -- wire helpers (shared with the simulator connector) ----------------------------------------


class InvalidSettings(ValueError):
    """Settings a connector cannot work with; `errors` maps each bad field to what is wrong."""

    def __init__(self, kind: str, errors: Mapping[str, str]):
        self.errors = dict(errors)
        listed = "; ".join(f"{name}: {problem}" for name, problem in self.errors.items())
        super().__init__(f"invalid {kind} settings: {listed}")


def md5_sorted_sign(
    params: Mapping[str, str],
    key: str,
    *,
    key_style: str = "and_key",
    uppercase: bool = False,
    exclude: Iterable[str] = ("sign",),
) -> str:
    """md5 of the sorted non-empty `k=v&…` (raw values) + `&key=KEY` or + `KEY`; hex."""
    skipped = set(exclude)
    content = "&".join(
        f"{name}={params[name]}" for name in sorted(params) if name not in skipped and params[name]
    )
    content += f"&key={key}" if key_style == "and_key" else key
    digest = hashlib.md5(content.encode("utf-8")).hexdigest()
    return digest.upper() if uppercase else digest


def hmac_sha256_sign(message: bytes, key: str, *, uppercase: bool = False) -> str:
    digest = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return digest.upper() if uppercase else digest


def same_signature(expected: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(expected.lower(), given.strip().lower())


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def loggable(params: Mapping[str, str]) -> str:
    """`k=v&…` for the timeline, values of secret-sounding names masked."""
    return "&".join(
        f"{name}={'***' if SECRET_NAME.search(name) else value}" for name, value in params.items()
    )


@dataclass(frozen=True)
class Answer:
    document: dict[str, Any]
    request_log: str
    response_log: str
    status_code: int = 200


def send(
    method: str,
    url: str,
    *,
    timeout: float,
    log_params: Mapping[str, str],
    query: str = "",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    follow_redirects: bool = True,
    accept_statuses: Iterable[int] = (),
) -> Answer:
    """One request; its JSON object answer. Anything else (no connection, no answer in time,
    HTTP status other than 2xx or `accept_statuses`, a body that is not a JSON object) is
    SupplierTransportError: whether the supplier acted on the request is unknown."""
    secrets = tuple(secrets)
    request_log = redact(f"{method} {url}\n{loggable(log_params)}", secrets)
    try:
        reply = requests.request(
            method,
            f"{url}?{query}" if query else url,
            data=body or None,
            headers=dict(headers or {}),
            timeout=timeout,
            allow_redirects=follow_redirects,
        )
    except requests.Timeout:
        raise SupplierTransportError(
            f"{method} {url}: no answer within {timeout:g} s (outcome unknown)"
        ) from None
    except requests.RequestException as error:
        # str(error) would quote the URL with its query: keep to the kind of failure.
        raise SupplierTransportError(f"{method} {url}: {type(error).__name__}") from None
    charset = re.search(r"charset=([\w-]+)", reply.headers.get("Content-Type", ""))
    try:
        text = reply.content.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = reply.content.decode("utf-8", errors="replace")
    response_log = redact(f"HTTP {reply.status_code}\n{text[:LOG_LIMIT]}", secrets)
    if not 200 <= reply.status_code < 300 and reply.status_code not in set(accept_statuses):
        raise SupplierTransportError(f"{method} {url}: HTTP {reply.status_code}")
    try:
        document = json.loads(text)
        if isinstance(document, str):  # some suppliers wrap their JSON in a JSON string
            document = json.loads(document)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        sample = redact(text[:200], secrets)
        raise SupplierTransportError(f"{method} {url}: the answer is not JSON: {sample!r}")
    return Answer(document, request_log, response_log, reply.status_code)


def value_at(document: Any, path: str) -> Any:
    """The value at a dot path ("data.status", "data.items.0.code"); None when absent."""
    if not path:
        return None
    value = document
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdecimal() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def scalar_text(value: Any) -> str:
    """A JSON scalar as the text a mapping is keyed by: 1 -> "1", 1.0 -> "1", true -> "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def money_text(amount_cents: int, unit: str) -> str:
    return str(amount_cents) if unit == "cents" else f"{to_decimal(amount_cents, 'CNY'):.2f}"


def cents_from(value: Any, unit: str) -> int:
    """A supplier's amount (cents or yuan, number or text) in cents. Raises ValueError."""
    if value is None or isinstance(value, bool | dict | list):
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    if unit == "yuan":
        amount = amount.scaleb(2)
    # Some suppliers keep fractions of a cent: show what is there, never more.
    return int(amount.to_integral_value(rounding=ROUND_DOWN))


def optional_int(value: Any) -> int | None:
    try:
        return int(scalar_text(value))
    except ValueError:
        return None


# -- settings -----------------------------------------------------------------------------------

MD5 = "md5_sorted_key"
HMAC = "hmac_sha256_timestamp"
# Our side of the request: what each is called in the supplier's API ("" = not sent).
PARAM_NAMES = {
    "reference": "reference",
    "sku": "sku",
    "quantity": "quantity",
    "account": "account",
    "face_value": "face_value",
    "callback": "callback_url",
    "timestamp": "timestamp",
}
# Where the supplier's answers (and callbacks) keep each thing, as dot paths ("" = absent).
RESPONSE_FIELDS = {
    "status": "status",
    "order_id": "order_id",
    "message": "message",
    "balance": "balance",
    "reference": "reference",
    "delivered_quantity": "delivered_quantity",
    "secrets": "",
}
STATUS_MAP = {state: state for state in STATES}


def _json_default(value: Mapping[str, str]) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class HttpApi:
    """Validated generic_http settings."""

    base_url: str
    place_path: str
    query_path: str
    balance_path: str
    method: str
    body_format: str
    signing: str
    md5_key_style: str
    sign_case: str
    sign_field: str
    timestamp_header: str
    key: str
    param_names: dict[str, str]
    extra_params: dict[str, str]
    response_fields: dict[str, str]
    callback_fields: dict[str, str]
    status_map: dict[str, str]
    money_unit: str
    callback_reply: str

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"


def _json_object(text: str, errors: dict[str, str], name: str) -> dict[str, str] | None:
    """A JSON object of scalars as str -> str; records what is wrong in `errors`."""
    try:
        value = json.loads(text)
    except ValueError as error:
        line, column = getattr(error, "lineno", "?"), getattr(error, "colno", "?")
        errors[name] = f"not valid JSON (line {line}, column {column})"
        return None
    if not isinstance(value, dict) or any(
        isinstance(v, dict | list) or v is None for v in value.values()
    ):
        errors[name] = "must be a JSON object of names to texts or numbers"
        return None
    return {str(k): scalar_text(v) for k, v in value.items()}


class GenericHttpConnector(Connector):
    kind = "generic_http"
    label = N_("Generic HTTP top-up API")
    setting_fields = (
        SettingField("base_url", N_("API base URL")),
        SettingField("place_path", N_("Order path"), default="/api/order"),
        SettingField("query_path", N_("Query path"), default="/api/query"),
        SettingField("balance_path", N_("Balance path"), default="/api/balance"),
        SettingField("method", N_("HTTP method"), default="POST", choices=("POST", "GET")),
        SettingField("body_format", N_("Body format"), default="form", choices=("form", "json")),
        SettingField("signing", N_("Signing"), default=MD5, choices=(MD5, HMAC)),
        SettingField(
            "md5_key_style",
            N_("MD5 key suffix (and_key: …&key=KEY, append: …KEY)"),
            default="and_key",
            choices=("and_key", "append"),
        ),
        SettingField(
            "sign_case", N_("Signature case"), default="lower", choices=("lower", "upper")
        ),
        SettingField("sign_field", N_("Signature parameter or header"), default="sign"),
        SettingField("timestamp_header", N_("Timestamp header (HMAC)"), default="X-Timestamp"),
        SettingField("key", N_("Signing key"), secret=True),
        SettingField(
            "param_names",
            N_("Parameter names (JSON)"),
            default=_json_default(PARAM_NAMES),
            multiline=True,
        ),
        SettingField(
            "extra_params",
            N_("Fixed parameters (JSON, e.g. your user id)"),
            required=False,
            default="{}",
            multiline=True,
        ),
        SettingField(
            "response_fields",
            N_("Answer fields (JSON, dot paths)"),
            default=_json_default(RESPONSE_FIELDS),
            multiline=True,
        ),
        SettingField(
            "callback_fields",
            N_("Callback fields (JSON, dot paths; empty: as in answers)"),
            required=False,
            default="{}",
            multiline=True,
        ),
        SettingField(
            "status_map",
            N_("Status mapping (JSON: supplier's status → success, failed, processing, not_found)"),
            default=_json_default(STATUS_MAP),
            multiline=True,
        ),
        SettingField("money_unit", N_("Money unit"), default="cents", choices=("cents", "yuan")),
        SettingField("callback_reply", N_("Reply to callbacks"), default="success"),
    )

    def __init__(self, settings: Mapping[str, str] | None = None, *, timeout: float = 10.0):
        super().__init__(settings, timeout=timeout)
        self.api = self.parse_settings(self.settings)
        # Many suppliers want to read "success", some "ok" or "SUCCESS": the owner says which.
        self.callback_reply = (self.api.callback_reply, 200, "text/plain")

    @classmethod
    def parse_settings(cls, settings: Mapping[str, str]) -> HttpApi:
        """Settings with defaults filled in, checked. Raises InvalidSettings naming each field."""
        values = {}
        errors: dict[str, str] = {}
        for spec in cls.setting_fields:
            value = str(settings.get(spec.name) or "").strip() or spec.default
            if spec.choices:
                chosen = value.upper() if spec.name == "method" else value
                if chosen not in spec.choices:
                    errors[spec.name] = f"unknown {value!r} (choose {', '.join(spec.choices)})"
                value = chosen
            elif spec.required and not value:
                errors[spec.name] = "required"
            values[spec.name] = value
        values["base_url"] = values["base_url"].rstrip("/")
        if values["base_url"] and not values["base_url"].startswith(("http://", "https://")):
            errors["base_url"] = "must start with http:// or https://"
        for name in (
            "param_names",
            "extra_params",
            "response_fields",
            "callback_fields",
            "status_map",
        ):
            values[name] = _json_object(values[name], errors, name)
        if values["param_names"] is not None:
            values["param_names"] = {**PARAM_NAMES, **values["param_names"]}
            missing = [n for n in ("reference", "sku") if not values["param_names"][n]]
            if missing:
                errors["param_names"] = f"needs a name for {', '.join(missing)}"
        if values["response_fields"] is not None:
            values["response_fields"] = {**RESPONSE_FIELDS, **values["response_fields"]}
            if not values["response_fields"]["status"]:
                errors["response_fields"] = "needs a path for status"
            if values["callback_fields"] is not None:
                values["callback_fields"] = {
                    **values["response_fields"],
                    **values["callback_fields"],
                }
        if values["status_map"] is not None:
            wrong = sorted({v for v in values["status_map"].values() if v not in STATES})
            if wrong or not values["status_map"]:
                errors["status_map"] = (
                    f"maps to {', '.join(map(repr, wrong)) or 'nothing'}; "
                    f"each status must map to one of {', '.join(STATES)}"
                )
        if errors:
            raise InvalidSettings(cls.kind, errors)
        return HttpApi(**values)

    # -- requests -------------------------------------------------------------------------------

    def _sign_text(self, digest: str) -> str:
        return digest.upper() if self.api.sign_case == "upper" else digest

    def _request(self, path: str, params: dict[str, str]) -> Answer:
        api = self.api
        params = {**api.extra_params, **params}
        stamp = str(int(time.time()))
        if api.param_names.get("timestamp"):
            params[api.param_names["timestamp"]] = stamp
        log_params = dict(params)
        headers: dict[str, str] = {}
        if api.signing == MD5:
            params[api.sign_field] = md5_sorted_sign(
                params,
                api.key,
                key_style=api.md5_key_style,
                uppercase=api.sign_case == "upper",
                exclude=(api.sign_field,),
            )
        query, body = "", b""
        if api.method == "GET":
            query = urlencode(params)
        elif api.body_format == "json":
            body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            body = urlencode(params).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if api.signing == HMAC:
            signed = stamp.encode() + (query.encode() if api.method == "GET" else body)
            headers[api.timestamp_header] = stamp
            headers[api.sign_field] = hmac_sha256_sign(
                signed, api.key, uppercase=api.sign_case == "upper"
            )
        return send(
            api.method,
            api.url(path),
            query=query,
            body=body,
            headers=headers,
            timeout=self.timeout,
            log_params=log_params,
            secrets=(api.key,),
        )

    def _account_params(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The buyer's account fields: one named in param_names goes by that name; the main
        one ("account", else the first not named) by param_names["account"]; others as is."""
        names = self.api.param_names
        named = {f for f in fields if f in names and f not in PARAM_NAMES}
        main = "account" if "account" in fields else next((f for f in fields if f not in named), "")
        params = {}
        for field, value in fields.items():
            if field in named:
                target = names[field]
            elif field == main:
                target = names["account"]
            else:
                target = field
            if target:
                params[target] = str(value)
        return params

    def _read(
        self,
        document: Mapping,
        reference: str | None,
        allowed: tuple[str, ...],
        fields: Mapping[str, str],
    ):
        """(reference, SupplierResult fields) from an answer or callback read with `fields`;
        ValueError if the document does not say clearly what became of the order."""
        message = scalar_text(value_at(document, fields["message"]))
        raw = value_at(document, fields["status"])
        suffix = f": {message}" if message else ""
        if raw is None or isinstance(raw, dict | list):
            raise ValueError(f"no status at {fields['status']!r}{suffix}")
        status = scalar_text(raw)
        state = self.api.status_map.get(status)
        if state is None:
            raise ValueError(f"status {status!r} is not in the status mapping{suffix}")
        if state not in allowed:
            raise ValueError(f"status {status!r} ({state}) cannot answer this request{suffix}")
        their_reference = scalar_text(value_at(document, fields["reference"]))
        if not their_reference and self.api.param_names["reference"]:
            their_reference = scalar_text(document.get(self.api.param_names["reference"]))
        if reference is not None and their_reference and their_reference != reference:
            raise ValueError(f"answer for reference {their_reference!r}, not {reference!r}")
        secrets = value_at(document, fields["secrets"])
        if isinstance(secrets, list):
            secrets = tuple(scalar_text(s) for s in secrets if scalar_text(s))
        else:
            secrets = tuple(line for line in scalar_text(secrets).splitlines() if line.strip())
        return reference or their_reference, {
            "state": state,
            "supplier_order_id": scalar_text(value_at(document, fields["order_id"])),
            "delivered_quantity": optional_int(value_at(document, fields["delivered_quantity"])),
            "secrets": secrets,
            "message": message,
        }

    def _result(self, answer: Answer, reference: str, allowed: tuple[str, ...]):
        try:
            _, read = self._read(answer.document, reference, allowed, self.api.response_fields)
        except ValueError as error:
            raise SupplierTransportError(f"{self.kind}: {error}") from None
        return SupplierResult(
            reference=reference,
            request_log=answer.request_log,
            response_log=answer.response_log,
            **read,
        )

    # -- the interface --------------------------------------------------------------------------

    def place(self, request: PlaceRequest) -> SupplierResult:
        names = self.api.param_names
        ours = {
            "reference": request.reference,
            "sku": request.supplier_sku_code,
            "quantity": str(request.quantity),
            "face_value": money_text(request.face_value_cents, self.api.money_unit),
            "callback": request.callback_url,
        }
        params = self._account_params(request.account_fields)
        params.update({names[k]: v for k, v in ours.items() if names.get(k) and v})
        answer = self._request(self.api.place_path, params)
        return self._result(answer, request.reference, (SUCCESS, FAILED, PROCESSING))

    def query(self, reference: str, supplier_order_id: str = "") -> SupplierResult:
        answer = self._request(self.api.query_path, {self.api.param_names["reference"]: reference})
        return self._result(answer, reference, STATES)

    def balance(self) -> int:
        answer = self._request(self.api.balance_path, {})
        path = self.api.response_fields["balance"]
        try:
            return cents_from(value_at(answer.document, path), self.api.money_unit)
        except ValueError:
            raise SupplierTransportError(f"{self.kind}: no balance at {path!r}") from None

    def verify_callback(self, request: CallbackRequest) -> SupplierResult:
        api = self.api
        params = self._callback_params(request)
        if api.signing == HMAC:
            self._check_hmac_callback(request, params)
        else:
            flat = {k: scalar_text(v) for k, v in params.items() if not isinstance(v, dict | list)}
            expected = md5_sorted_sign(
                flat, api.key, key_style=api.md5_key_style, exclude=(api.sign_field,)
            )
            if not same_signature(expected, flat.get(api.sign_field, "")):
                raise SupplierRejected("bad signature")
        try:
            reference, read = self._read(
                params, None, (SUCCESS, FAILED, PROCESSING), self.api.callback_fields
            )
        except ValueError as error:
            raise SupplierRejected(str(error)) from None
        if not reference:
            raise SupplierRejected("the callback names no reference")
        shown = {k: v for k, v in params.items() if k != api.sign_field}
        return SupplierResult(
            reference=reference,
            request_log=redact(f"callback {request.method}\n{loggable(shown)}", (api.key,)),
            **read,
        )

    @staticmethod
    def _callback_params(request: CallbackRequest) -> dict[str, Any]:
        if request.params:
            return dict(request.params)
        body = request.body.strip()
        if body.startswith(b"{"):
            try:
                document = json.loads(body)
            except ValueError:
                raise SupplierRejected("malformed JSON body") from None
            if isinstance(document, dict):
                return document
            raise SupplierRejected("malformed JSON body")
        return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))

    def _check_hmac_callback(self, request: CallbackRequest, params: Mapping[str, Any]) -> None:
        api = self.api
        stamp = request.header(api.timestamp_header)
        try:
            seconds = int(stamp)
        except ValueError:
            raise SupplierRejected("no timestamp") from None
        if seconds > 10**12:  # milliseconds
            seconds //= 1000
        if abs(time.time() - seconds) > MAX_CALLBACK_AGE_SECONDS:
            raise SupplierRejected("stale timestamp")
        # A GET callback has no body: its parameters, in the order received, stand for it.
        content = request.body or urlencode(params).encode()
        expected = hmac_sha256_sign(stamp.encode() + content, api.key)
        if not same_signature(expected, request.header(api.sign_field)):
            raise SupplierRejected("bad signature")
