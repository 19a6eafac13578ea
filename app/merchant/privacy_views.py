"""The store's privacy page in the back-office: its policy text and retention periods, its
customers' deletion requests (approve or refuse), and requests received by e-mail."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from app.audit.web import current_actor
from app.auth.emails import normalize_email
from app.customers.models import Customer
from app.extensions import db
from app.i18n import translate
from app.merchant.permissions import requires
from app.merchant.views import bp
from app.privacy import services as privacy
from app.privacy.forms import AnonymiseForm, EmailedRequestForm, PrivacySettingsForm, RejectForm
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _page(settings_form=None, emailed_form=None, status=200):
    store = _store()
    current = privacy.get_settings()
    return render_console(
        "merchant/privacy.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        policy_url=tenant_url(store, "/privacy"),
        settings_form=settings_form or PrivacySettingsForm(data=current.__dict__),
        emailed_form=emailed_form or EmailedRequestForm(formdata=None),
        reject_form=RejectForm(formdata=None),
        pending=[
            (row, customer, [translate(m, **p) for m, p in privacy.blockers(store, customer)])
            for row, customer in privacy.pending_requests()
        ],
        decided=privacy.decided_requests(),
        bounds={"days": privacy.UNPAID_CONTACT_DAYS, "months": privacy.INACTIVE_CUSTOMER_MONTHS},
    ), status


def _refused(form, error: privacy.PrivacyError) -> None:
    db.session.rollback()
    field = getattr(form, error.field, None)
    message = translate(error.message, **error.params)
    if field is None:
        flash(message, "error")
    else:
        field.errors = [*field.errors, message]


@bp.route("/privacy", methods=["GET", "POST"])
@requires("manage_privacy")
def privacy_settings():
    form = PrivacySettingsForm()
    if form.validate_on_submit():
        try:
            privacy.update_settings(
                policy_html=form.policy_html.data or "",
                unpaid_contact_days=form.unpaid_contact_days.data,
                inactive_customer_months=form.inactive_customer_months.data,
                actor=current_actor(),
                tenant_id=_store().id,
            )
        except privacy.PrivacyError as error:
            _refused(form, error)
        else:
            db.session.commit()
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.privacy_settings"))
    elif not form.is_submitted():
        return _page()
    return _page(settings_form=form, status=400)


@bp.post("/privacy/requests/<int:request_id>/approve")
@requires("manage_privacy")
def privacy_approve(request_id: int):
    if not FlaskForm().validate_on_submit():  # CSRF only
        abort(400)
    try:
        privacy.approve(_store(), request_id, actor=current_actor())
    except privacy.PrivacyError as error:
        db.session.rollback()
        flash(translate(error.message, **error.params), "error")
    else:
        db.session.commit()
        flash(translate("The customer's personal data is deleted."), "success")
    return redirect(url_for("merchant.privacy_settings"))


@bp.post("/privacy/requests/<int:request_id>/reject")
@requires("manage_privacy")
def privacy_reject(request_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        flash(translate("Give the reason the customer will see."), "error")
        return redirect(url_for("merchant.privacy_settings"))
    try:
        privacy.reject(_store(), request_id, reason=form.reason.data, actor=current_actor())
    except privacy.PrivacyError as error:
        db.session.rollback()
        flash(translate(error.message, **error.params), "error")
    else:
        db.session.commit()
        flash(translate("Request refused; the customer sees your reason."), "success")
    return redirect(url_for("merchant.privacy_settings"))


@bp.post("/privacy/emailed")
@requires("manage_privacy")
def privacy_emailed():
    """A request that came by e-mail: find the account by its exact address, delete now."""
    form = EmailedRequestForm()
    if not form.validate_on_submit():
        return _page(emailed_form=form, status=400)
    customer = db.session.scalar(
        select(Customer).where(Customer.email == normalize_email(form.email.data))
    )
    if customer is None:
        form.email.errors.append(translate("No customer account uses this e-mail address."))
        return _page(emailed_form=form, status=400)
    return _anonymise(customer, form, on_error=lambda: _page(emailed_form=form, status=400))


@bp.post("/customers/<int:customer_id>/anonymise")
@requires("manage_privacy")
def customer_anonymise(customer_id: int):
    """The same, from the customer's page."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    form = AnonymiseForm()
    back = url_for("merchant.customer_detail", customer_id=customer.id)
    if not form.validate_on_submit():
        flash(translate("Say which message asked for it (sender, date, subject)."), "error")
        return redirect(back)

    def refused():
        flash(" ".join(form.reference.errors), "error")
        return redirect(back)

    return _anonymise(customer, form, on_error=refused, done=back)


def _anonymise(customer: Customer, form, *, on_error, done=None):
    try:
        privacy.anonymise_on_request_by_email(
            _store(), customer, reference=form.reference.data, actor=current_actor()
        )
    except privacy.PrivacyError as error:
        db.session.rollback()
        # "customer" (blocked: money, orders or tickets still open) shows at the address field
        # where there is one; anything else at the reference.
        target = getattr(form, "email", form.reference) if error.field == "customer" else None
        target = target or form.reference
        target.errors = [*target.errors, translate(error.message, **error.params)]
        return on_error()
    db.session.commit()
    flash(translate("The customer's personal data is deleted."), "success")
    return redirect(done or url_for("merchant.privacy_settings"))
