"""Pending money is held per business reference (an order) until settlement.

post() calls these under its account locks:
- a credit to a party's pending account opens a hold for (account, reference), due at the
  party's settlement time (T+N at 00:00 platform time);
- a debit to a pending account whose hold has already settled (a refund after settlement) is
  routed to the party's available balance instead, and what available cannot cover to `owed`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.ledger.models import LedgerHold
from app.ledger.parties import Party


def settlement_days(party: Party) -> int:
    if party.kind == "supplier":
        return int(current_app.config["SUPPLIER_SETTLEMENT_DAYS"])
    from app.billing.entitlements import entitlement
    from tenants.models import Tenant

    tenant = db.session.get(Tenant, party.id)
    if tenant is None:
        return 1
    return max(0, int(entitlement(tenant, "settlement_days") or 0))


def due_at(party: Party, posted_at: datetime) -> datetime:
    """T+N: 00:00 platform time N days after the posting's local date (N = 0: at once)."""
    days = settlement_days(party)
    if days == 0:
        return posted_at
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    local_day = posted_at.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(local_day, time.min, tzinfo=zone)


def find(code: str, currency: str, reference: str) -> LedgerHold | None:
    return db.session.scalar(
        select(LedgerHold).where(
            LedgerHold.account_code == code,
            LedgerHold.currency == currency,
            LedgerHold.reference == reference,
        )
    )


def routing_targets(lines, reference: str | None) -> set[str]:
    """Accounts a debit on a pending account may be routed to; post() locks them too."""
    targets: set[str] = set()
    if reference is None:
        return targets
    for code, amount in lines:
        party = Party.holding(code)
        if party is not None and amount > 0:
            targets |= {party.available, party.owed}
    return targets


def route(
    lines: list[tuple[str, int]],
    reference: str | None,
    currency: str,
    balance_of: Callable[[str], int],
    now: datetime,
) -> list[tuple[str, int]]:
    """The lines to post: settled pending debits re-routed, new holds opened (in the session)."""
    if reference is None:
        return lines
    routed: list[tuple[str, int]] = []
    for code, amount in lines:
        party = Party.holding(code)
        if party is None:
            routed.append((code, amount))
            continue
        hold = find(code, currency, reference)
        if amount < 0:
            if hold is None:
                db.session.add(
                    LedgerHold(
                        account_code=code,
                        currency=currency,
                        reference=reference,
                        due_at=due_at(party, now),
                    )
                )
                db.session.flush()
            routed.append((code, amount))
        elif hold is not None and hold.settled_at is not None:
            routed.extend(clawback(party, amount, balance_of))
        else:
            routed.append((code, amount))
    return routed


def clawback(party: Party, amount: int, balance_of: Callable[[str], int]) -> list[tuple[str, int]]:
    """Take `amount` back from a party: from available first, the rest becomes owed."""
    spendable = max(0, -balance_of(party.available))
    taken = min(amount, spendable)
    return [(party.available, taken), (party.owed, amount - taken)]
