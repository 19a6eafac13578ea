"""Sign-in and sign-out views shared by the platform console, the store back-office and the
storefront's customer accounts."""

from __future__ import annotations

from flask import current_app, redirect, request, url_for

from app.auth.accounts import authenticate, sign_in, sign_out
from app.auth.forms import LoginForm
from app.auth.guards import safe_next
from app.extensions import limiter
from app.i18n import translate
from app.web.site import render_console


def login_rate_limit() -> str:
    """The limit on sign-in attempts (and other password forms) per client address."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def add_login_routes(bp, model, template: str, home_endpoint: str, render=render_console) -> None:
    """Register `/login` (rate-limited) and `/logout` for accounts of `model` on `bp`;
    `render(template, **context)` draws the page (a console page unless told otherwise)."""

    def login():
        form = LoginForm()
        if form.validate_on_submit():
            user = authenticate(model, form.email.data, form.password.data)
            if user is not None:
                sign_in(user)
                return redirect(safe_next(request.args.get("next"), url_for(home_endpoint)))
            form.password.errors.append(translate("Wrong e-mail or password."))
        status = 401 if request.method == "POST" else 200
        return render(template, form=form), status

    def logout():
        sign_out()
        return redirect(url_for(f"{bp.name}.login"))

    # Distinct names: the limiter keeps its counters per view name.
    login.__name__ = login.__qualname__ = f"{bp.name}_login"
    login = limiter.limit(login_rate_limit, methods=["POST"])(login)
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
