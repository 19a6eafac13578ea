"""Sign-in and sign-out views shared by the platform console, the store back-office and the
storefront's customer accounts."""

from __future__ import annotations

from flask import current_app, redirect, request, url_for

from app.auth import two_factor
from app.auth.accounts import (
    authenticate,
    pending_two_factor,
    sign_in,
    sign_out,
    start_two_factor,
)
from app.auth.forms import LoginForm, TwoFactorCodeForm
from app.auth.guards import safe_next
from app.extensions import db, limiter
from app.i18n import translate
from app.web.site import render_console


def login_rate_limit() -> str:
    """The limit on sign-in attempts (and other password forms) per client address."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def lockout_limit() -> str:
    """Failed sign-ins allowed per account before it is locked for the rest of the window,
    whoever tries from wherever (the same answer for accounts that do not exist)."""
    return current_app.config["LOGIN_LOCKOUT_LIMIT"]


def _account_attempted(site_name: str):
    def key() -> str:
        from tenants.context import get_current_tenant

        tenant = get_current_tenant()
        email = (request.form.get("email") or "").strip().lower()[:254]
        return f"lockout:{site_name}:{tenant.id if tenant else 'apex'}:{email}"

    return key


def _failed(response) -> bool:
    return response.status_code == 401


def add_login_routes(bp, model, template: str, home_endpoint: str, render=render_console) -> None:
    """Register `/login` (rate-limited) and `/logout` for accounts of `model` on `bp`, and
    `/login/code` (the second step) for accounts that can use two-factor sign-in;
    `render(template, **context)` draws the page (a console page unless told otherwise)."""
    uses_two_factor = issubclass(model, two_factor.TwoFactorMixin)

    def login():
        form = LoginForm()
        if form.validate_on_submit():
            user = authenticate(model, form.email.data, form.password.data)
            if user is not None:
                target = safe_next(request.args.get("next"), url_for(home_endpoint))
                if uses_two_factor and user.has_two_factor:
                    start_two_factor(user, target)
                    return redirect(url_for(f"{bp.name}.login_code"))
                sign_in(user)
                return redirect(target)
            form.password.errors.append(translate("Wrong e-mail or password."))
        status = 401 if request.method == "POST" else 200
        return render(template, form=form), status

    def logout():
        sign_out()
        return redirect(url_for(f"{bp.name}.login"))

    def login_code():
        user, target = pending_two_factor()
        if user is None:
            return redirect(url_for(f"{bp.name}.login"))
        form = TwoFactorCodeForm()
        if form.validate_on_submit():
            used = two_factor.verify(user, form.code.data)
            if used is not None:
                if used == "recovery":
                    _record_recovery_code_use(user)
                sign_in(user)  # commits the used-up code and the last accepted step
                return redirect(safe_next(target, url_for(home_endpoint)))
            db.session.rollback()
            form.code.errors.append(
                translate("That code is not right. Enter the 6 digits your app shows now.")
            )
        status = 401 if request.method == "POST" else 200
        return render_console("two_factor_login.html", form=form), status

    # Distinct names: the limiter keeps its counters per view name.
    login.__name__ = login.__qualname__ = f"{bp.name}_login"
    login = limiter.limit(login_rate_limit, methods=["POST"])(login)
    login = limiter.limit(
        lockout_limit,
        methods=["POST"],
        key_func=_account_attempted(bp.name),
        deduct_when=_failed,
        scope=f"{bp.name}-lockout",
    )(login)
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
    if uses_two_factor:
        login_code.__name__ = login_code.__qualname__ = f"{bp.name}_login_code"
        login_code = limiter.limit(login_rate_limit, methods=["POST"])(login_code)
        bp.add_url_rule("/login/code", "login_code", login_code, methods=["GET", "POST"])


def _record_recovery_code_use(user) -> None:
    from app.audit.services import Actor, record
    from app.net import client_ip
    from tenants.context import get_current_tenant

    tenant = get_current_tenant() if user.login_kind == "store" else None
    record(
        "account.recovery_code_used",
        actor=Actor(user.login_kind, user.id, user.email, client_ip()),
        tenant_id=tenant.id if tenant else None,
        target=f"{user.login_kind}_user:{user.id}",
        after={"recovery_codes_left": two_factor.remaining_recovery_codes(user)},
    )
