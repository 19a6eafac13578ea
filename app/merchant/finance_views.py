"""Store back-office money pages: balances, withdrawals, real-name verification, statement,
and the store's referral link."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)

from app.audit.web import current_actor
from app.extensions import db, limiter
from app.i18n import translate
from app.kyc import services as kyc
from app.kyc.forms import VerificationForm
from app.ledger.parties import store as store_party
from app.ledger.statements import ACCOUNT_NAMES, statement
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.money import format_money, to_decimal
from app.referrals import services as referrals
from app.web.site import render_console
from app.web.urls import platform_url, tenant_url
from app.withdrawals import services as withdrawals
from app.withdrawals.forms import WithdrawalForm
from tenants.context import current_tenant


def _may_move_money() -> bool:
    return may("withdraw")


def _page(withdrawal_form=None, verification_form=None, status=200):
    store = current_tenant._get_current_object()
    party = store_party(store.id)
    return render_console(
        "merchant/finance.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        balances=withdrawals.balances(party),
        verification=kyc.current(party.key),
        withdrawal_form=withdrawal_form or WithdrawalForm(),
        verification_form=verification_form or VerificationForm(),
        history=withdrawals.history(party),
        referral=referrals.summary(store.id),
        invited=referrals.invited_stores(store.id)[:20],
        invite_url=platform_url(f"/open?ref={store.slug}"),
        fee_bps=current_app.config["WITHDRAWAL_FEE_BPS"],
        minimum=format_money(current_app.config["WITHDRAWAL_MIN_CENTS"]),
        may_move_money=_may_move_money(),
    ), status


@bp.get("/finance")
@requires("finance_view")
def finance():
    return _page()


@bp.post("/finance/withdraw")
@requires("withdraw")
@limiter.limit("20 per hour")
def request_withdrawal():
    if not _may_move_money():
        abort(403)
    form = WithdrawalForm()
    if form.validate_on_submit() and (amount := form.amount_cents()) is not None:
        destination = withdrawals.Destination(
            form.method.data,
            form.account_name.data or "",
            form.account_number.data or "",
            form.bank_name.data or "",
        )
        store = current_tenant._get_current_object()
        try:
            made = withdrawals.request_withdrawal(
                store_party(store.id), amount, destination, actor=current_actor()
            )
        except withdrawals.WithdrawalRefused as refused:
            db.session.rollback()
            getattr(form, refused.field, form.amount).errors.append(
                translate(refused.message, **refused.params)
            )
        else:
            db.session.commit()
            flash(
                translate(
                    "Withdrawal %(no)s requested; the platform reviews it.", no=made.withdrawal_no
                ),
                "success",
            )
            return redirect(url_for("merchant.finance"))
    return _page(withdrawal_form=form, status=400)


@bp.post("/finance/verification")
@requires("withdraw")
@limiter.limit("10 per hour")
def submit_verification():
    if not _may_move_money():
        abort(403)
    form = VerificationForm()
    if form.validate_on_submit():
        upload = form.licence_image.data
        application = kyc.Application(
            kind=form.kind.data,
            legal_name=form.legal_name.data or "",
            id_number=form.id_number.data or "",
            company_name=form.company_name.data or "",
            licence_number=form.licence_number.data or "",
            licence_image=upload.read() if upload else None,
        )
        store = current_tenant._get_current_object()
        try:
            kyc.submit(store_party(store.id).key, application, actor=current_actor())
        except kyc.VerificationRefused as refused:
            db.session.rollback()
            getattr(form, refused.field, form.kind).errors.append(translate(refused.message))
        else:
            db.session.commit()
            flash(translate("Thank you: the platform will review your details."), "success")
            return redirect(url_for("merchant.finance"))
    return _page(verification_form=form, status=400)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.get("/finance/statement")
@requires("finance_view")
def finance_statement():
    store = current_tenant._get_current_object()
    account = request.args.get("account", "available")
    if account not in ACCOUNT_NAMES:
        abort(404)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))
    since = datetime.combine(first, time.min, tzinfo=zone) if first else None
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) if last else None
    lines = statement(store_party(store.id), account, since=since, until=until)
    if request.args.get("format") == "csv":
        return _csv(lines, f"statement-{store.slug}-{account}.csv", zone)
    shown = []
    for line in lines:
        shown.append(line)
        if len(shown) > 500:
            break
    return render_console(
        "merchant/statement.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        lines=shown[:500],
        truncated=len(shown) > 500,
        account=account,
        accounts=ACCOUNT_NAMES,
        first=first,
        last=last,
    )


def _csv(lines, filename: str, zone: ZoneInfo) -> Response:
    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["time", "kind", "description", "reference", "amount", "balance"])
        for line in lines:
            writer.writerow(
                [
                    line.at.astimezone(zone).isoformat(timespec="seconds"),
                    line.kind,
                    line.description,
                    line.reference,
                    to_decimal(line.amount_cents),
                    to_decimal(line.balance_cents),
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
