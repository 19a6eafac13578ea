"""The risk rules engine at every boundary, and blacklist matching (pure: no database)."""

import pytest

from app.risk import blacklist
from app.risk.engine import (
    ALLOW,
    BLOCK,
    CHALLENGE,
    PLATFORM,
    REVIEW,
    STORE,
    Facts,
    Hit,
    Limits,
    Line,
    assess,
)

LIMITS = Limits()


def codes(assessment):
    return [r.code for r in assessment.reasons]


def test_defaults_are_the_documented_ones():
    assert LIMITS.order_max_cents == 500_000  # 5,000 CNY
    assert LIMITS.aml_order_cents == 200_000 and LIMITS.aml_daily_cents == 500_000


def test_a_small_order_is_allowed_with_score_zero():
    result = assess(Facts(amount_cents=1000, day_contact_cents=1000), LIMITS)
    assert (result.outcome, result.score, result.reasons, result.queue) == (ALLOW, 0, (), None)


@pytest.mark.parametrize(
    "amount, outcome", [(499_999, REVIEW), (500_000, REVIEW), (500_001, BLOCK)]
)  # at the maximum: allowed by the maximum (the AML threshold still reviews it)
def test_single_order_maximum_boundary(amount, outcome):
    result = assess(Facts(amount_cents=amount, day_contact_cents=amount), LIMITS)
    assert result.outcome == outcome
    assert ("order_max" in codes(result)) is (outcome == BLOCK)


@pytest.mark.parametrize(
    "field, limit_name",
    [
        ("day_contact_cents", "daily_max_contact_cents"),
        ("day_customer_cents", "daily_max_customer_cents"),
        ("day_ip_cents", "daily_max_ip_cents"),
    ],
)
def test_daily_maxima_boundaries(field, limit_name):
    limits = Limits(aml_daily_cents=10**12)
    limit = getattr(limits, limit_name)
    below = assess(Facts(amount_cents=100, **{field: limit - 1}), limits)
    at = assess(Facts(amount_cents=100, **{field: limit}), limits)
    over = assess(Facts(amount_cents=100, **{field: limit + 1}), limits)
    assert below.outcome == ALLOW and at.outcome == ALLOW
    assert over.outcome == BLOCK and over.blocking.code.startswith("daily_")
    assert over.blocking.params["max"] == f"{limit / 100:.2f}"


@pytest.mark.parametrize(
    "field, limit_name",
    [
        ("ip_last_minute", "ip_per_minute"),
        ("ip_last_hour", "ip_per_hour"),
        ("contact_last_minute", "contact_per_minute"),
        ("contact_last_hour", "contact_per_hour"),
        ("device_last_minute", "device_per_minute"),
        ("device_last_hour", "device_per_hour"),
    ],
)
def test_velocity_boundaries(field, limit_name):
    limit = getattr(LIMITS, limit_name)
    assert assess(Facts(amount_cents=100, **{field: limit - 1}), LIMITS).outcome == ALLOW
    assert assess(Facts(amount_cents=100, **{field: limit}), LIMITS).outcome == ALLOW
    over = assess(Facts(amount_cents=100, **{field: limit + 1}), LIMITS)
    assert over.outcome == BLOCK and over.blocking.code.startswith("velocity_")
    assert over.blocking.params == {"count": limit + 1, "max": limit}


def test_aml_order_threshold_sends_to_the_platform_at_exactly_2000_cny():
    below = assess(Facts(amount_cents=199_999, day_contact_cents=199_999), LIMITS)
    at = assess(Facts(amount_cents=200_000, day_contact_cents=200_000), LIMITS)
    assert below.outcome == ALLOW
    assert (at.outcome, at.queue, codes(at)) == (REVIEW, PLATFORM, ["aml_order"])
    assert at.score == 50


def test_aml_daily_threshold_at_exactly_5000_cny_per_contact():
    below = assess(Facts(amount_cents=100, day_contact_cents=499_999), LIMITS)
    at = assess(Facts(amount_cents=100, day_contact_cents=500_000), LIMITS)
    assert below.outcome == ALLOW
    assert (at.outcome, at.queue, codes(at)) == (REVIEW, PLATFORM, ["aml_daily"])


def test_the_store_threshold_goes_to_the_store_queue_unless_the_platform_also_reviews():
    limits = Limits(store_review_over_cents=10_000)
    assert assess(Facts(amount_cents=10_000), limits).outcome == ALLOW
    own = assess(Facts(amount_cents=10_001), limits)
    assert (own.outcome, own.queue, codes(own)) == (REVIEW, STORE, ["store_review"])
    both = assess(Facts(amount_cents=300_000, day_contact_cents=300_000), limits)
    assert both.queue == PLATFORM and set(codes(both)) == {"aml_order", "store_review"}
    assert both.score == 80


