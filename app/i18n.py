"""Translation helpers: N_ marks message ids in services; views and templates translate them."""

from __future__ import annotations

from functools import cache

from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_babel import gettext


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it (services stay free of locale)."""
    return message


def translate(message: str, **variables) -> str:
    return gettext(message, **variables)


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def select_locale() -> Locale:
    """The UI language: the visitor's explicit choice, else their browser's, else Chinese."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return _locale(default)
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return _locale(chosen)
    best = request.accept_languages.best_match(["zh", "en"])
    return _locale("en" if best == "en" else default)
