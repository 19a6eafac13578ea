"""Console pages of the growth tools (/platform/marketing): the campaign assets library."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from app.audit.web import current_actor
from app.extensions import db
from app.growth import assets
from app.growth.forms import AssetForm
from app.growth.models import ASSET_KINDS, CampaignAsset
from app.growth.posters import LAYOUTS
from app.i18n import translate
from app.platform.views import bp, platform_login_required
from app.web.site import render_console


@bp.route("/marketing", methods=["GET", "POST"])
@platform_login_required
def campaign_assets():
    form = AssetForm()
    form.layout.choices = [SelectChoice(key, translate(label)) for key, label in LAYOUTS.items()]
    if form.validate_on_submit():
        upload = form.image.data
        image = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            assets.add_asset(
                kind=form.kind.data, title=form.title.data, body=form.body.data or "",
                image=image, layout=form.layout.data, text_colour=form.text_colour.data or "",
                actor=current_actor(),
            )  # fmt: skip
        except assets.AssetError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            flash(translate("Asset added to the library."), "success")
            return redirect(url_for("platform.campaign_assets"))
    return render_console(
        "growth/platform_assets.html",
        form=form,
        rows=assets.library(published_only=False),
        kind_labels={k: translate(v) for k, v in ASSET_KINDS.items()},
        toggle_form=FlaskForm(),
    ), (400 if form.errors else 200)


@bp.post("/marketing/<int:asset_id>/publish")
@platform_login_required
def campaign_asset_publish(asset_id: int):
    asset = db.session.get(CampaignAsset, asset_id)
    if asset is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        wanted = request.form.get("published") == "1"
        assets.set_published(asset, wanted, actor=current_actor())
        flash(translate("Published.") if wanted else translate("Withdrawn."), "success")
    return redirect(url_for("platform.campaign_assets"))
