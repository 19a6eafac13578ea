"""Money display: integer minor units to a localised string, in one place."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency

MINOR_UNITS = {"JPY": 0, "KRW": 0}


def to_decimal(cents: int, currency: str = "CNY") -> Decimal:
    return Decimal(cents).scaleb(-MINOR_UNITS.get(currency, 2))


def format_money(cents: int | None, currency: str = "CNY") -> str:
    if cents is None:
        return ""
    return format_currency(to_decimal(cents, currency), currency)


def parse_decimal_to_units(text: str, exponent: int = 2) -> int | None:
    """ "12.5" → 1250 (exponent 2); None when it is not a plain decimal number."""
    try:
        value = Decimal((text or "").strip())
    except ArithmeticError:
        return None
    if not value.is_finite():
        return None
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)
