"""The pricing engine, by example and by property (hypothesis)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pricing.engine import (
    Markup,
    RuleSet,
    discounted,
    quote,
    retail_price,
    round_price,
    unclamped_retail,
)

cents = st.integers(min_value=0, max_value=10**9)
modes = st.sampled_from(["none", "up_10", "up_100", "end_90"])
percent_bp = st.integers(min_value=-5000, max_value=50_000)
fixed_cents = st.integers(min_value=-(10**6), max_value=10**7)


@pytest.mark.parametrize(
    ("wholesale", "markup", "expected"),
    [
        (1000, Markup("percent", 1500), 1150),
        (999, Markup("percent", 1000), 1099),  # 99.9 → 100 (half up)
        (1005, Markup("percent", 500), 1055),  # 50.25 → 50
        (1000, Markup("fixed", 250), 1250),
        (1000, Markup("percent", 1234, "up_10"), 1130),
        (1000, Markup("percent", 1234, "up_100"), 1200),
        (1000, Markup("percent", 1234, "end_90"), 1190),
        (1000, Markup("fixed", 90, "end_90"), 1090),
        (1000, Markup("fixed", 91, "end_90"), 1190),
        (1000, Markup("percent", -2000), 1000),  # below wholesale: clamped
        (1000, None, 1000),
    ],
)
def test_retail_examples(wholesale, markup, expected):
    assert retail_price(wholesale, markup) == expected


def test_level_discount_applies_after_markup_and_stops_at_wholesale():
    q = quote(1000, Markup("percent", 2000), "store", discount_bp=500)
    assert (q.retail_cents, q.price_cents, q.profit_cents) == (1200, 1140, 140)
    assert quote(1000, Markup("percent", 500), "store", discount_bp=5000).price_cents == 1000


def test_the_most_specific_rule_wins():
    rules = RuleSet(
        {
            ("store", 0): Markup("percent", 1000),
            ("category", 7): Markup("percent", 2000),
            ("category", 3): Markup("percent", 2500),
            ("product", 5): Markup("fixed", 300),
            ("sku", 9): Markup("fixed", 100),
        }
    )
    assert rules.for_sku(9, 5, [7, 3])[0] == "sku"
    assert rules.for_sku(8, 5, [7, 3]) == ("product", Markup("fixed", 300))
    assert rules.for_sku(8, 6, [7, 3]) == ("category", Markup("percent", 2000))
    assert rules.for_sku(8, 6, [4, 3]) == ("category", Markup("percent", 2500))
    assert rules.for_sku(8, 6, [4]) == ("store", Markup("percent", 1000))
    assert RuleSet({}).for_sku(8, 6, [4]) == (None, None)


@given(
    cents,
    st.one_of(
        st.none(),
        st.builds(Markup, st.just("percent"), percent_bp, modes),
        st.builds(Markup, st.just("fixed"), fixed_cents, modes),
    ),
    st.integers(min_value=0, max_value=10_000),
)
def test_never_below_wholesale(wholesale, markup, discount_bp):
    q = quote(wholesale, markup, "store", discount_bp)
    assert q.price_cents >= wholesale
    assert q.retail_cents >= wholesale
    assert isinstance(q.price_cents, int)


@given(cents, percent_bp, percent_bp, modes)
def test_monotonic_in_percent_markup(wholesale, a, b, mode):
    low, high = sorted((a, b))
    assert retail_price(wholesale, Markup("percent", low, mode)) <= retail_price(
        wholesale, Markup("percent", high, mode)
    )


@given(cents, fixed_cents, fixed_cents, modes)
def test_monotonic_in_fixed_markup(wholesale, a, b, mode):
    low, high = sorted((a, b))
    assert retail_price(wholesale, Markup("fixed", low, mode)) <= retail_price(
        wholesale, Markup("fixed", high, mode)
    )


@given(st.integers(min_value=1, max_value=10**9))
def test_rounding_is_exact_and_upwards(value):
    for mode, unit in (("up_10", 10), ("up_100", 100)):
        rounded = round_price(value, mode)
        assert rounded % unit == 0 and 0 <= rounded - value < unit
    rounded = round_price(value, "end_90")
    assert rounded % 100 == 90 and 0 <= rounded - value < 100
    assert round_price(value, "none") == value


@given(cents, st.integers(min_value=0, max_value=50_000), modes)
def test_non_negative_markups_are_rounded_exactly(wholesale, bp, mode):
    price = retail_price(wholesale, Markup("percent", bp, mode))
    assert price == unclamped_retail(wholesale, Markup("percent", bp, mode))
    if mode == "up_10" and price:
        assert price % 10 == 0


@given(cents, st.integers(min_value=0, max_value=10_000), cents)
def test_discount_is_floored_and_bounded(retail, bp, wholesale):
    result = discounted(retail, bp, min(wholesale, retail))
    assert min(wholesale, retail) <= result <= retail
