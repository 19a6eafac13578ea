"""Sign-in and sign-out views shared by the platform console and the store back-office."""

from __future__ import annotations

from flask import current_app, redirect, request, url_for

from app.auth.accounts import authenticate, sign_in, sign_out
from app.auth.forms import LoginForm
from app.auth.guards import safe_next
from app.extensions import limiter
from app.i18n import translate
from app.web.site import render_console


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def add_login_routes(bp, model, template: str, home_endpoint: str) -> None:
    """Register `/login` (rate-limited) and `/logout` for accounts of `model` on `bp`."""

    def login():
        form = LoginForm()
        if form.validate_on_submit():
            user = authenticate(model, form.email.data, form.password.data)
            if user is not None:
                sign_in(user)
                return redirect(safe_next(request.args.get("next"), url_for(home_endpoint)))
            form.password.errors.append(translate("Wrong e-mail or password."))
        status = 401 if request.method == "POST" else 200
        return render_console(template, form=form), status

    def logout():
        sign_out()
        return redirect(url_for(f"{bp.name}.login"))

    # Distinct names: the limiter keeps its counters per view name.
    login.__name__ = login.__qualname__ = f"{bp.name}_login"
    login = limiter.limit(_login_limit, methods=["POST"])(login)
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
