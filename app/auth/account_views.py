"""The signed-in account's own page (`/admin/account`, `/platform/account`): password, two-factor
sign-in (enrol with a QR code, recovery codes, disable) and active sessions (revoke)."""

from __future__ import annotations

from flask import current_app, flash, redirect, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.audit.web import audit
from app.auth import sessions, two_factor
from app.auth.forms import PasswordChangeForm, TwoFactorCodeForm
from app.auth.passwords import password_problem
from app.auth.views import login_rate_limit
from app.extensions import db, limiter
from app.i18n import translate
from app.web.site import render_console


def add_account_routes(bp, guard, template: str, **page_context) -> None:
    """Register the account page and its actions on `bp`, each wrapped in `guard`."""

    def target() -> str:
        return f"{current_user.login_kind}_user:{current_user.id}"

    def page(status=200, *, password_form=None, code_form=None, recovery_codes=None):
        secret = two_factor.pending_secret(current_user)
        qr_svg = uri = None
        if secret is not None:
            uri = two_factor.provisioning_uri(
                current_user, secret, current_app.config["PLATFORM_NAME"]
            )
            qr_svg = two_factor.qr_code_svg(uri)
        context = {k: (v() if callable(v) else v) for k, v in page_context.items()}
        return render_console(
            template,
            password_form=password_form or PasswordChangeForm(),
            code_form=code_form or TwoFactorCodeForm(),
            form=FlaskForm(),
            pending_secret=secret,
            qr_svg=qr_svg,
            provisioning_uri=uri,
            recovery_codes=recovery_codes,
            recovery_codes_left=two_factor.remaining_recovery_codes(current_user),
            two_factor_required=two_factor.is_required(current_user),
            sessions=sessions.list_sessions(current_user),
            current_session=sessions.current_row(current_user, session.get(sessions.SESSION_KEY)),
            **context,
        ), status

    def account():
        return page()

    def change_password():
        form = PasswordChangeForm()
        if form.validate_on_submit():
            if not current_user.check_password(form.current_password.data):
                form.current_password.errors.append(translate("Wrong password."))
            elif problem := password_problem(form.new_password.data, email=current_user.email):
                form.new_password.errors.append(translate(problem))
            else:
                current_user.set_password(form.new_password.data)
                revoked = sessions.revoke_all(
                    current_user, except_token=session.get(sessions.SESSION_KEY)
                )
                audit(
                    "account.password_change", target=target(), after={"sessions_revoked": revoked}
                )
                db.session.commit()
                flash(translate("Password changed; your other sessions are signed out."), "success")
                return redirect(url_for(f"{bp.name}.account"))
        return page(400, password_form=form)

    def two_factor_start():
        if FlaskForm().validate_on_submit():
            try:
                two_factor.start_enrolment(current_user)
            except two_factor.TwoFactorError as error:
                flash(translate(error.message), "error")
            else:
                db.session.commit()
        return redirect(url_for(f"{bp.name}.account") + "#two-factor")

    def two_factor_confirm():
        form = TwoFactorCodeForm()
        if form.validate_on_submit():
            try:
                codes = two_factor.confirm_enrolment(current_user, form.code.data)
            except two_factor.TwoFactorError as error:
                db.session.rollback()
                form.code.errors.append(translate(error.message))
            else:
                audit("account.two_factor_enable", target=target(), after={"two_factor": True})
                db.session.commit()
                flash(
                    translate("Two-factor sign-in is on. Keep your recovery codes safe."), "success"
                )
                return page(recovery_codes=codes)  # shown this once, never again
        return page(400, code_form=form)

    def two_factor_recovery_codes():
        form = TwoFactorCodeForm()
        if form.validate_on_submit() and current_user.has_two_factor:
            try:
                codes = two_factor.regenerate_recovery_codes(current_user, form.code.data)
            except two_factor.TwoFactorError as error:
                db.session.rollback()
                form.code.errors.append(translate(error.message))
            else:
                audit("account.recovery_codes_renew", target=target())
                db.session.commit()
                flash(translate("New recovery codes made; the old ones no longer work."), "success")
                return page(recovery_codes=codes)
        return page(400, code_form=form)

    def two_factor_disable():
        form = TwoFactorCodeForm()
        if form.validate_on_submit():
            try:
                two_factor.disable(current_user, form.code.data)
            except two_factor.TwoFactorError as error:
                db.session.rollback()
                form.code.errors.append(translate(error.message))
            else:
                audit("account.two_factor_disable", target=target(), before={"two_factor": True})
                db.session.commit()
                flash(translate("Two-factor sign-in is off."), "success")
                return redirect(url_for(f"{bp.name}.account"))
        return page(400, code_form=form)

    def revoke_session(session_id: int):
        if FlaskForm().validate_on_submit() and sessions.revoke(current_user, session_id):
            audit("account.session_revoke", target=f"{target()}:session:{session_id}")
            db.session.commit()
            flash(translate("Session signed out."), "success")
        return redirect(url_for(f"{bp.name}.account") + "#sessions")

    def revoke_other_sessions():
        if FlaskForm().validate_on_submit():
            count = sessions.revoke_all(
                current_user, except_token=session.get(sessions.SESSION_KEY)
            )
            audit("account.session_revoke", target=target(), after={"sessions_revoked": count})
            db.session.commit()
            flash(translate("Your other sessions are signed out."), "success")
        return redirect(url_for(f"{bp.name}.account") + "#sessions")

    routes = (
        ("/account", account, ["GET"]),
        ("/account/password", change_password, ["POST"]),
        ("/account/two-factor/start", two_factor_start, ["POST"]),
        ("/account/two-factor/confirm", two_factor_confirm, ["POST"]),
        ("/account/two-factor/recovery-codes", two_factor_recovery_codes, ["POST"]),
        ("/account/two-factor/disable", two_factor_disable, ["POST"]),
        ("/account/sessions/<int:session_id>/revoke", revoke_session, ["POST"]),
        ("/account/sessions/revoke-others", revoke_other_sessions, ["POST"]),
    )
    # Forms that check a password or a code are rate-limited like signing in (per view name).
    limited = {change_password, two_factor_confirm, two_factor_recovery_codes, two_factor_disable}
    for rule, view, methods in routes:
        endpoint = view.__name__
        if view in limited:
            view.__name__ = view.__qualname__ = f"{bp.name}_{endpoint}"
            view = limiter.limit(login_rate_limit, methods=["POST"])(view)
        bp.add_url_rule(rule, endpoint, guard(view), methods=methods)
