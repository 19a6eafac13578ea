"""Platform console money pages: the finance overview and the review queues for withdrawals
and real-name verification."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.audit import services as audit
from app.audit.web import current_actor
from app.catalog.models import Supplier
from app.extensions import db
from app.i18n import translate
from app.kyc import services as kyc
from app.kyc.models import Verification
from app.ledger.parties import KINDS, Party
from app.ledger.statements import overview
from app.platform.views import bp, platform_login_required
from app.web.site import render_console
from app.withdrawals import services as withdrawals
from tenants.models import Tenant


def _owner_only() -> None:
    if current_user.role != "owner":
        abort(403)


def _party_names(parties: list[str]) -> dict[str, str]:
    """ "store:12" → the store's name and slug; "supplier:3" → the supplier's name."""
    names = {p: p for p in parties}
    ids = {kind: [Party.parse(p).id for p in parties if p.startswith(f"{kind}:")] for kind in KINDS}
    if ids["store"]:
        for tenant in db.session.scalars(select(Tenant).where(Tenant.id.in_(ids["store"]))):
            names[f"store:{tenant.id}"] = f"{tenant.name} ({tenant.slug})"
    if ids["supplier"]:
        for supplier in db.session.scalars(
            select(Supplier).where(Supplier.id.in_(ids["supplier"]))
        ):
            names[f"supplier:{supplier.id}"] = supplier.name
    return names


@bp.get("/finance")
@platform_login_required
def finance():
    return render_console(
        "platform/finance.html",
        figures=overview(),
        waiting_withdrawals=len(withdrawals.queue()),
        waiting_verifications=len(kyc.pending()),
    )


@bp.get("/withdrawals")
@platform_login_required
def withdrawal_queue():
    queue = withdrawals.queue()
    return render_console(
        "platform/withdrawals.html",
        queue=queue,
        names=_party_names([w.party for w in queue]),
        balances={w.party: withdrawals.balances(Party.parse(w.party)) for w in queue},
        is_owner=current_user.role == "owner",
    )


@bp.get("/withdrawals/<withdrawal_no>/account")
@platform_login_required
def withdrawal_account(withdrawal_no: str):
    """The full destination for whoever pays it out (owners only, audited)."""
    _owner_only()
    withdrawal = db.session.scalar(
        select(withdrawals.Withdrawal).where(withdrawals.Withdrawal.withdrawal_no == withdrawal_no)
    )
    if withdrawal is None:
        abort(404)
    number = withdrawals.account_number(withdrawal)
    audit.record(
        "withdrawal.reveal_account",
        actor=current_actor(),
        tenant_id=Party.parse(withdrawal.party).tenant_id,
        target=f"withdrawal:{withdrawal.withdrawal_no}",
    )
    db.session.commit()
    return Response(number, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.post("/withdrawals/<withdrawal_no>")
@platform_login_required
def review_withdrawal(withdrawal_no: str):
    _owner_only()
    decision = request.form.get("decision")
    try:
        if decision == "approve":
            withdrawals.approve(
                withdrawal_no, request.form.get("payout_reference", ""), actor=current_actor()
            )
        elif decision == "reject":
            withdrawals.reject(withdrawal_no, request.form.get("reason", ""), actor=current_actor())
        else:
            abort(400)
    except withdrawals.WithdrawalRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
    else:
        db.session.commit()
        flash(translate("Withdrawal %(no)s reviewed.", no=withdrawal_no), "success")
    return redirect(url_for("platform.withdrawal_queue"))


@bp.get("/verifications")
@platform_login_required
def verification_queue():
    queue = kyc.pending()
    return render_console(
        "platform/verifications.html",
        queue=queue,
        names=_party_names([v.party for v in queue]),
    )


def _verification(verification_id: int) -> Verification:
    verification = db.session.get(Verification, verification_id)
    if verification is None:
        abort(404)
    return verification


@bp.get("/verifications/<int:verification_id>")
@platform_login_required
def verification_detail(verification_id: int):
    _owner_only()
    verification = _verification(verification_id)
    revealed = kyc.reveal(verification, actor=current_actor())
    db.session.commit()  # the reveal's audit event
    return render_console(
        "platform/verification.html",
        verification=verification,
        revealed=revealed,
        name=_party_names([verification.party])[verification.party],
    )


@bp.get("/verifications/<int:verification_id>/licence")
@platform_login_required
def verification_licence(verification_id: int):
    _owner_only()
    found = kyc.licence_image(_verification(verification_id))
    if found is None:
        abort(404)
    data, mimetype = found
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "private, no-store"})


@bp.post("/verifications/<int:verification_id>")
@platform_login_required
def review_verification(verification_id: int):
    _owner_only()
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        kyc.review(
            verification_id,
            approve=decision == "approve",
            reason=request.form.get("reason", ""),
            actor=current_actor(),
        )
    except kyc.VerificationRefused as refused:
        db.session.rollback()
        flash(translate(refused.message), "error")
        return redirect(url_for("platform.verification_detail", verification_id=verification_id))
    db.session.commit()
    flash(translate("Verification reviewed."), "success")
    return redirect(url_for("platform.verification_queue"))
