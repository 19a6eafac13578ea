"""Platform console: payment providers (credentials sealed at rest, enable/disable)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.i18n import translate
from app.payments.config import ConfigError, configure, overview
from app.payments.providers import ProviderUnavailable
from app.platform.views import bp, platform_login_required
from app.web.site import render_console


@bp.get("/payments")
@platform_login_required
def payment_providers():
    return render_console(
        "platform/payments.html",
        providers=overview(),
        form=FlaskForm(),
        is_owner=current_user.role == "owner",
    )


@bp.post("/payments/<name>")
@platform_login_required
def save_payment_provider(name: str):
    """Save one provider's settings. Blank secret fields keep what is stored."""
    if current_user.role != "owner":
        abort(403)
    entry = next((e for e in overview() if e["name"] == name), None)
    if entry is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        names = [f["field"].name for f in entry["fields"]]
        values = {name: request.form[name] for name in names if name in request.form}
        try:
            configure(
                name, values, enabled=request.form.get("enabled") == "on",
                actor=f"platform:{current_user.email}",
            )  # fmt: skip
        except (ConfigError, ProviderUnavailable) as error:
            flash(
                translate("%(provider)s not saved: %(error)s", provider=name, error=error), "error"
            )
        else:
            flash(translate("%(provider)s saved.", provider=name), "success")
    return redirect(url_for("platform.payment_providers"))
