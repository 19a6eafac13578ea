"""Request, approve and reject withdrawals. Callers commit.

Requesting moves the amount from the party's available balance to withdrawing, under the
ledger's row locks, so concurrent requests can never take more than is available. Approval
records the payout reference and books the money out (the fee to the platform); rejection
returns the amount to available.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from app.audit import services as audit
from app.crypto import open_text, seal_text
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.kyc.services import is_verified
from app.ledger.parties import Party
from app.ledger.services import lock_accounts, post
from app.masking import mask_middle
from app.money import format_money
from app.withdrawals.models import METHODS, Withdrawal


class WithdrawalRefused(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


@dataclass(frozen=True)
class Destination:
    method: str  # alipay | bank
    account_name: str
    account_number: str
    bank_name: str = ""


@dataclass(frozen=True)
class Balances:
    pending_cents: int
    available_cents: int
    withdrawing_cents: int
    owed_cents: int  # what the party owes the platform


def balances(party: Party, currency: str = "CNY") -> Balances:
    from app.ledger.models import LedgerAccount

    rows = dict(
        db.session.execute(
            select(LedgerAccount.code, LedgerAccount.balance_cents).where(
                LedgerAccount.code.in_(party.accounts), LedgerAccount.currency == currency
            )
        ).all()
    )
    return Balances(
        pending_cents=-rows.get(party.pending, 0),
        available_cents=-rows.get(party.available, 0),
        withdrawing_cents=-rows.get(party.withdrawing, 0),
        owed_cents=rows.get(party.owed, 0),
    )


def fee_for(amount_cents: int) -> int:
    config = current_app.config
    return max(
        amount_cents * config["WITHDRAWAL_FEE_BPS"] // 10000, config["WITHDRAWAL_FEE_MIN_CENTS"]
    )


def _day_start(now: datetime) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)


def requested_today(party: Party, now: datetime) -> int:
    start = _day_start(now)
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Withdrawal.amount_cents), 0)).where(
                Withdrawal.party == party.key,
                Withdrawal.status != "rejected",
                Withdrawal.requested_at >= start,
                Withdrawal.requested_at < start + timedelta(days=1),
            )
        )
    )


def _check_destination(destination: Destination) -> None:
    if destination.method not in METHODS:
        raise WithdrawalRefused("method", N_("Choose Alipay or a bank account."))
    if not 2 <= len(destination.account_name.strip()) <= 100:
        raise WithdrawalRefused("account_name", N_("Enter the account holder's real name."))
    number = destination.account_number.strip()
    if destination.method == "bank":
        digits = number.replace(" ", "")
        if not digits.isdecimal() or not 12 <= len(digits) <= 30:
            raise WithdrawalRefused("account_number", N_("Enter the bank card number (digits)."))
        if not destination.bank_name.strip():
            raise WithdrawalRefused("bank_name", N_("Enter the bank and branch."))
    elif not 5 <= len(number) <= 100:
        raise WithdrawalRefused(
            "account_number", N_("Enter the Alipay account (phone number or e-mail).")
        )


def request_withdrawal(
    party: Party,
    amount_cents: int,
    destination: Destination,
    *,
    actor: audit.Actor,
    currency: str = "CNY",
    now: datetime | None = None,
) -> Withdrawal:
    now = now or utcnow()
    config = current_app.config
    if not is_verified(party.key):
        raise WithdrawalRefused(
            "amount", N_("Withdrawals open once your real-name verification is approved.")
        )
    _check_destination(destination)
    minimum = config["WITHDRAWAL_MIN_CENTS"]
    if amount_cents < minimum:
        raise WithdrawalRefused(
            "amount", N_("The minimum withdrawal is %(amount)s."), amount=format_money(minimum)
        )
    fee = fee_for(amount_cents)
    if fee >= amount_cents:
        raise WithdrawalRefused(
            "amount", N_("The amount does not cover the fee of %(fee)s."), fee=format_money(fee)
        )
    accounts = lock_accounts((party.available, party.withdrawing, party.owed), currency)
    if accounts[party.owed].balance_cents > 0:
        raise WithdrawalRefused(
            "amount",
            N_("You owe the platform %(amount)s from refunds; withdraw again once it is repaid."),
            amount=format_money(accounts[party.owed].balance_cents),
        )
    available = -accounts[party.available].balance_cents
    if amount_cents > available:
        raise WithdrawalRefused(
            "amount", N_("Only %(amount)s is available."), amount=format_money(max(0, available))
        )
    limit = config["WITHDRAWAL_DAILY_LIMIT_CENTS"]
    already = requested_today(party, now)
    if already + amount_cents > limit:
        raise WithdrawalRefused(
            "amount",
            N_("The daily limit is %(limit)s; %(left)s is left today."),
            limit=format_money(limit),
            left=format_money(max(0, limit - already)),
        )
    number = destination.account_number.strip().replace(" ", "")
    withdrawal = Withdrawal(
        withdrawal_no=f"W{now:%y%m%d}{secrets.randbelow(10**10):010d}",
        party=party.key,
        amount_cents=amount_cents,
        fee_cents=fee,
        currency=currency,
        method=destination.method,
        account_name=destination.account_name.strip(),
        account_sealed=seal_text(number, f"withdrawal:{party.key}"),
        account_mask=mask_middle(number, head=0 if destination.method == "bank" else 2),
        bank_name=destination.bank_name.strip()[:100],
        requested_by=actor.email,
        requested_at=now,
    )
    db.session.add(withdrawal)
    db.session.flush()
    post(
        f"withdrawal:{withdrawal.withdrawal_no}:requested",
        "withdrawal_requested",
        [(party.available, amount_cents), (party.withdrawing, -amount_cents)],
        currency=currency,
        tenant_id=party.tenant_id,
        description=f"withdrawal {withdrawal.withdrawal_no}",
        reference=f"withdrawal:{withdrawal.withdrawal_no}",
    )
    audit.record(
        "withdrawal.request",
        actor=actor,
        tenant_id=party.tenant_id,
        target=f"withdrawal:{withdrawal.withdrawal_no}",
        after={"amount_cents": amount_cents, "fee_cents": fee, "to": withdrawal.account_mask},
    )
    return withdrawal


def _locked(withdrawal_no: str) -> Withdrawal:
    withdrawal = db.session.scalar(
        select(Withdrawal).where(Withdrawal.withdrawal_no == withdrawal_no).with_for_update()
    )
    if withdrawal is None or withdrawal.status != "requested":
        raise WithdrawalRefused("status", N_("This withdrawal has already been reviewed."))
    return withdrawal


def approve(withdrawal_no: str, payout_reference: str, *, actor: audit.Actor) -> Withdrawal:
    """The platform has paid it out: record the payout reference and book the money out."""
    payout_reference = payout_reference.strip()
    if not payout_reference:
        raise WithdrawalRefused("payout_reference", N_("Enter the payout's transfer reference."))
    withdrawal = _locked(withdrawal_no)
    party = Party.parse(withdrawal.party)
    post(
        f"withdrawal:{withdrawal.withdrawal_no}:paid",
        "withdrawal_paid",
        [
            (party.withdrawing, withdrawal.amount_cents),
            (f"payout:{withdrawal.method}", -withdrawal.payout_cents),
            ("platform:withdrawal_fees", -withdrawal.fee_cents),
        ],
        currency=withdrawal.currency,
        tenant_id=party.tenant_id,
        description=f"withdrawal {withdrawal.withdrawal_no} paid ({payout_reference})",
        reference=f"withdrawal:{withdrawal.withdrawal_no}",
    )
    _reviewed(withdrawal, "paid", actor, payout_reference=payout_reference[:100])
    return withdrawal


def reject(withdrawal_no: str, reason: str, *, actor: audit.Actor) -> Withdrawal:
    """Refuse it: the amount returns to the party — first paying off anything it has come to
    owe since (a refund after the request), the rest to its available balance."""
    reason = reason.strip()
    if not reason:
        raise WithdrawalRefused("reason", N_("Say why the withdrawal is rejected."))
    withdrawal = _locked(withdrawal_no)
    party = Party.parse(withdrawal.party)
    accounts = lock_accounts(party.accounts, withdrawal.currency)
    repaid = min(max(accounts[party.owed].balance_cents, 0), withdrawal.amount_cents)
    post(
        f"withdrawal:{withdrawal.withdrawal_no}:rejected",
        "withdrawal_rejected",
        [
            (party.withdrawing, withdrawal.amount_cents),
            (party.owed, -repaid),
            (party.available, -(withdrawal.amount_cents - repaid)),
        ],
        currency=withdrawal.currency,
        tenant_id=party.tenant_id,
        description=f"withdrawal {withdrawal.withdrawal_no} rejected",
        reference=f"withdrawal:{withdrawal.withdrawal_no}",
    )
    _reviewed(withdrawal, "rejected", actor, reason=reason[:2000])
    return withdrawal


def _reviewed(withdrawal: Withdrawal, status: str, actor: audit.Actor, **fields) -> None:
    withdrawal.status = status
    withdrawal.reviewed_by, withdrawal.reviewed_at = actor.email, utcnow()
    for name, value in fields.items():
        setattr(withdrawal, name, value)
    party = Party.parse(withdrawal.party)
    audit.record(
        f"withdrawal.{'approve' if status == 'paid' else 'reject'}",
        actor=actor,
        tenant_id=party.tenant_id,
        target=f"withdrawal:{withdrawal.withdrawal_no}",
        before={"status": "requested"},
        after={"status": status, **fields},
    )


def account_number(withdrawal: Withdrawal) -> str:
    """The destination in clear, for the reviewer who pays it out."""
    return open_text(withdrawal.account_sealed, f"withdrawal:{withdrawal.party}")


def history(party: Party, limit: int = 50) -> list[Withdrawal]:
    return list(
        db.session.scalars(
            select(Withdrawal)
            .where(Withdrawal.party == party.key)
            .order_by(Withdrawal.id.desc())
            .limit(limit)
        )
    )


def queue(limit: int = 200) -> list[Withdrawal]:
    return list(
        db.session.scalars(
            select(Withdrawal)
            .where(Withdrawal.status == "requested")
            .order_by(Withdrawal.id)
            .limit(limit)
        )
    )


def backlog() -> tuple[int, datetime | None]:
    """How many withdrawals wait for review, and since when the oldest."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(Withdrawal.requested_at)).where(
            Withdrawal.status == "requested"
        )
    ).one()
    return int(count), oldest
