"""The store's domains (/admin/domains): add a custom domain, verify it by DNS, choose the
primary host, remove. Custom domains need a plan that includes them."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm

from app.audit.web import current_actor
from app.billing import entitled
from app.billing.services import find_subscription
from app.domains import services
from app.extensions import db
from app.i18n import translate
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.web.site import render_console
from app.web.urls import origin, tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _domain_or_404(domain_id: int):
    domain = services.store_domain(_store().id, domain_id)
    if domain is None:
        abort(404)
    return domain


def _may_manage() -> bool:
    return may("manage_domains")


def _refused(error: services.DomainError) -> None:
    db.session.rollback()
    flash(translate(error.message, **error.params), "error")


@bp.get("/domains")
@requires("manage_domains")
def domains():
    return _page()


def _page(host_error: str | None = None, status: int = 200):
    store = _store()
    rows = services.store_domains(store.id)
    return render_console(
        "merchant/domains.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        domains=rows,
        records={d.id: services.verification_record(d) for d in rows if d.kind == "custom"},
        allowed=entitled(store, "custom_domain"),
        may_manage=_may_manage(),
        subscription=find_subscription(store.id),
        may_bill=may("billing"),
        form=FlaskForm(),
        host_error=host_error,
        host_value=request.form.get("host", "") if host_error else "",
    ), status


def _guard(needs_plan: bool = True) -> None:
    if not _may_manage():
        abort(403)
    if needs_plan and not entitled(_store(), "custom_domain"):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.post("/domains")
@requires("manage_domains")
def add_domain():
    _guard()
    try:
        domain = services.add_domain(
            _store().id, request.form.get("host", ""), actor=current_actor()
        )
    except services.DomainError as error:
        db.session.rollback()
        return _page(translate(error.message, **error.params), 400)
    flash(translate("Domain added. Publish the TXT record below, then verify."), "success")
    return redirect(url_for("merchant.domains", _anchor=f"domain-{domain.id}")), 303


@bp.post("/domains/<int:domain_id>/verify")
@requires("manage_domains")
def verify_domain(domain_id: int):
    _guard()
    domain = _domain_or_404(domain_id)
    try:
        verified = services.verify_domain(_store().id, domain, actor=current_actor())
    except services.DomainError as error:
        _refused(error)
    else:
        if verified:
            flash(translate("Domain verified."), "success")
        else:
            flash(
                translate("Not verified yet: %(why)s", why=translate(domain.check_error)), "error"
            )
    return redirect(url_for("merchant.domains")), 303


@bp.post("/domains/<int:domain_id>/primary")
@requires("manage_domains")
def primary_domain(domain_id: int):
    _guard(needs_plan=False)  # going back to the subdomain is always allowed
    store = _store()
    domain = _domain_or_404(domain_id)
    try:
        services.make_primary(store.id, domain, actor=current_actor())
    except services.DomainError as error:
        _refused(error)
        return redirect(url_for("merchant.domains")), 303
    flash(translate("Your store is now served on %(host)s.", host=domain.host), "success")
    # This host now redirects; the back-office continues on the new primary host.
    return redirect(origin(domain.host) + url_for("merchant.domains")), 303


@bp.post("/domains/<int:domain_id>/remove")
@requires("manage_domains")
def remove_domain(domain_id: int):
    _guard(needs_plan=False)  # a store whose plan ended may still clean up
    domain = _domain_or_404(domain_id)
    try:
        services.remove_domain(_store().id, domain, actor=current_actor())
    except services.DomainError as error:
        _refused(error)
    else:
        flash(translate("Domain removed."), "success")
    return redirect(url_for("merchant.domains")), 303
