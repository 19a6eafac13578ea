"""The store's customer relationship tools: find customers, see one whole (orders, balance,
level, referrals), tag and annotate them, block or unblock them, export the list masked.

Every change by staff is audited (app.audit record()) in the same transaction as the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from app.audit.services import Actor, changes, record
from app.customers.models import Customer
from app.extensions import db
from app.i18n import N_
from app.masking import mask_email, mask_name, mask_phone

MAX_TAGS = 10
TAG_PATTERN = re.compile(r"[\w\- ]{1,20}")
MAX_NOTES = 4000


class CrmError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CustomerFilter:
    query: str = ""
    tag: str = ""
    blocked: str = ""  # "" all, "yes", "no"

    @classmethod
    def from_args(cls, args) -> CustomerFilter:
        blocked = args.get("blocked", "")
        return cls(
            query=(args.get("q") or "").strip()[:100],
            tag=(args.get("tag") or "").strip()[:20],
            blocked=blocked if blocked in ("yes", "no") else "",
        )

    def as_args(self) -> dict:
        return {
            k: v
            for k, v in {"q": self.query, "tag": self.tag, "blocked": self.blocked}.items()
            if v
        }


def filtered(criteria: CustomerFilter) -> Select:
    """The bound store's customers matching e-mail, phone or name, a tag, blocked or not."""
    statement = select(Customer)
    if criteria.query:
        needle = f"%{criteria.query.lower()}%"
        statement = statement.where(
            or_(
                func.lower(Customer.email).like(needle),
                Customer.phone.like(f"%{criteria.query}%"),
                func.lower(Customer.name).like(needle),
            )
        )
    if criteria.tag:
        # Tags are stored ",a,b," so one tag matches whole.
        statement = statement.where(Customer.tags.like(f"%,{criteria.tag},%"))
    if criteria.blocked:
        statement = statement.where(Customer.is_blocked.is_(criteria.blocked == "yes"))
    return statement


def customer_or_none(customer_id: int) -> Customer | None:
    return db.session.get(Customer, customer_id)


def clean_tags(text: str) -> str:
    """ "vip, wholesale" → ",vip,wholesale," (each tag checked, duplicates dropped)."""
    tags: list[str] = []
    for raw in (text or "").replace("，", ",").split(","):
        tag = raw.strip()
        if not tag:
            continue
        if not TAG_PATTERN.fullmatch(tag):
            raise CrmError("tags", N_("Tags are up to 20 letters, digits, spaces or dashes."))
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise CrmError("tags", N_("At most 10 tags."))
    stored = f",{','.join(tags)}," if tags else ""
    if len(stored) > 200:
        raise CrmError("tags", N_("At most 10 tags."))
    return stored


def update_profile(customer: Customer, *, tags: str, notes: str, actor: Actor, tenant_id: int):
    """Tags and notes (staff only). Audited; caller commits."""
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise CrmError("notes", N_("Notes are at most 4000 characters."))
    stored = clean_tags(tags)
    before = {"tags": customer.tags, "notes": customer.notes}
    after = {"tags": stored, "notes": notes}
    customer.tags, customer.notes = stored, notes
    old, new = changes(before, after)
    if new:
        record(
            "customer.updated",
            actor=actor,
            tenant_id=tenant_id,
            target=f"customer:{customer.id}",
            before=old,
            after=new,
        )


def set_blocked(customer: Customer, blocked: bool, *, actor: Actor, tenant_id: int) -> None:
    """Block (no sign-in, no orders) or unblock a customer. Audited; caller commits."""
    if customer.is_blocked == blocked:
        return
    record(
        "customer.blocked" if blocked else "customer.unblocked",
        actor=actor,
        tenant_id=tenant_id,
        target=f"customer:{customer.id}",
        before={"is_blocked": customer.is_blocked},
        after={"is_blocked": blocked},
    )
    customer.is_blocked = blocked


def export_rows(criteria: CustomerFilter, tenant_id: int, batch: int = 500):
    """The filtered list for CSV, personal data masked: a header, then one row per customer."""
    from app.customers import balance, levels

    table = levels.levels()
    yield [
        "id",
        "email",
        "name",
        "phone",
        "level",
        "paid_spend",
        "balance",
        "tags",
        "blocked",
        "joined",
    ]
    after_id = 0
    while True:
        rows = db.session.scalars(
            filtered(criteria).where(Customer.id > after_id).order_by(Customer.id).limit(batch)
        ).all()
        if not rows:
            return
        for customer in rows:
            yield [
                customer.id,
                mask_email(customer.email),
                mask_name(customer.name),
                mask_phone(customer.phone),
                levels.level_for(customer.paid_spend_cents, table).code,
                f"{customer.paid_spend_cents / 100:.2f}",
                f"{balance.balance_cents(tenant_id, customer.id) / 100:.2f}",
                ";".join(customer.tag_list),
                "yes" if customer.is_blocked else "no",
                customer.created_at.date().isoformat(),
            ]
        after_id = rows[-1].id
