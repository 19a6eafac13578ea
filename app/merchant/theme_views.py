"""The store's theme editor (`/admin/theme`): choose a pack, edit its settings in a form generated
from the pack's schema, preview the draft on the real storefront, publish, roll back."""

from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage, MultiDict

from app.audit.web import audit
from app.extensions import db
from app.i18n import translate
from app.merchant.permissions import requires
from app.merchant.views import bp
from app.storefront.appearance import PREVIEW_KEY
from app.theming import services as theming
from app.theming.manifest import Schema
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


class ThemeActionForm(FlaskForm):
    """CSRF protection for the editor's forms (the fields come from the pack's schema)."""


def _store():
    return current_tenant._get_current_object()


def _author() -> str:
    return getattr(current_user, "email", "") or ""


def submission_from_form(schema: Schema, form: MultiDict, files: MultiDict) -> theming.Submission:
    """The editor's fields (`s-<setting id>…`) as a Submission for the theming services."""
    values, uploads, removals = {}, {}, set()
    for setting in schema.settings.values():
        name = f"s-{setting.id}"
        if setting.type == "checkbox":
            values[setting.id] = name in form
        elif setting.type == "product" and setting.multiple:
            values[setting.id] = form.getlist(name)
        elif setting.type == "sections":
            values[setting.id] = _ordered_sections(setting, form, name)
        elif setting.type == "image":
            upload: FileStorage | None = files.get(name)
            if upload is not None and upload.filename:
                # Read one byte past the limit: enough to refuse, never the whole of a huge file.
                uploads[setting.id] = upload.stream.read(setting.max_kb * 1024 + 1)
            if form.get(f"{name}-remove"):
                removals.add(setting.id)
        else:
            values[setting.id] = form.get(name)
    return theming.Submission(values, uploads, frozenset(removals))


def _ordered_sections(setting, form: MultiDict, name: str) -> list[str]:
    """Ticked sections, sorted by the position typed next to each (then by the form's order)."""
    chosen = []
    for index, value in enumerate(setting.option_values):
        if f"{name}-{value}" not in form:
            continue
        try:
            position = int(form.get(f"{name}-{value}-position", ""))
        except ValueError:
            position = index + 1
        chosen.append((position, index, value))
    return [value for _, _, value in sorted(chosen)]


def _editor(errors: dict | None = None, status: int = 200, pack=None, values=None):
    store = _store()
    current_pack, current_values, draft = theming.editor_state(store)
    pack = pack or current_pack
    values = values if values is not None else current_values
    published = theming.published_revision()
    return render_console(
        "merchant/theme.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        form=ThemeActionForm(),
        packs=[(p, theming.may_use(store, p)) for p in _listed_packs()],
        all_packs=theming.packs(),
        pack=pack,
        values=values,
        draft=draft,
        published=published,
        live_pack=theming.pack_or_base(published.pack if published else store.theme),
        history=theming.history(),
        choices=theming.picker_choices(store),
        errors=errors or {},
    ), status


def _listed_packs():
    packs = theming.packs()
    base = packs[theming.BASE_THEME]
    return [*(p for name, p in sorted(packs.items()) if name != theming.BASE_THEME), base]


@bp.get("/theme")
@requires("manage_theme")
def theme():
    return _editor()


@bp.post("/theme")
@requires("manage_theme")
def save_theme():
    """Save the draft; with action=publish, publish it too."""
    store = _store()
    if not ThemeActionForm().validate_on_submit():
        flash(translate("The form expired. Please try again."), "error")
        return redirect(url_for("merchant.theme"))
    pack, _, _ = theming.editor_state(store)
    submission = submission_from_form(pack.schema, request.form, request.files)
    try:
        theming.save_draft(store, submission, author=_author())
    except theming.ThemeValuesError as refused:
        errors = {
            k: translate(message, **params) for k, (message, params) in refused.errors.items()
        }
        submitted = {**theming.editor_state(store)[1], **submission.values}
        flash(translate("Some settings need your attention."), "error")
        return _editor(errors, 400, pack=pack, values=submitted)
    if request.form.get("action") == "publish":
        return _publish(store)
    session[PREVIEW_KEY] = True
    flash(translate("Draft saved. The preview shows it; customers do not see it yet."), "success")
    return redirect(url_for("merchant.theme"))


@bp.post("/theme/pack")
@requires("manage_theme")
def choose_theme_pack():
    store = _store()
    if ThemeActionForm().validate_on_submit():
        try:
            theming.choose_pack(store, request.form.get("pack", ""), author=_author())
        except theming.ThemeError as error:
            flash(translate(error.message, **error.params), "error")
        else:
            session[PREVIEW_KEY] = True
            flash(translate("Pack chosen for your draft. Preview it, then publish."), "success")
    return redirect(url_for("merchant.theme"))


@bp.post("/theme/publish")
@requires("manage_theme")
def publish_theme():
    if not ThemeActionForm().validate_on_submit():
        return redirect(url_for("merchant.theme"))
    return _publish(_store())


def _publish(store):
    try:
        revision = theming.publish(store, author=_author())
    except theming.ThemeError as error:
        flash(translate(error.message, **error.params), "error")
    else:
        audit(
            "theme.publish", target=f"theme_revision:{revision.id}",
            after={"pack": revision.pack, "values": revision.values},
        )  # fmt: skip
        db.session.commit()
        session.pop(PREVIEW_KEY, None)
        flash(translate("Theme published. Your customers see it now."), "success")
    return redirect(url_for("merchant.theme"))


@bp.post("/theme/discard")
@requires("manage_theme")
def discard_theme_draft():
    if ThemeActionForm().validate_on_submit() and theming.discard_draft():
        session.pop(PREVIEW_KEY, None)
        flash(translate("Draft discarded."), "success")
    return redirect(url_for("merchant.theme"))


@bp.post("/theme/rollback/<int:revision_id>")
@requires("manage_theme")
def rollback_theme(revision_id: int):
    if ThemeActionForm().validate_on_submit():
        try:
            revision = theming.rollback(_store(), revision_id, author=_author())
        except theming.ThemeError as error:
            flash(translate(error.message, **error.params), "error")
        else:
            audit(
                "theme.rollback", target=f"theme_revision:{revision.id}",
                after={"pack": revision.pack, "restored_from": revision_id},
            )  # fmt: skip
            db.session.commit()
            flash(translate("That version is live again."), "success")
    return redirect(url_for("merchant.theme"))


@bp.get("/theme/preview")
@requires("manage_theme")
def theme_preview():
    """Turn preview on for this staff member and show the storefront (the editor's frame)."""
    session[PREVIEW_KEY] = True
    return redirect("/")


@bp.post("/theme/preview/off")
@requires("manage_theme")
def theme_preview_off():
    if ThemeActionForm().validate_on_submit():
        session.pop(PREVIEW_KEY, None)
    return redirect("/")
