"""The supplier portal's rules: applying, the platform's review, stock uploads for the
supplier's own SKUs, cost-price proposals, and sales figures from the ledger.

Services take an audit Actor and never look at the request; callers commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.audit import services as audit
from app.auth.emails import email_problem, normalize_email
from app.auth.passwords import password_problem
from app.catalog.models import Sku, SkuTierPrice, Supplier
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.inventory import services as inventory
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from app.ledger.parties import Party
from app.supplier_portal.models import CostProposal, SupplierApplication, SupplierUser


class PortalRefused(ValueError):
    """A request the rules refuse; `field` names the form field it concerns."""

    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


@dataclass(frozen=True)
class Details:
    """What an applicant tells the platform about their business."""

    company_name: str
    contact_name: str
    contact_phone: str
    goods: str
    website: str = ""


def party(supplier_id: int) -> Party:
    return Party("supplier", supplier_id)


# -- applying -------------------------------------------------------------------------------------


def _check(details: Details) -> Details:
    clean = Details(*(value.strip() for value in vars(details).values()))
    if not 2 <= len(clean.company_name) <= 100:
        raise PortalRefused("company_name", N_("Enter the business name (2 to 100 characters)."))
    if not 2 <= len(clean.contact_name) <= 100:
        raise PortalRefused("contact_name", N_("Enter a contact person (2 to 100 characters)."))
    if not 5 <= len(clean.contact_phone) <= 40:
        raise PortalRefused("contact_phone", N_("Enter a phone number we can reach you on."))
    if not 10 <= len(clean.goods) <= 2000:
        raise PortalRefused("goods", N_("Describe what you would supply (10 to 2,000 characters)."))
    if clean.website and not clean.website.startswith(("https://", "http://")):
        raise PortalRefused("website", N_("The website must start with https:// or http://."))
    return clean


def register(email: str, password: str, details: Details) -> SupplierUser:
    """A new supplier account with its first application."""
    email = normalize_email(email)
    if problem := email_problem(email):
        raise PortalRefused("email", problem)
    if problem := password_problem(password, email=email):
        raise PortalRefused("password", problem)
    details = _check(details)
    if db.session.scalar(select(SupplierUser.id).where(SupplierUser.email == email)):
        raise PortalRefused("email", N_("This e-mail already has a supplier account; sign in."))
    user = SupplierUser(email=email, name=details.contact_name, role="owner")
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    _file(user, details)
    return user


def reapply(user: SupplierUser, details: Details) -> SupplierApplication:
    """Apply again after a rejection."""
    latest = latest_application(user)
    if latest is not None and latest.status != "rejected":
        raise PortalRefused("company_name", N_("Your application is already under review."))
    return _file(user, _check(details))


def _file(user: SupplierUser, details: Details) -> SupplierApplication:
    application = SupplierApplication(user_id=user.id, **vars(details))
    db.session.add(application)
    db.session.flush()
    audit.record(
        "supplier.apply",
        actor=audit.Actor("supplier", user.id, user.email),
        target=f"supplier_application:{application.id}",
        after={"company_name": details.company_name},
    )
    return application


def latest_application(user: SupplierUser) -> SupplierApplication | None:
    return db.session.scalar(
        select(SupplierApplication)
        .where(SupplierApplication.user_id == user.id)
        .order_by(SupplierApplication.id.desc())
        .limit(1)
    )


def waiting_applications(limit: int = 200) -> list[SupplierApplication]:
    return list(
        db.session.scalars(
            select(SupplierApplication)
            .where(SupplierApplication.status == "pending")
            .order_by(SupplierApplication.id)
            .limit(limit)
        )
    )


def applications_backlog() -> tuple[int, datetime | None]:
    count, oldest = db.session.execute(
        select(func.count(), func.min(SupplierApplication.submitted_at)).where(
            SupplierApplication.status == "pending"
        )
    ).one()
    return int(count), oldest


def review_application(
    application_id: int,
    decision: str,
    *,
    actor: audit.Actor,
    reason: str = "",
    supplier_name: str = "",
) -> SupplierApplication:
    """Approve (creating the supplier the account then acts for) or reject with a reason."""
    application = db.session.get(SupplierApplication, application_id, with_for_update=True)
    if application is None:
        raise PortalRefused("decision", N_("No such application."))
    if application.status != "pending":
        raise PortalRefused("decision", N_("This application has already been reviewed."))
    if decision == "approve":
        name = (supplier_name or application.company_name).strip()
        if not 2 <= len(name) <= 100:
            raise PortalRefused("supplier_name", N_("Enter the supplier's name (2 to 100)."))
        if db.session.scalar(select(Supplier.id).where(Supplier.name == name)):
            raise PortalRefused(
                "supplier_name", N_("Another supplier already has this name; choose another.")
            )
        user = db.session.get(SupplierUser, application.user_id)
        supplier = Supplier(
            name=name,
            contact_name=application.contact_name,
            contact_email=user.email,
            contact_phone=application.contact_phone,
        )
        db.session.add(supplier)
        db.session.flush()
        user.supplier_id = application.supplier_id = supplier.id
        application.status = "approved"
    elif decision == "reject":
        if not reason.strip():
            raise PortalRefused("reason", N_("Say why the application is rejected."))
        application.status = "rejected"
        application.reason = reason.strip()[:2000]
    else:
        raise PortalRefused("decision", N_("Choose approve or reject."))
    application.reviewed_by, application.reviewed_at = actor.email, utcnow()
    audit.record(
        f"supplier_application.{decision}",
        actor=actor,
        target=f"supplier_application:{application.id}",
        after={"status": application.status, "supplier_id": application.supplier_id},
    )
    return application


# -- stock and prices -----------------------------------------------------------------------------


def own_skus(supplier_id: int) -> list[Sku]:
    return list(
        db.session.scalars(
            select(Sku).where(Sku.supplier_id == supplier_id).order_by(Sku.product_id, Sku.id)
        )
    )


def own_sku(supplier_id: int, sku_id: int) -> Sku | None:
    """The supplier's SKU, or None: another supplier's SKU does not exist as far as it knows."""
    sku = db.session.get(Sku, sku_id)
    return sku if sku is not None and sku.supplier_id == supplier_id else None


def upload_keys(
    supplier_id: int,
    sku_id: int,
    source: Iterable[bytes | str],
    *,
    actor: audit.Actor,
    separator: str | None = None,
    origin: str = "paste",
    filename: str = "",
) -> inventory.ImportReport:
    """Card keys for one of the supplier's own SKUs, through the platform's import service."""
    sku = own_sku(supplier_id, sku_id)
    if sku is None:
        raise PortalRefused("sku", N_("No such SKU."))
    report = inventory.import_keys(
        sku,
        source,
        separator=separator,
        origin=origin,
        filename=filename,
        imported_by=f"supplier:{actor.email}",
    )
    audit.record(
        "supplier.keys.import",
        actor=actor,
        target=f"sku:{sku.code}",
        after={"batch": report.batch_id, "added": report.added},
    )
    return report


def lowest_wholesale(sku: Sku) -> int:
    tiers = db.session.scalars(
        select(SkuTierPrice.wholesale_cents).where(SkuTierPrice.sku_id == sku.id)
    ).all()
    return min([sku.wholesale_cents, *tiers])


def propose_cost(
    supplier_id: int, sku_id: int, cost_cents: int, *, actor: audit.Actor, note: str = ""
) -> CostProposal:
    sku = own_sku(supplier_id, sku_id)
    if sku is None:
        raise PortalRefused("sku", N_("No such SKU."))
    if cost_cents <= 0:
        raise PortalRefused("cost", N_("Enter a cost above zero."))
    if cost_cents == sku.cost_cents:
        raise PortalRefused("cost", N_("This is already the cost price."))
    waiting = db.session.scalar(
        select(CostProposal.id).where(
            CostProposal.sku_id == sku.id, CostProposal.status == "pending"
        )
    )
    if waiting is not None:
        raise PortalRefused("cost", N_("A proposal for this SKU is already waiting for review."))
    proposal = CostProposal(
        supplier_id=supplier_id,
        sku_id=sku.id,
        current_cost_cents=sku.cost_cents,
        proposed_cost_cents=cost_cents,
        note=note.strip()[:1000],
        proposed_by=actor.email,
    )
    db.session.add(proposal)
    db.session.flush()
    audit.record(
        "supplier.cost.propose",
        actor=actor,
        target=f"sku:{sku.code}",
        before={"cost_cents": sku.cost_cents},
        after={"cost_cents": cost_cents},
    )
    return proposal


def waiting_proposals(limit: int = 200) -> list[CostProposal]:
    return list(
        db.session.scalars(
            select(CostProposal)
            .where(CostProposal.status == "pending")
            .order_by(CostProposal.id)
            .limit(limit)
        )
    )


def proposals_backlog() -> tuple[int, datetime | None]:
    count, oldest = db.session.execute(
        select(func.count(), func.min(CostProposal.proposed_at)).where(
            CostProposal.status == "pending"
        )
    ).one()
    return int(count), oldest


def proposals_of(supplier_id: int, limit: int = 50) -> list[CostProposal]:
    return list(
        db.session.scalars(
            select(CostProposal)
            .where(CostProposal.supplier_id == supplier_id)
            .order_by(CostProposal.id.desc())
            .limit(limit)
        )
    )


def review_proposal(
    proposal_id: int, decision: str, *, actor: audit.Actor, reason: str = ""
) -> CostProposal:
    """Approve (the SKU's cost becomes the proposed one, never above its lowest wholesale
    price) or reject with a reason."""
    proposal = db.session.get(CostProposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise PortalRefused("decision", N_("No such proposal."))
    if proposal.status != "pending":
        raise PortalRefused("decision", N_("This proposal has already been reviewed."))
    sku = db.session.get(Sku, proposal.sku_id, with_for_update=True)
    if decision == "approve":
        if proposal.proposed_cost_cents > lowest_wholesale(sku):
            raise PortalRefused(
                "decision",
                N_("The cost would be above the SKU's wholesale price; change the price first."),
            )
        before = sku.cost_cents
        sku.cost_cents = proposal.proposed_cost_cents
        proposal.status = "approved"
        audit.record(
            "sku.cost.update",
            actor=actor,
            target=f"sku:{sku.code}",
            before={"cost_cents": before},
            after={"cost_cents": sku.cost_cents, "proposal": proposal.id},
        )
    elif decision == "reject":
        if not reason.strip():
            raise PortalRefused("reason", N_("Say why the proposal is rejected."))
        proposal.status = "rejected"
        proposal.reason = reason.strip()[:1000]
    else:
        raise PortalRefused("decision", N_("Choose approve or reject."))
    proposal.reviewed_by, proposal.reviewed_at = actor.email, utcnow()
    audit.record(
        f"supplier.cost.{decision}",
        actor=actor,
        target=f"cost_proposal:{proposal.id}",
        after={"status": proposal.status},
    )
    return proposal


# -- sales ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierSales:
    earned_cents: int  # cost of goods sold, net of refunds
    orders: int  # paid orders with the supplier's goods


def sales(supplier_id: int, since: datetime | None = None, currency: str = "CNY") -> SupplierSales:
    """What the supplier earned (credits to its payable account) from paid and refunded
    orders, from the ledger."""
    tx = LedgerTransaction
    rows = db.session.execute(
        select(tx.kind, func.sum(LedgerEntry.amount_cents), func.count(func.distinct(tx.id)))
        .join(LedgerEntry, LedgerEntry.transaction_id == tx.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            LedgerAccount.code == party(supplier_id).pending,
            LedgerAccount.currency == currency,
            tx.kind.in_(("order_paid", "refund")),
            *([tx.created_at >= since] if since is not None else []),
        )
        .group_by(tx.kind)
    ).all()
    earned, orders = 0, 0
    for kind, amount, count in rows:
        earned -= int(amount)  # credits are negative
        if kind == "order_paid":
            orders = int(count)
    return SupplierSales(earned, orders)