def test_a_blacklist_hit_blocks_with_score_100_and_blocking_wins_over_review():
    hit = Hit(STORE, "email", "*@spam.example")
    result = assess(Facts(amount_cents=300_000, blacklist_hits=(hit,)), LIMITS)
    assert result.outcome == BLOCK and result.score == 100
    assert result.blocking.code == "blacklist_email" and result.queue is None


def test_store_limits_only_ever_tighten():
    limits = LIMITS.stricter(order_max_cents=100_000, ip_per_minute=50, daily_max_ip_cents=None)
    assert limits.order_max_cents == 100_000  # stricter: taken
    assert limits.ip_per_minute == LIMITS.ip_per_minute  # looser: ignored
    assert limits.daily_max_ip_cents == LIMITS.daily_max_ip_cents
    assert LIMITS.stricter(store_review_over_cents=5_000).store_review_over_cents == 5_000


@pytest.mark.parametrize(
    "entry, email, expected",
    [
        ("*@spam.example", "bob@spam.example", True),
        ("*@spam.example", "BOB@Spam.Example", True),
        ("*@spam.example", "bob@notspam.example", False),
        ("*@spam.example", "bob@sub.spam.example", False),
        ("*@*.spam.example", "bob@sub.spam.example", True),
        ("bob@example.com", "bob@example.com", True),
        ("bob@example.com", "bobby@example.com", False),
    ],
)
def test_email_wildcards(entry, email, expected):
    stored = blacklist.normalise("email", entry)
    assert blacklist.matches("email", stored, ip="", email=email, phone="", customer_id=None) is (
        expected
    )


@pytest.mark.parametrize(
    "entry, ip, expected",
    [
        ("10.0.0.0/24", "10.0.0.0", True),
        ("10.0.0.0/24", "10.0.0.255", True),
        ("10.0.0.0/24", "10.0.1.0", False),
        ("10.0.0.7", "10.0.0.7", True),
        ("10.0.0.7", "10.0.0.8", False),
        ("2001:db8::/32", "2001:db8::1", True),
        ("2001:db8::/32", "10.0.0.1", False),
        ("10.0.0.0/24", "not-an-ip", False),
    ],
)
def test_ip_and_cidr(entry, ip, expected):
    stored = blacklist.normalise("ip", entry)
    assert blacklist.matches("ip", stored, ip=ip, email="", phone="", customer_id=None) is expected


def test_phone_and_customer_entries():
    phone = blacklist.normalise("phone", "138-0013-8000")
    assert blacklist.matches("phone", phone, ip="", email="", phone="13800138000", customer_id=None)
    assert not blacklist.matches(
        "phone", phone, ip="", email="", phone="13800138001", customer_id=None
    )
    assert blacklist.matches("customer", "42", ip="", email="", phone="", customer_id=42)
    assert not blacklist.matches("customer", "42", ip="", email="", phone="", customer_id=None)


@pytest.mark.parametrize(
    "kind, value",
    [("ip", "999.1.1.1"), ("email", "nobody"), ("email", "@x.com"), ("phone", "12"),
     ("customer", "x1"), ("device", "abc")],
)  # fmt: skip
def test_invalid_entries_are_refused(kind, value):
    with pytest.raises(blacklist.InvalidEntry):
        blacklist.normalise(kind, value)


def test_the_captcha_challenge_from_the_stores_threshold_until_solved():
    limits = Limits(challenge_per_minute=2)
    assert assess(Facts(amount_cents=100, ip_last_minute=2), limits).outcome == ALLOW
    asked = assess(Facts(amount_cents=100, contact_last_minute=3), limits)
    assert asked.outcome == CHALLENGE and codes(asked) == ["challenge_minute"]
    solved = Facts(amount_cents=100, ip_last_minute=3, challenge_passed=True)
    assert assess(solved, limits).outcome == ALLOW
    # blocking still wins; a challenge comes before any review
    over = Facts(amount_cents=100, ip_last_minute=LIMITS.ip_per_minute + 1)
    assert assess(over, limits).outcome == BLOCK
    big = Facts(amount_cents=300_000, day_contact_cents=300_000, ip_last_minute=3)
    assert assess(big, limits).outcome == CHALLENGE
    assert assess(Facts(amount_cents=100, ip_last_minute=99), LIMITS).outcome == BLOCK
    assert assess(Facts(amount_cents=100, ip_last_minute=4), LIMITS).outcome == ALLOW  # off


def test_the_device_counts_towards_the_captcha_threshold_too():
    limits = Limits(challenge_per_minute=2)
    assert assess(Facts(amount_cents=100, device_last_minute=2), limits).outcome == ALLOW
    asked = assess(Facts(amount_cents=100, device_last_minute=3), limits)
    assert asked.outcome == CHALLENGE and asked.reasons[0].params == {"count": 3, "max": 2}


