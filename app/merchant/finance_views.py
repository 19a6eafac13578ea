"""Store back-office money pages: balances, withdrawals, real-name verification, statement,
and the store's referral link (the handling is shared with suppliers: app.web.party_finance)."""

from __future__ import annotations

from flask import Response, redirect, url_for

from app.kyc.forms import VerificationForm
from app.ledger.parties import store as store_party
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.referrals import services as referrals
from app.web import party_finance, ratelimits
from app.web.site import render_console
from app.web.urls import platform_url, tenant_url
from app.withdrawals.forms import WithdrawalForm
from tenants.context import current_tenant


def _page(withdrawal_form=None, verification_form=None, status=200):
    store = current_tenant._get_current_object()
    return render_console(
        "merchant/finance.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        **party_finance.finance_context(store_party(store.id), withdrawal_form, verification_form),
        referral=referrals.summary(store.id),
        invited=referrals.invited_stores(store.id)[:20],
        invite_url=platform_url(f"/open?ref={store.slug}"),
        may_move_money=may("withdraw"),
    ), status


@bp.get("/finance")
@requires("finance_view")
def finance():
    return _page()


@bp.post("/finance/withdraw")
@requires("withdraw")
@ratelimits.limit("withdrawal_request")
def request_withdrawal():
    form = WithdrawalForm()
    if party_finance.submit_withdrawal(store_party(current_tenant.id), form):
        return redirect(url_for("merchant.finance"))
    return _page(withdrawal_form=form, status=400)


@bp.post("/finance/verification")
@requires("withdraw")
@ratelimits.limit("verification_submit")
def submit_verification():
    form = VerificationForm()
    if party_finance.submit_verification(store_party(current_tenant.id), form):
        return redirect(url_for("merchant.finance"))
    return _page(verification_form=form, status=400)


@bp.get("/finance/statement")
@requires("finance_view")
def finance_statement():
    store = current_tenant._get_current_object()
    shown = party_finance.statement_view(store_party(store.id), store.slug)
    if isinstance(shown, Response):
        return shown
    return render_console(
        "merchant/statement.html", store=store, storefront_url=tenant_url(store, "/"), **shown
    )
