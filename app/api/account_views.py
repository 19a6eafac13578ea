"""`/account/api` on the storefront: a customer's API keys (create, see, revoke)."""

from __future__ import annotations

from flask import abort, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.api import keys
from app.api.models import SCOPE_LABELS, ApiKey
from app.billing import entitled
from app.customers.views import current_customer, customer_login_required
from app.extensions import db, limiter
from app.i18n import translate
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from app.web.urls import tenant_url
from tenants.context import current_tenant

bp = SiteBlueprint("api_account", __name__, site="store", url_prefix="/account/api")


class NewKeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[SelectChoice(scope, _l(label)) for scope, label in SCOPE_LABELS.items()],
        default=["read", "order"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    allowed_ips = TextAreaField(
        _l("Allowed addresses (one IP or network per line; empty: any)"),
        validators=[Length(max=1000)],
    )


def _page(form: NewKeyForm, status: int = 200, **context):
    store = current_tenant._get_current_object()
    customer = current_customer()
    return render_theme(
        "shop/account/api_keys.html",
        store=store,
        form=form,
        offered=entitled(store, "api_access"),
        api_keys=keys.active_keys(customer.id),
        scope_labels={scope: translate(label) for scope, label in SCOPE_LABELS.items()},
        base_url=tenant_url(store, "/api/v1"),
        store_url=tenant_url(store, ""),
        **context,
    ), status


@bp.get("")
@customer_login_required
def api_keys():
    return _page(NewKeyForm())


@bp.post("")
@customer_login_required
@limiter.limit("20 per hour")
def create_key():
    store = current_tenant._get_current_object()
    if not entitled(store, "api_access"):
        abort(404)
    form = NewKeyForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        key, secret = keys.create_key(
            store,
            current_customer().id,
            name=form.name.data,
            scopes=form.scopes.data or [],
            allowed_ips=form.allowed_ips.data or "",
        )
    except keys.ApiKeyError as error:
        getattr(form, error.field).errors.append(translate(error.message, **error.params))
        return _page(form, 400)
    return _page(NewKeyForm(formdata=None), 201, created=key, secret=secret)


@bp.post("/<key_id>/revoke")
@customer_login_required
def revoke_key(key_id: str):
    key = db.session.query(ApiKey).filter_by(key_id=key_id[:40]).one_or_none()
    if key is None or key.customer_id != current_customer().id:
        abort(404)
    keys.revoke_key(key)
    return redirect(url_for("api_account.api_keys"))
