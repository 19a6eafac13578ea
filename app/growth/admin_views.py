"""Store back-office pages of the growth tools (/admin/marketing): announcements and banners,
poster settings and previews, the campaign assets library, marketing e-mail."""

from __future__ import annotations

from datetime import UTC
from functools import wraps

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import to_utc
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from app.audit.web import current_actor
from app.extensions import db
from app.growth import announcements, assets, mailing, posters, services
from app.growth.forms import AnnouncementForm, CampaignForm, PosterSettingsForm
from app.growth.models import (
    ANNOUNCEMENT_KINDS,
    ASSET_KINDS,
    CAMPAIGN_STATUS_LABELS,
    Announcement,
    MarketingCampaign,
)
from app.i18n import translate
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.storefront import catalog
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _page(template: str, status: int = 200, **context):
    store = _store()
    return render_console(
        template, store=store, storefront_url=tenant_url(store, "/"),
        may_change=may("manage_marketing"), **context,
    ), status  # fmt: skip


def _utc(value):
    """A date and time typed in the platform's time zone, as an aware UTC datetime."""
    return to_utc(value).replace(tzinfo=UTC) if value else None


def marketing_tools_required(view):
    """Posters and the assets library need a plan with marketing tools (402 otherwise)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not services.has_marketing_tools(_store()):
            return _page("growth/upgrade.html", 402)
        return view(*args, **kwargs)

    return wrapper


# -- the hub: poster settings, recommendations ----------------------------------------------------


@bp.route("/marketing", methods=["GET", "POST"])
@requires("view_marketing")
def marketing():
    store = _store()
    tools = services.has_marketing_tools(store)
    settings = services.marketing_settings()
    form = PosterSettingsForm(
        data=None
        if request.method == "POST"
        else {
            "poster_template": settings.poster_template,
            "poster_headline": settings.poster_headline,
            "recommendations_on": settings.recommendations_on,
        }
    )
    templates = services.templates_for(store) if tools else []
    form.poster_template.choices = [SelectChoice(t.key, t.label) for t in templates]
    if form.is_submitted() and not (may("manage_marketing") and tools):
        abort(403)
    if form.validate_on_submit():
        try:
            services.save_marketing_settings(
                store,
                poster_template=form.poster_template.data,
                poster_headline=form.poster_headline.data or "",
                recommendations_on=form.recommendations_on.data,
                actor=current_actor(),
            )
        except services.GrowthError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            flash(translate("Marketing settings saved."), "success")
            return redirect(url_for("merchant.marketing"))
    products = catalog.listing(store)["products"][:50]
    return _page(
        "growth/marketing.html",
        400 if form.errors else 200,
        tools=tools,
        form=form,
        settings=settings,
        templates=templates,
        products=products,
        email_cap=services.email_daily_cap(store),
        audience=mailing.audience_count(),
        showing=announcements.showing(store),
    )


@bp.get("/marketing/poster.png")
@requires("view_marketing")
@marketing_tools_required
def marketing_poster():
    """A poster of the store or `?product=<id>` in `?template=<key>` (staff's own: no code)."""
    store = _store()
    product = None
    product_id = request.args.get("product", type=int)
    if product_id:
        product = catalog.product(store, product_id)
        if product is None:
            abort(404)
    spec = services.poster_spec(store, product=product, template_key=request.args.get("template"))
    response = send_file(posters.poster_file(store.id, spec), mimetype="image/png", max_age=0)
    response.headers["Cache-Control"] = "private, no-cache"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = 'attachment; filename="poster.png"'
    return response


# -- announcements -------------------------------------------------------------------------------


def _terms(form: AnnouncementForm) -> announcements.AnnouncementTerms:
    return announcements.AnnouncementTerms(
        kind=form.kind.data,
        title=form.title.data or "",
        body=form.body.data or "",
        link=form.link.data or "",
        starts_at=_utc(form.starts_at.data),
        ends_at=_utc(form.ends_at.data),
        position=form.position.data or 0,
        is_active=bool(form.is_active.data),
    )


def _upload(form: AnnouncementForm) -> bytes | None:
    upload = form.image.data
    return upload.read() if upload and getattr(upload, "filename", "") else None


@bp.route("/marketing/announcements", methods=["GET", "POST"])
@requires("view_marketing")
def announcement_list():
    form = AnnouncementForm()
    if form.is_submitted() and not may("manage_marketing"):
        abort(403)
    if form.validate_on_submit():
        try:
            announcements.save_announcement(
                _store(), _terms(form), actor=current_actor(), image=_upload(form)
            )
        except announcements.AnnouncementError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            flash(translate("Announcement saved."), "success")
            return redirect(url_for("merchant.announcement_list"))
    rows = announcements.all_announcements()
    return _page(
        "growth/announcements.html",
        400 if form.errors else 200,
        form=form,
        rows=rows,
        status_of=announcements.status_of,
        kind_labels={k: translate(v) for k, v in ANNOUNCEMENT_KINDS.items()},
    )


def _announcement_or_404(announcement_id: int) -> Announcement:
    found = db.session.get(Announcement, announcement_id)  # the store's own schema
    if found is None:
        abort(404)
    return found


@bp.route("/marketing/announcements/<int:announcement_id>", methods=["GET", "POST"])
@requires("view_marketing")
def announcement_edit(announcement_id: int):
    row = _announcement_or_404(announcement_id)
    form = AnnouncementForm(obj=row if request.method == "GET" else None)
    if form.is_submitted() and not may("manage_marketing"):
        abort(403)
    if form.validate_on_submit():
        try:
            announcements.save_announcement(
                _store(), _terms(form), actor=current_actor(), announcement=row,
                image=_upload(form), remove_image=bool(form.remove_image.data),
            )  # fmt: skip
        except announcements.AnnouncementError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            flash(translate("Announcement saved."), "success")
            return redirect(url_for("merchant.announcement_list"))
    return _page(
        "growth/announcement.html", 400 if form.errors else 200, form=form, row=row,
        delete_form=FlaskForm(),
    )  # fmt: skip


@bp.post("/marketing/announcements/<int:announcement_id>/delete")
@requires("manage_marketing")
def announcement_delete(announcement_id: int):
    row = _announcement_or_404(announcement_id)
    if FlaskForm().validate_on_submit():
        announcements.delete_announcement(_store(), row, actor=current_actor())
        flash(translate("Announcement deleted."), "success")
    return redirect(url_for("merchant.announcement_list"))


# -- the campaign assets library -----------------------------------------------------------------


@bp.get("/marketing/assets")
@requires("view_marketing")
@marketing_tools_required
def asset_library():
    store = _store()
    rows = assets.library()
    return _page(
        "growth/assets.html",
        rows=rows,
        copies={a.id: assets.branded_copy(a, store) for a in rows if a.kind == "copy"},
        kind_labels={k: translate(v) for k, v in ASSET_KINDS.items()},
        use_form=FlaskForm(),
    )


@bp.get("/marketing/assets/<int:asset_id>.png")
@requires("view_marketing")
@marketing_tools_required
def asset_branded(asset_id: int):
    """An image or poster template of the library, branded with the store (name, QR code)."""
    store = _store()
    asset = assets.published_asset(asset_id)
    if asset is None or asset.kind == "copy":
        abort(404)
    template = (
        assets.image_template(asset)
        if asset.kind == "image"
        else services.template_for(store, f"asset:{asset.id}")
    )
    spec = services.poster_spec(store, template=template)
    response = send_file(posters.poster_file(store.id, spec), mimetype="image/png", max_age=0)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/marketing/assets/<int:asset_id>/use")
@requires("manage_marketing")
@marketing_tools_required
def asset_use(asset_id: int):
    """Use a poster template as the store's, or start an e-mail draft from a copy text."""
    store = _store()
    asset = assets.published_asset(asset_id)
    if asset is None or asset.kind == "image" or not FlaskForm().validate_on_submit():
        abort(404)
    settings = services.marketing_settings()
    if asset.kind == "poster_template":
        services.save_marketing_settings(
            store, poster_template=f"asset:{asset.id}", poster_headline=settings.poster_headline,
            recommendations_on=settings.recommendations_on, actor=current_actor(),
        )  # fmt: skip
        flash(translate("Your posters now use this template."), "success")
        return redirect(url_for("merchant.marketing"))
    campaign = mailing.create_campaign(
        store, asset.title, assets.branded_copy(asset, store), actor=current_actor()
    )
    flash(translate("A draft e-mail was made from this copy text."), "success")
    return redirect(url_for("merchant.campaign", campaign_id=campaign.id))


# -- marketing e-mail ----------------------------------------------------------------------------


@bp.route("/marketing/email", methods=["GET", "POST"])
@requires("view_marketing")
def campaigns():
    store = _store()
    cap = services.email_daily_cap(store)
    form = CampaignForm()
    if form.is_submitted() and not (may("manage_marketing") and cap > 0):
        abort(403)
    if form.validate_on_submit():
        try:
            campaign = mailing.create_campaign(
                store, form.subject.data, form.body.data, actor=current_actor()
            )
        except mailing.MailingError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            return redirect(url_for("merchant.campaign", campaign_id=campaign.id))
    rows = db.session.scalars(
        db.select(MarketingCampaign).order_by(MarketingCampaign.id.desc()).limit(100)
    ).all()
    return _page(
        "growth/campaigns.html",
        400 if form.errors else 200,
        form=form,
        rows=rows,
        cap=cap,
        sent_today=mailing.sent_today(),
        audience=mailing.audience_count(),
        status_labels={k: translate(v) for k, v in CAMPAIGN_STATUS_LABELS.items()},
    )


def _campaign_or_404(campaign_id: int) -> MarketingCampaign:
    found = db.session.get(MarketingCampaign, campaign_id)
    if found is None:
        abort(404)
    return found


@bp.get("/marketing/email/<int:campaign_id>")
@requires("view_marketing")
def campaign(campaign_id: int):
    store = _store()
    return _page(
        "growth/campaign.html",
        campaign=_campaign_or_404(campaign_id),
        form=FlaskForm(),
        cap=services.email_daily_cap(store),
        audience=mailing.audience_count(),
        status_labels={k: translate(v) for k, v in CAMPAIGN_STATUS_LABELS.items()},
    )


@bp.post("/marketing/email/<int:campaign_id>/<any(start, cancel):action>")
@requires("manage_marketing")
def campaign_action(campaign_id: int, action: str):
    store = _store()
    row = _campaign_or_404(campaign_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        if action == "start":
            count = mailing.start_campaign(store, row, actor=current_actor())
            flash(translate("Sending to %(count)s customers.", count=count), "success")
        else:
            mailing.cancel_campaign(store, row, actor=current_actor())
            flash(translate("Campaign cancelled."), "success")
    except mailing.MailingError as error:
        db.session.rollback()
        flash(translate(error.message, **error.params), "error")
    return redirect(url_for("merchant.campaign", campaign_id=campaign_id))
