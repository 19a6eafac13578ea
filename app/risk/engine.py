"""The rules engine: facts about one order in, a score with reasons and an outcome out.

Pure on purpose (no database, no clock, no Flask) so every rule can be tested at its boundary.
The rules: blacklists, the single-order maximum, daily maxima (contact, customer, IP), velocity
(IP, contact, device; per minute and hour), quantity caps (per order, per buyer and SKU per day),
a first-order cap for new customers on high-risk products, country by IP, the captcha threshold,
the anti-money-laundering thresholds and the store's own review threshold.
A reason either blocks (no order; the buyer sees its message), asks for a captcha first
(challenge, checkout only), or sends the order to a review queue (the platform's for
anti-money-laundering, the store's for its own threshold); with no reason the order is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from app.i18n import N_

BLOCK, CHALLENGE, REVIEW, ALLOW = "block", "challenge", "review", "allow"
PLATFORM, STORE = "platform", "store"


@dataclass(frozen=True)
class Limits:
    """Every limit in integer cents or counts; None switches a store's own rule off."""

    order_max_cents: int = 500_000
    daily_max_contact_cents: int = 2_000_000
    daily_max_customer_cents: int = 2_000_000
    daily_max_ip_cents: int = 5_000_000
    ip_per_minute: int = 5
    ip_per_hour: int = 30
    contact_per_minute: int = 3
    contact_per_hour: int = 20
    device_per_minute: int = 5
    device_per_hour: int = 30
    aml_order_cents: int = 200_000
    aml_daily_cents: int = 500_000
    store_review_over_cents: int | None = None
    # A store's own: from this many orders per minute (IP, contact or device), a captcha first.
    challenge_per_minute: int | None = None
    # A buyer with no earlier paid order may buy at most this much of high-risk products
    # (gift cards…) in one order.
    new_customer_high_risk_cents: int | None = 50_000
    # Units of one SKU: per order, and per buyer (contact or account) over 24 hours.
    quantity_per_order: int | None = None
    quantity_per_contact_day: int | None = None
    # ISO country codes by IP (GeoIP): refused ones, and if any are allowed, only those.
    blocked_countries: frozenset[str] = frozenset()
    allowed_countries: frozenset[str] = frozenset()

    def stricter(self, **own: int | None) -> Limits:
        """These limits with a store's own ones applied where they are lower (never looser)."""
        changes = {}
        for name, value in own.items():
            if value is None:
                continue
            current = getattr(self, name)
            changes[name] = value if current is None else min(current, value)
        return replace(self, **changes)


@dataclass(frozen=True)
class Hit:
    """A blacklist entry that matched: whose list (platform or store), what kind, its value."""

    scope: str
    kind: str
    value: str


@dataclass(frozen=True)
class Line:
    """One order line: its SKU, units and amount; whether the product is high-risk; the units of
    this SKU the buyer ordered over 24 hours (this line included); the SKU's own daily cap."""

    sku_id: int
    quantity: int
    amount_cents: int
    is_high_risk: bool = False
    day_quantity: int = 0
    day_quantity_max: int | None = None


@dataclass(frozen=True)
class Facts:
    """What is known about the order; the daily sums and counts include the order itself."""

    amount_cents: int
    day_contact_cents: int = 0
    day_customer_cents: int = 0
    day_ip_cents: int = 0
    ip_last_minute: int = 0
    ip_last_hour: int = 0
    contact_last_minute: int = 0
    contact_last_hour: int = 0
    device_last_minute: int = 0
    device_last_hour: int = 0
    blacklist_hits: tuple[Hit, ...] = ()
    challenge_passed: bool = False  # the buyer solved the captcha (or none can be shown)
    lines: tuple[Line, ...] = ()
    is_new_customer: bool = False  # no earlier paid order by this contact or account
    # Paid by this contact over 24 hours in every store (the anti-money-laundering total).
    day_contact_platform_cents: int = 0
    country: str = ""  # ISO code by IP; "" when unknown (no GeoIP database, private address)


