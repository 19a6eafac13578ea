"""The store's staff page (`/admin/staff`): invite with a role, change roles, remove; and the
invitee's page to accept (`/admin/invitations/<token>`)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth.accounts import sign_in
from app.extensions import db
from app.i18n import N_, translate
from app.merchant import staff as services
from app.merchant.permissions import requires
from app.merchant.staff_forms import ROLE_CHOICES, AcceptInvitationForm, InviteForm, RoleForm
from app.merchant.views import bp
from app.net import client_ip
from app.web import ratelimits
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _page(invite_form=None, status=200):
    store = _store()
    choices = [c for c in ROLE_CHOICES if c.value != "owner" or current_user.role == "owner"]
    invite_form = invite_form or InviteForm()
    invite_form.role.choices = choices
    return render_console(
        "merchant/staff.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        staff=services.list_staff(),
        invitations=services.pending_invitations(),
        seats=services.seats(store),
        invite_form=invite_form,
        role_form=RoleForm(),
        role_choices=choices,
        form=FlaskForm(),
    ), status


@bp.get("/staff")
@requires("manage_staff")
def staff():
    return _page()


@bp.post("/staff/invitations")
@requires("manage_staff")
@ratelimits.limit("staff_invite")
def invite_staff():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite(
                _store(), email=form.email.data, role=form.role.data, acting=current_user,
                ip=client_ip(),
            )  # fmt: skip
        except services.StaffError as error:
            db.session.rollback()
            getattr(form, error.field, form.email).errors.append(
                translate(error.message, **error.params)
            )
        else:
            flash(translate("Invitation sent to %(email)s.", email=invitation.email), "success")
            return redirect(url_for("merchant.staff"))
    return _page(form, 400)


@bp.post("/staff/invitations/<int:invitation_id>/revoke")
@requires("manage_staff")
def revoke_staff_invitation(invitation_id: int):
    if FlaskForm().validate_on_submit():
        try:
            if services.revoke_invitation(
                _store(), invitation_id, acting=current_user, ip=client_ip()
            ):
                flash(translate("Invitation withdrawn."), "success")
        except services.StaffError as error:
            db.session.rollback()
            flash(translate(error.message, **error.params), "error")
    return redirect(url_for("merchant.staff"))


def _staff_action(action, *args, done: str):
    try:
        action(_store(), *args, acting=current_user, ip=client_ip())
    except services.StaffError as error:
        db.session.rollback()
        if error.field == "user":
            abort(404)
        flash(translate(error.message, **error.params), "error")
        return redirect(url_for("merchant.staff")), 400
    flash(translate(done), "success")
    return redirect(url_for("merchant.staff"))


@bp.post("/staff/<int:user_id>/role")
@requires("manage_staff")
def change_staff_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        return redirect(url_for("merchant.staff"))
    return _staff_action(services.change_role, user_id, form.role.data, done=N_("Role changed."))


@bp.post("/staff/<int:user_id>/remove")
@requires("manage_staff")
def remove_staff(user_id: int):
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("merchant.staff"))
    return _staff_action(services.remove, user_id, done=N_("Removed from the staff."))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@ratelimits.limit("staff_accept", methods=["POST"])
def accept_invitation(token: str):
    """The invitee chooses their name and password, joins the staff and is signed in."""
    store = _store()
    invitation = services.find_invitation(store, token)
    if invitation is None:
        abort(404)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = services.accept(
                store, token, name=form.name.data, password=form.password.data, ip=client_ip()
            )
        except services.StaffError as error:
            db.session.rollback()
            if error.field == "token":
                abort(404)
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            sign_in(user)
            flash(translate("Welcome to the staff of %(store)s.", store=store.name), "success")
            return redirect(url_for("merchant.dashboard"))
    status = 400 if form.errors else 200
    return render_console(
        "merchant/accept_invitation.html", store=store, invitation=invitation, form=form
    ), status
