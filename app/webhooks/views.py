"""Store back-office pages for webhooks (/admin/webhooks): endpoints, secrets, delivery log."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from app.audit.web import audit
from app.extensions import db
from app.i18n import translate
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.web.site import render_console
from app.web.urls import tenant_url
from app.webhooks import services
from app.webhooks.forms import WebhookEndpointForm
from app.webhooks.models import (
    DELIVERY_STATUS_LABELS,
    EVENT_LABELS,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _may_change() -> bool:
    return may("manage_webhooks")


def _require_change() -> None:
    if not _may_change():
        abort(403)


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.customer_id is not None:  # customers' own are theirs
        abort(404)
    return endpoint


def _described(endpoint: WebhookEndpoint) -> dict:
    return {"url": endpoint.url, "events": list(endpoint.events or [])}


def _render(template: str, status: int = 200, **context):
    store = _store()
    return render_console(
        template, store=store, storefront_url=tenant_url(store, "/"), may_change=_may_change(),
        event_labels=EVENT_LABELS, delivery_labels=DELIVERY_STATUS_LABELS, **context,
    ), status  # fmt: skip


def _render_endpoint(endpoint: WebhookEndpoint, secret: str | None = None):
    """The endpoint's page; `secret` is shown only right after it was made (never stored clear)."""
    return _render(
        "merchant/webhook.html",
        endpoint=endpoint,
        deliveries=services.recent_deliveries(endpoint),
        secret=secret,
        form=FlaskForm(),
    )


@bp.route("/webhooks", methods=["GET", "POST"])
@requires("manage_webhooks")
def webhooks():
    form = WebhookEndpointForm()
    if form.is_submitted():
        _require_change()
    if form.validate_on_submit():
        try:
            endpoint, secret = services.create_endpoint(
                _store(),
                url=form.url.data,
                description=form.description.data,
                events=form.events.data or [],
            )
        except services.WebhookError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            audit("webhook.create", target=f"webhook:{endpoint.id}", after=_described(endpoint))
            db.session.commit()
            flash(
                translate("Endpoint added. Copy its secret now: it is shown only once."), "success"
            )
            return _render_endpoint(endpoint, secret)
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.customer_id.is_(None))
        .order_by(WebhookEndpoint.id)
    ).all()
    status = 400 if form.errors else 200
    return _render("merchant/webhooks.html", status, endpoints=endpoints, form=form)


@bp.get("/webhooks/<int:endpoint_id>")
@requires("manage_webhooks")
def webhook(endpoint_id: int):
    return _render_endpoint(_endpoint_or_404(endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/secret")
@requires("manage_webhooks")
def webhook_roll_secret(endpoint_id: int):
    _require_change()
    endpoint = _endpoint_or_404(endpoint_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("merchant.webhook", endpoint_id=endpoint_id))
    secret = services.roll_secret(_store(), endpoint)
    audit("webhook.roll_secret", target=f"webhook:{endpoint.id}")  # never the secret itself
    db.session.commit()
    flash(translate("New secret made; the old one no longer signs. Copy it now."), "success")
    return _render_endpoint(endpoint, secret)


@bp.post("/webhooks/<int:endpoint_id>/active")
@requires("manage_webhooks")
def webhook_set_active(endpoint_id: int):
    _require_change()
    endpoint = _endpoint_or_404(endpoint_id)
    if FlaskForm().validate_on_submit():
        # The wanted state, not a toggle: a double click or a second tab changes nothing more.
        was_active = endpoint.is_active
        services.set_active(endpoint, request.form.get("active") == "1")
        if endpoint.is_active != was_active:
            audit(
                "webhook.enable" if endpoint.is_active else "webhook.disable",
                target=f"webhook:{endpoint.id}",
                before={"is_active": was_active}, after={"is_active": endpoint.is_active},
            )  # fmt: skip
            db.session.commit()
        flash(
            translate("Endpoint enabled.")
            if endpoint.is_active
            else translate("Endpoint disabled."),
            "success",
        )
    return redirect(url_for("merchant.webhook", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/delete")
@requires("manage_webhooks")
def webhook_delete(endpoint_id: int):
    _require_change()
    endpoint = _endpoint_or_404(endpoint_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("merchant.webhook", endpoint_id=endpoint_id))
    described, endpoint_id = _described(endpoint), endpoint.id
    services.delete_endpoint(endpoint)
    audit("webhook.delete", target=f"webhook:{endpoint_id}", before=described)
    db.session.commit()
    flash(translate("Endpoint deleted."), "success")
    return redirect(url_for("merchant.webhooks"))


@bp.post("/webhooks/<int:endpoint_id>/test")
@requires("manage_webhooks")
def webhook_test(endpoint_id: int):
    _require_change()
    endpoint = _endpoint_or_404(endpoint_id)
    if FlaskForm().validate_on_submit():
        services.send_test_event(_store(), endpoint)
        flash(translate("Test event queued; its delivery appears below."), "success")
    return redirect(url_for("merchant.webhook", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<message_id>/resend")
@requires("manage_webhooks")
def webhook_resend(endpoint_id: int, message_id: str):
    _require_change()
    delivery = db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.message_id == message_id, WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    if delivery is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        services.resend(_store(), delivery)
        flash(translate("Message %(id)s queued to be sent again.", id=message_id), "success")
    return redirect(url_for("merchant.webhook", endpoint_id=endpoint_id))