def high_risk(amount, *, new=True, cap=50_000):
    line = Line(sku_id=1, quantity=1, amount_cents=amount, is_high_risk=True, day_quantity=1)
    facts = Facts(amount_cents=amount, day_contact_cents=amount, lines=(line,), is_new_customer=new)
    return assess(facts, Limits(new_customer_high_risk_cents=cap))


@pytest.mark.parametrize("amount, outcome", [(49_999, ALLOW), (50_000, ALLOW), (50_001, BLOCK)])
def test_first_order_cap_for_new_customers_on_high_risk_products(amount, outcome):
    result = high_risk(amount)
    assert result.outcome == outcome
    if outcome == BLOCK:
        assert codes(result) == ["new_customer_cap"]
        assert result.blocking.params == {"max": "500.00"}


def test_the_first_order_cap_spares_returning_customers_and_ordinary_products():
    assert high_risk(150_000, new=False).outcome == ALLOW
    assert high_risk(150_000, cap=None).outcome == ALLOW  # switched off
    ordinary = Line(sku_id=1, quantity=1, amount_cents=150_000, day_quantity=1)
    facts = Facts(amount_cents=150_000, lines=(ordinary,), is_new_customer=True)
    assert assess(facts, LIMITS).outcome == ALLOW
    # only the high-risk part of an order counts towards the cap
    mixed = (Line(2, 1, 40_000, is_high_risk=True, day_quantity=1), ordinary)
    facts = Facts(amount_cents=190_000, lines=mixed, is_new_customer=True)
    assert assess(facts, LIMITS).outcome == ALLOW


@pytest.mark.parametrize("quantity, outcome", [(4, ALLOW), (5, ALLOW), (6, BLOCK)])
def test_quantity_per_order_boundary(quantity, outcome):
    line = Line(sku_id=1, quantity=quantity, amount_cents=100 * quantity, day_quantity=quantity)
    result = assess(
        Facts(amount_cents=line.amount_cents, lines=(line,)), Limits(quantity_per_order=5)
    )
    assert result.outcome == outcome
    if outcome == BLOCK:
        assert codes(result) == ["quantity_order"] and result.blocking.params == {"max": 5}


@pytest.mark.parametrize(
    "store_cap, sku_cap, day_quantity, outcome",
    [
        (10, None, 9, ALLOW),
        (10, None, 10, ALLOW),
        (10, None, 11, BLOCK),
        (None, 3, 3, ALLOW),
        (None, 3, 4, BLOCK),  # the SKU's own cap from the catalog
        (10, 3, 4, BLOCK),  # the lower of the two applies
        (2, 3, 3, BLOCK),
        (None, None, 10_000, ALLOW),  # no cap at all
    ],
)
def test_quantity_per_buyer_per_day_boundary(store_cap, sku_cap, day_quantity, outcome):
    line = Line(1, 1, 100, day_quantity=day_quantity, day_quantity_max=sku_cap)
    result = assess(
        Facts(amount_cents=100, lines=(line,)), Limits(quantity_per_contact_day=store_cap)
    )
    assert result.outcome == outcome
    if outcome == BLOCK:
        assert codes(result) == ["quantity_day"]
        assert result.blocking.params == {"max": min(c for c in (store_cap, sku_cap) if c)}


@pytest.mark.parametrize(
    "country, blocked, allowed, outcome",
    [
        ("KP", {"KP"}, set(), BLOCK),
        ("kp", {"KP"}, set(), BLOCK),
        ("CN", {"KP"}, set(), ALLOW),
        ("CN", set(), {"CN", "HK"}, ALLOW),
        ("US", set(), {"CN", "HK"}, BLOCK),
        ("", {"KP"}, {"CN"}, ALLOW),  # unknown (no database, private address): not refused
    ],
)
def test_country_by_ip(country, blocked, allowed, outcome):
    limits = Limits(blocked_countries=frozenset(blocked), allowed_countries=frozenset(allowed))
    result = assess(Facts(amount_cents=100, country=country), limits)
    assert result.outcome == outcome
    if outcome == BLOCK:
        assert codes(result) == ["country"] and result.score == 100


def test_aml_daily_counts_the_contacts_paid_total_across_the_platform():
    below = Facts(amount_cents=100, day_contact_cents=100, day_contact_platform_cents=499_999)
    at = Facts(amount_cents=100, day_contact_cents=100, day_contact_platform_cents=500_000)
    assert assess(below, LIMITS).outcome == ALLOW
    result = assess(at, LIMITS)
    assert (result.outcome, result.queue, codes(result)) == (REVIEW, PLATFORM, ["aml_daily"])
