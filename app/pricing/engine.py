"""The pricing engine: pure functions on integer cents, for every price a customer sees or pays.

Order of operations, each step rounding exactly once:
1. wholesale — what the store pays the platform for the SKU at its plan tier;
2. markup — the most specific store rule (SKU > product > category, nearest first > store):
   percent in basis points (1500 = 15 %, half-up to the cent) or a fixed amount in cents;
3. rounding — the rule's rounding mode, always upwards (so it never cuts into the markup);
4. customer-level discount — basis points off the rounded retail price, floored to the cent;
and the result is never below wholesale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ROUNDING_MODES = ("none", "up_10", "up_100", "end_90")
MARKUP_KINDS = ("percent", "fixed")
SCOPES = ("sku", "product", "category", "store")
BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Markup:
    kind: str  # "percent" (value in basis points) or "fixed" (value in cents)
    value: int
    rounding: str = "none"


@dataclass(frozen=True)
class Quote:
    wholesale_cents: int
    retail_cents: int  # after markup and rounding, before any customer discount
    price_cents: int  # what this customer pays per unit
    rule_scope: str | None  # which rule priced it (None: no rule, sold at wholesale)

    @property
    def profit_cents(self) -> int:
        return self.price_cents - self.wholesale_cents


def _half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def markup_amount(wholesale_cents: int, markup: Markup) -> int:
    if markup.kind == "percent":
        return _half_up_div(wholesale_cents * markup.value, BASIS_POINTS)
    if markup.kind == "fixed":
        return markup.value
    raise ValueError(f"unknown markup kind {markup.kind!r}")


def round_price(cents: int, mode: str) -> int:
    """Round upwards: to 0.10 (up_10), to a whole unit (up_100), or to the next x.90 (end_90)."""
    if mode == "none" or cents <= 0:
        return max(cents, 0)
    if mode == "up_10":
        return -(-cents // 10) * 10
    if mode == "up_100":
        return -(-cents // 100) * 100
    if mode == "end_90":
        base = cents - cents % 100
        return base + 90 if cents % 100 <= 90 else base + 190
    raise ValueError(f"unknown rounding mode {mode!r}")


def retail_price(wholesale_cents: int, markup: Markup | None) -> int:
    """The store's price before customer discounts; never below wholesale."""
    if markup is None:
        return wholesale_cents
    raw = wholesale_cents + markup_amount(wholesale_cents, markup)
    return max(round_price(raw, markup.rounding), wholesale_cents)


def unclamped_retail(wholesale_cents: int, markup: Markup) -> int:
    """What a rule would charge if nothing stopped it: used to refuse rules below wholesale."""
    return round_price(wholesale_cents + markup_amount(wholesale_cents, markup), markup.rounding)


def discounted(retail_cents: int, discount_bp: int, wholesale_cents: int) -> int:
    """A customer-level discount off retail, floored to the cent, never below wholesale."""
    if discount_bp <= 0:
        return retail_cents
    discount = retail_cents * min(discount_bp, BASIS_POINTS) // BASIS_POINTS
    return max(retail_cents - discount, wholesale_cents)


def quote(
    wholesale_cents: int,
    markup: Markup | None,
    rule_scope: str | None = None,
    discount_bp: int = 0,
) -> Quote:
    retail = retail_price(wholesale_cents, markup)
    return Quote(
        wholesale_cents=wholesale_cents,
        retail_cents=retail,
        price_cents=discounted(retail, discount_bp, wholesale_cents),
        rule_scope=rule_scope if markup is not None else None,
    )


# -- prices that come from elsewhere (docked upstreams) --------------------------------------------

MAX_RATE = Decimal(1000)


def parse_rate(text: object) -> Decimal:
    """An exchange rate: a positive decimal number (upstream units → our units), e.g. "7.1"."""
    try:
        rate = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a rate: {text!r}") from None
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        raise ValueError(f"a rate must be above 0 and at most {MAX_RATE}")
    return rate


def converted_cents(amount: Decimal, rate: Decimal = Decimal(1)) -> int:
    """An upstream amount in its major unit ("17.50"), times the rate, in our cents: rounded
    half-up to the cent, once. Raises ValueError for what is not a finite amount."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    cents = (amount * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(cents)


def wholesale_from_cost(cost_cents: int, markup_bp: int, rounding: str = "none") -> int:
    """The platform's wholesale price for goods bought elsewhere: cost plus a percentage, rounded
    upwards by the rounding mode (the same arithmetic as a store's markup on wholesale)."""
    return retail_price(cost_cents, Markup("percent", markup_bp, rounding))


@dataclass(frozen=True)
class RuleSet:
    """A store's markup rules keyed by (scope, target id); the store rule has target 0."""

    rules: dict[tuple[str, int], Markup]

    def for_sku(
        self, sku_id: int, product_id: int, category_path: Sequence[int]
    ) -> tuple[str | None, Markup | None]:
        """The most specific rule: SKU, product, category (nearest first), store."""
        candidates = [("sku", sku_id), ("product", product_id)]
        candidates += [("category", category_id) for category_id in category_path]
        candidates.append(("store", 0))
        for key in candidates:
            markup = self.rules.get(key)
            if markup is not None:
                return key[0], markup
        return None, None
