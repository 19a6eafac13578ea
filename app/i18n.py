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


def choose_locale(config, chosen: str | None, accept_languages) -> Locale:
    """The UI language: the visitor's explicit choice, else their browser's, else Chinese.

    `accept_languages` is werkzeug's parsed Accept-Language header (or None)."""
    default = config["BABEL_DEFAULT_LOCALE"]
    if chosen in config["LANGUAGES"]:
        return _locale(chosen)
    best = accept_languages.best_match(["zh", "en"]) if accept_languages is not None else None
    return _locale("en" if best == "en" else default)


def select_locale() -> Locale:
    """Flask-Babel's locale selector for the current request (or the default outside one)."""
    if not has_request_context():
        return choose_locale(current_app.config, None, None)
    return choose_locale(current_app.config, session.get("lang"), request.accept_languages)