@dataclass(frozen=True)
class Reason:
    code: str
    action: str  # block | challenge | review
    queue: str  # platform | store (whose rule it is)
    weight: int
    message: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Assessment:
    score: int
    outcome: str
    queue: str | None  # where a review goes: the platform's queue wins over the store's
    reasons: tuple[Reason, ...]

    @property
    def blocking(self) -> Reason | None:
        return next((r for r in self.reasons if r.action == BLOCK), None)


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def assess(facts: Facts, limits: Limits) -> Assessment:
    reasons: list[Reason] = []

    def add(code, action, queue, weight, message, **params):
        reasons.append(Reason(code, action, queue, weight, message, params))

    for hit in facts.blacklist_hits:
        add(
            f"blacklist_{hit.kind}",
            BLOCK,
            hit.scope,
            100,
            N_("This order cannot be accepted. Contact the store if you think this is a mistake."),
            value=hit.value,
        )
    if facts.amount_cents > limits.order_max_cents:
        add(
            "order_max",
            BLOCK,
            PLATFORM,
            100,
            N_("One order may be at most %(max)s. Order less at a time."),
            max=_money(limits.order_max_cents),
        )
    for code, total, limit in (
        ("daily_contact", facts.day_contact_cents, limits.daily_max_contact_cents),
        ("daily_customer", facts.day_customer_cents, limits.daily_max_customer_cents),
        ("daily_ip", facts.day_ip_cents, limits.daily_max_ip_cents),
    ):
        if total > limit:
            add(
                code,
                BLOCK,
                PLATFORM,
                100,
                N_("This would go over the daily limit of %(max)s. Try again tomorrow."),
                max=_money(limit),
            )
    for code, count, limit in (
        ("velocity_ip_minute", facts.ip_last_minute, limits.ip_per_minute),
        ("velocity_ip_hour", facts.ip_last_hour, limits.ip_per_hour),
        ("velocity_contact_minute", facts.contact_last_minute, limits.contact_per_minute),
        ("velocity_contact_hour", facts.contact_last_hour, limits.contact_per_hour),
        ("velocity_device_minute", facts.device_last_minute, limits.device_per_minute),
        ("velocity_device_hour", facts.device_last_hour, limits.device_per_hour),
    ):
        if count > limit:
            add(
                code,
                BLOCK,
                PLATFORM,
                80,
                N_("Too many orders in a short time. Wait a while and try again."),
                count=count,
                max=limit,
            )
    for line in facts.lines:
        if limits.quantity_per_order is not None and line.quantity > limits.quantity_per_order:
            add(
                "quantity_order",
                BLOCK,
                PLATFORM,
                80,
                N_("At most %(max)s of this item per order."),
                max=limits.quantity_per_order,
            )
        caps = [c for c in (limits.quantity_per_contact_day, line.day_quantity_max) if c]
        if caps and line.day_quantity > min(caps):
            add(
                "quantity_day",
                BLOCK,
                PLATFORM,
                80,
                N_("At most %(max)s of this item per buyer per day. Try again tomorrow."),
                max=min(caps),
            )
    high_risk_cents = sum(line.amount_cents for line in facts.lines if line.is_high_risk)
    cap = limits.new_customer_high_risk_cents
    if facts.is_new_customer and cap is not None and high_risk_cents > cap:
        add(
            "new_customer_cap",
            BLOCK,
            PLATFORM,
            60,
            N_("A first order of this item may be at most %(max)s. Order less this time."),
            max=_money(cap),
        )
    country = (facts.country or "").upper()
    if country and (
        country in limits.blocked_countries
        or (limits.allowed_countries and country not in limits.allowed_countries)
    ):
        add(
            "country",
            BLOCK,
            PLATFORM,
            100,
            N_("Orders from your region cannot be accepted."),
            country=country,
        )
    recent = max(facts.ip_last_minute, facts.contact_last_minute, facts.device_last_minute)
    if (
        limits.challenge_per_minute is not None
        and recent > limits.challenge_per_minute
        and not facts.challenge_passed
    ):
        add(
            "challenge_minute",
            CHALLENGE,
            STORE,
            20,
            N_("Type the characters in the picture to continue."),
            count=recent,
            max=limits.challenge_per_minute,
        )
    if facts.amount_cents >= limits.aml_order_cents:
        add(
            "aml_order", REVIEW, PLATFORM, 50, N_("Large order"), min=_money(limits.aml_order_cents)
        )
    if max(facts.day_contact_cents, facts.day_contact_platform_cents) >= limits.aml_daily_cents:
        add(
            "aml_daily",
            REVIEW,
            PLATFORM,
            50,
            N_("Large daily total for this contact"),
            min=_money(limits.aml_daily_cents),
        )
    if (
        limits.store_review_over_cents is not None
        and facts.amount_cents > limits.store_review_over_cents
    ):
        add(
            "store_review",
            REVIEW,
            STORE,
            30,
            N_("Over the store's review threshold"),
            min=_money(limits.store_review_over_cents),
        )
    score = min(100, sum(r.weight for r in reasons))
    if any(r.action == BLOCK for r in reasons):
        return Assessment(score, BLOCK, None, tuple(reasons))
    if any(r.action == CHALLENGE for r in reasons):
        return Assessment(score, CHALLENGE, None, tuple(reasons))
    review = [r for r in reasons if r.action == REVIEW]
    if review:
        queue = PLATFORM if any(r.queue == PLATFORM for r in review) else STORE
        return Assessment(score, REVIEW, queue, tuple(reasons))
    return Assessment(score, ALLOW, None, tuple(reasons))
