"""The anti-money-laundering daily total of a contact across the whole platform.

Stores are separate shops, so the daily maxima that block a checkout are counted per store; but
money laundering is a matter for the platform (the merchant of record), so what one e-mail
address or phone number PAID over 24 hours is added up over every store. Each paid order is
recorded once per contact, as a keyed digest (no address in the clear), in the payment's own
transaction, and the total is read after the record under a per-contact lock, so two payments
at once in different stores each see the other.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import delete, func, select, text

from app.crypto import keyring
from app.db import utcnow
from app.extensions import db
from app.risk import blacklist
from app.risk.models import PaidContact

WINDOW = timedelta(hours=24)
KEEP = timedelta(hours=48)


def contact_digests(email: str, phone: str) -> list[str]:
    """The keyed digests that stand for this e-mail and phone (sorted: locks in one order)."""
    contacts = []
    if email and email.strip():
        contacts.append(f"email:{email.strip().lower()}")
    if phone and phone.strip():
        try:
            contacts.append(f"phone:{blacklist.normalise('phone', phone)}")
        except blacklist.InvalidEntry:
            contacts.append(f"phone:{phone.strip()}")
    return sorted(keyring().fingerprint(f"risk-contact:{c}".encode()).hex() for c in contacts)


def _dialect() -> str:
    from tenants.engines import registry

    return registry().platform().dialect.name


def record_paid(
    tenant_id: int, order_no: str, amount_cents: int, currency: str, *, email: str, phone: str
) -> int:
    """Record a paid order for its contacts (idempotent) and return the larger of the contacts'
    platform-wide totals over 24 hours, this order included (0 without a contact). Runs in the
    caller's (payment) transaction."""
    digests = contact_digests(email, phone)
    if not digests:
        return 0
    dialect = _dialect()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        for digest in digests:  # held until the payment commits; sorted, so no deadlock
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)},
            )
    else:  # SQLite: BEGIN IMMEDIATE already serialises every writer
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    table = PaidContact.__table__
    for digest in digests:
        db.session.execute(
            insert(table)
            .values(
                contact_digest=digest,
                tenant_id=tenant_id,
                order_no=order_no,
                amount_cents=amount_cents,
                currency=currency,
                paid_at=now,
            )
            .on_conflict_do_nothing(index_elements=["contact_digest", "tenant_id", "order_no"])
        )
    if random.random() < 0.01:  # older rows no longer count: sweep them now and then
        db.session.execute(delete(table).where(table.c.paid_at < now - KEEP))
    totals = db.session.execute(
        select(func.coalesce(func.sum(table.c.amount_cents), 0))
        .where(table.c.contact_digest.in_(digests), table.c.paid_at >= now - WINDOW)
        .group_by(table.c.contact_digest)
    ).scalars()
    return max(totals, default=0)
