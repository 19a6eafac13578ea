"""Money pages shared by the store back-office and the supplier portal: one party's balances,
real-name verification, withdrawal requests and statement. Each side supplies its party, its
permission check and its page; the handling here is the same for both."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, request, stream_with_context

from app.audit.web import current_actor
from app.extensions import db
from app.i18n import translate
from app.kyc import services as kyc
from app.kyc.forms import VerificationForm
from app.ledger.parties import Party
from app.ledger.statements import ACCOUNT_NAMES, statement
from app.money import format_money, to_decimal
from app.withdrawals import services as withdrawals
from app.withdrawals.forms import WithdrawalForm

STATEMENT_PAGE_LINES = 500


def finance_context(party: Party, withdrawal_form=None, verification_form=None) -> dict:
    """What the finance page shows: balances, verification, the forms, past withdrawals."""
    return {
        "balances": withdrawals.balances(party),
        "verification": kyc.current(party.key),
        "withdrawal_form": withdrawal_form or WithdrawalForm(),
        "verification_form": verification_form or VerificationForm(),
        "history": withdrawals.history(party),
        "fee_bps": current_app.config["WITHDRAWAL_FEE_BPS"],
        "minimum": format_money(current_app.config["WITHDRAWAL_MIN_CENTS"]),
    }


def submit_withdrawal(party: Party, form: WithdrawalForm) -> bool:
    """Request a withdrawal from the posted form; errors land on the form, nothing changes."""
    if not form.validate_on_submit() or (amount := form.amount_cents()) is None:
        return False
    destination = withdrawals.Destination(
        form.method.data,
        form.account_name.data or "",
        form.account_number.data or "",
        form.bank_name.data or "",
    )
    try:
        made = withdrawals.request_withdrawal(party, amount, destination, actor=current_actor())
    except withdrawals.WithdrawalRefused as refused:
        db.session.rollback()
        getattr(form, refused.field, form.amount).errors.append(
            translate(refused.message, **refused.params)
        )
        return False
    db.session.commit()
    flash(
        translate("Withdrawal %(no)s requested; the platform reviews it.", no=made.withdrawal_no),
        "success",
    )
    return True


def submit_verification(party: Party, form: VerificationForm) -> bool:
    """Send the posted real-name details for review; errors land on the form."""
    if not form.validate_on_submit():
        return False
    upload = form.licence_image.data
    application = kyc.Application(
        kind=form.kind.data,
        legal_name=form.legal_name.data or "",
        id_number=form.id_number.data or "",
        company_name=form.company_name.data or "",
        licence_number=form.licence_number.data or "",
        licence_image=upload.read() if upload else None,
    )
    try:
        kyc.submit(party.key, application, actor=current_actor())
    except kyc.VerificationRefused as refused:
        db.session.rollback()
        getattr(form, refused.field, form.kind).errors.append(translate(refused.message))
        return False
    db.session.commit()
    flash(translate("Thank you: the platform will review your details."), "success")
    return True


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def statement_view(party: Party, filename_stem: str) -> Response | dict:
    """The statement asked for in the query string: a CSV download, or the page's context."""
    account = request.args.get("account", "available")
    if account not in ACCOUNT_NAMES:
        abort(404)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))
    since = datetime.combine(first, time.min, tzinfo=zone) if first else None
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) if last else None
    lines = statement(party, account, since=since, until=until)
    export = request.args.get("format")
    if export in ("csv", "xlsx"):
        filename = f"statement-{filename_stem}-{account}.{export}"
        return (_csv if export == "csv" else _xlsx)(lines, filename, zone)
    shown = []
    for line in lines:
        shown.append(line)
        if len(shown) > STATEMENT_PAGE_LINES:
            break
    return {
        "lines": shown[:STATEMENT_PAGE_LINES],
        "truncated": len(shown) > STATEMENT_PAGE_LINES,
        "account": account,
        "accounts": ACCOUNT_NAMES,
        "first": first,
        "last": last,
    }


COLUMNS = ["time", "kind", "description", "reference", "amount", "balance"]


def _row(line, zone: ZoneInfo) -> list:
    return [
        line.at.astimezone(zone).isoformat(timespec="seconds"),
        line.kind,
        line.description,
        line.reference,
        to_decimal(line.amount_cents),
        to_decimal(line.balance_cents),
    ]


def _attachment(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _csv(lines, filename: str, zone: ZoneInfo) -> Response:
    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for line in lines:
            writer.writerow(_row(line, zone))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return Response(stream_with_context(rows()), mimetype="text/csv", headers=_attachment(filename))


def _amount_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = "0.00"
    return cell


def _xlsx(lines, filename: str, zone: ZoneInfo) -> Response:
    """A write-only workbook (rows go to a temporary file, not memory), sent when complete."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("statement")
    sheet.append(COLUMNS)
    for line in lines:
        *text, amount, balance = _row(line, zone)
        sheet.append([*text, *(_amount_cell(sheet, value) for value in (amount, balance))])

    def chunks():
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            workbook.save(spool)
            spool.seek(0)
            while chunk := spool.read(64 * 1024):
                yield chunk

    return Response(
        stream_with_context(chunks()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_attachment(filename),
    )
