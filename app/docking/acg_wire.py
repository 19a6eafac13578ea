"""The acg-faka (异次元发卡) docking wire format, pure: its MD5 signature exactly as PHP computes
it, PHP's reading of form fields (`sku[区服]=一区` → nested), the INI-like commodity `config`,
money as yuan text and the JSON envelope. Shared by the `acg_faka` supplier connector (we dock to
an acg-faka site) and the compatible endpoints (an acg-faka site docks to one of our stores).

The signature (`Str::generateSignature`, unchanged since 0.0.1-beta):

    drop `sign`; ksort; drop values that are the empty string (0 and "0" stay);
    md5(urldecode(http_build_query(data)) + "&key=" + app_key), lower-case hex

so the hashed text is `k=v&k=v…&key=APPKEY` with raw values, nested arrays flattened as
`parent[child]=value` in their own order at the parent's sorted place, nulls and empty arrays left
out. 萌次元 v5's variant also leaves out array values; a verifier may accept either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

OK = 200
# The text acg-faka stores as a manual item's delivery until someone fills it in, and the one a
# buyer got when a card was sold to someone else meanwhile: not goods.
PLACEHOLDERS = ("正在发货中", "有人在你付款之前抢走了")
DEFAULT_PLACEHOLDER = "正在发货中，请耐心等待，如有疑问，请联系客服。"
DUPLICATE_REQUEST = "The request ID already exists"
REQUEST_NO_MAX = 19
_BRACKETS = re.compile(r"\[([^\]]*)\]")


# -- values as PHP prints them ---------------------------------------------------------------------


def _php_text(value: Any) -> str | None:
    """A scalar as http_build_query writes it; None for what it leaves out."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        found = []
        for key, child in value.items():
            found += _pairs(f"{prefix}[{key}]", child)
        return found
    if isinstance(value, list | tuple):
        return _pairs(prefix, dict(enumerate(value)))
    text = _php_text(value)
    return [] if text is None else [(prefix, text)]


def form_pairs(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The fields of a form body for `data` (nested values as `a[b]`), in order, as PHP's
    http_build_query would send them."""
    found = []
    for key, value in data.items():
        found += _pairs(str(key), value)
    return found


def _sort_key(name: str) -> bytes:
    return name.encode("utf-8")


def signature_text(fields: Mapping[str, Any], app_key: str, *, drop_arrays: bool = False) -> str:
    """What is hashed: see the module docstring."""
    data = {k: v for k, v in fields.items() if k != "sign"}
    kept = {}
    for name in sorted(data, key=_sort_key):
        value = data[name]
        if isinstance(value, str) and value == "":
            continue
        if drop_arrays and isinstance(value, Mapping | list | tuple):
            continue
        kept[name] = value
    joined = "&".join(f"{k}={v}" for k, v in form_pairs(kept))
    return f"{joined}&key={app_key}"


def sign(fields: Mapping[str, Any], app_key: str, *, drop_arrays: bool = False) -> str:
    text = signature_text(fields, app_key, drop_arrays=drop_arrays)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def verify(fields: Mapping[str, Any], app_key: str) -> bool:
    """The request's `sign` against both variants, in constant time."""
    given = str(fields.get("sign") or "").strip().lower()
    if not given:
        return False
    return any(
        hmac.compare_digest(sign(fields, app_key, drop_arrays=variant), given)
        for variant in (False, True)
    )


def signed_body(fields: Mapping[str, Any], app_id: str, app_key: str) -> list[tuple[str, str]]:
    """What an acg-faka downstream posts: the fields, app_id and app_key (the key itself travels
    in the body, legacy behaviour) and their sign."""
    data = {**fields, "app_id": app_id, "app_key": app_key}
    data["sign"] = sign(data, app_key)
    return form_pairs(data)


# -- reading a form as PHP does --------------------------------------------------------------------


def parse_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`$_POST` for these fields: `a[b]=1` nests, `a[]=1` appends, the last of a name wins, and
    '.' or ' ' in a top-level name becomes '_'."""
    data: dict[str, Any] = {}
    for raw_name, value in pairs:
        head, _, rest = raw_name.partition("[")
        head = head.replace(".", "_").replace(" ", "_")
        if not head:
            continue
        if not rest or not raw_name.endswith("]"):
            data[head] = value
            continue
        parts = _BRACKETS.findall("[" + rest)
        node = data.get(head)
        if not isinstance(node, dict):
            node = data[head] = {}
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return data


# -- the commodity config ("INI") ------------------------------------------------------------------


def parse_config(config: Any) -> dict[str, dict[str, Any]]:
    """A commodity's `config`: an INI-like text (`[section]`, `key=value`, dotted keys nest) or
    an already parsed object. Lines that do not parse are skipped."""
    if isinstance(config, Mapping):
        return {str(k): dict(v) if isinstance(v, Mapping) else {} for k, v in config.items()}
    sections: dict[str, dict[str, Any]] = {}
    current = None
    for line in re.split(r"[\r\n]+", str(config or "").strip()):
        line = line.strip()
        if not line or line.startswith((";", "#")):
            continue
        heading = re.fullmatch(r"\[(.*)\]", line)
        if heading:
            current = sections.setdefault(heading.group(1).strip(), {})
            continue
        if current is None or line.count("=") != 1:
            continue
        left, value = (part.strip() for part in line.split("="))
        node = current
        path = left.split(".")
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    return sections


def config_text(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """The INI text of a config (nested values as dotted keys)."""

    def lines(prefix: str, values: Mapping[str, Any]) -> list[str]:
        found = []
        for key, value in values.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                found += lines(name, value)
            else:
                found.append(f"{name}={value}")
        return found

    out = []
    for section, values in sections.items():
        out.append(f"[{section}]")
        out += lines("", values)
    return "\n".join(out)


# -- money and answers -----------------------------------------------------------------------------


def yuan(cents: int) -> str:
    """12345 → "123.45" (acg-faka keeps two decimals)."""
    sign_text = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign_text}{whole}.{part:02d}"


def amount(value: Any) -> Decimal:
    """An amount as acg-faka sends it ("17.00", 17, 17.5); ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    try:
        found = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an amount: {value!r}") from None
    if not found.is_finite() or found < 0:
        raise ValueError(f"not an amount: {value!r}")
    return found


def success(data: Any = None, msg: str | None = "success") -> str:
    """`{"code":200,"msg":"success","data":…}`; some calls answer without `msg`."""
    body: dict[str, Any] = {"code": OK}
    if msg is not None:
        body["msg"] = msg
    body["data"] = [] if data is None else data
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def failure(msg: str) -> str:
    return json.dumps({"code": 0, "msg": msg}, ensure_ascii=False, separators=(",", ":"))


def secret_lines(secret: Any) -> tuple[list[str], bool]:
    """The delivered lines of a `secret` and whether anything in it was a placeholder (text that
    stands for goods still to come, not goods)."""
    lines = [line.strip() for line in str(secret or "").splitlines() if line.strip()]
    goods = [line for line in lines if not any(mark in line for mark in PLACEHOLDERS)]
    return goods, len(goods) != len(lines)


def request_no_for(reference: str) -> str:
    """Our reference as an acg-faka `request_no` (at most 19 characters, unique across the whole
    upstream site): 19 digits of its SHA-256, so the same reference is always the same number."""
    if len(reference) <= REQUEST_NO_MAX and reference.isdecimal():
        return reference
    digest = int(hashlib.sha256(reference.encode("utf-8")).hexdigest(), 16)
    return f"{digest % 10**REQUEST_NO_MAX:0{REQUEST_NO_MAX}d}"
