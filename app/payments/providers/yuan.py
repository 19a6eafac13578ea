"""Amounts as Alipay and 易支付 write them: yuan in plain decimal text ("12.34", "10.5", "1")."""

from __future__ import annotations

import re

from app.money import parse_decimal_to_units, to_decimal

_YUAN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


def yuan_text(amount_cents: int) -> str:
    """1234 -> "12.34": always two decimals, as both gateways ask."""
    return f"{to_decimal(amount_cents, 'CNY'):.2f}"


def cents_from_yuan(text: str) -> int:
    """ "12.34" -> 1234 exactly. Raises ValueError for anything that is not a plain non-negative
    amount with at most two decimals (no rounding: "12.345", "1e3" and "-1" are refused)."""
    if not isinstance(text, str) or not _YUAN.fullmatch(text):
        raise ValueError(f"not a yuan amount: {text!r}")
    cents = parse_decimal_to_units(text, 2)
    if cents is None:  # the pattern already rules this out; kept as a guard
        raise ValueError(f"not a yuan amount: {text!r}")
    return cents
