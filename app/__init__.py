"""The Kameng web application: create_app() assembles it from small named steps."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import PROJECT_ROOT, load_config


def create_app(config: dict | None = None):
    """Build the application. `config` overrides environment settings (tests, workers)."""
    # Imported here so that importing any `app.*` module does not build the whole web stack.
    from app.web.routing import KamengFlask

    app = KamengFlask(
        __name__,
        static_folder=None,
        host_matching=True,
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    configure_settings(app, config)
    configure_logging(app)
    configure_database(app)
    configure_tenancy(app)
    configure_security(app)
    configure_auth(app)
    configure_i18n(app)
    configure_templates(app)
    configure_jobs(app)
    register_blueprints(app)
    register_error_pages(app)
    register_commands(app)
    return app


def configure_settings(app, overrides: dict | None) -> None:
    instance_path = Path(
        (overrides or {}).get("INSTANCE_PATH")
        or os.environ.get("KAMENG_INSTANCE_PATH")
        or app.instance_path
    )
    app.config.update(load_config(instance_path, overrides))
    app.instance_path = app.config["INSTANCE_PATH"]
    # Kept so helper processes (parallel migrations) can rebuild the same application.
    app.config["KAMENG_OVERRIDES"] = dict(overrides or {})


def configure_logging(app) -> None:
    from app.observability import logs, metrics

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s [%(request_id)s %(store)s] %(message)s",
        )
    logs.configure(app)
    metrics.init_app(app)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def configure_database(app) -> None:
    from app.extensions import db
    from tenants import engines

    # Flask-SQLAlchemy's own engine is an empty in-memory database that nothing uses: every
    # connection comes from tenants.engines, so a query that bypasses it finds no tables.
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    engines.init_app(app)
    import app.models  # noqa: F401  (every model registered before first use)


def configure_tenancy(app) -> None:
    from app import cache
    from app.storefront import page_cache
    from app.web import routing, site
    from tenants import engines, resolver

    cache.init_app(app)
    resolver.init_app(
        app, app.extensions[engines.EXTENSION_KEY], app.extensions[cache.EXTENSION_KEY]
    )
    routing.init_app(app)
    site.init_app(app)
    # Before ProxyFix wraps the app (configure_security), so it sees the Host as ProxyFix set it.
    page_cache.init_app(app)


def configure_security(app) -> None:
    from app import crypto
    from app.extensions import csrf, limiter
    from app.web import ratelimits, security

    crypto.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        count = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    csrf.init_app(app)
    limiter.init_app(app)
    ratelimits.init_app(app)
    security.init_app(app)


def configure_auth(app) -> None:
    from app.extensions import login_manager

    login_manager.init_app(app)
    login_manager.session_protection = "strong"


def configure_i18n(app) -> None:
    from app.extensions import babel
    from app.i18n import select_locale

    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(PROJECT_ROOT / "app" / "translations"),
    )


def configure_templates(app) -> None:
    from flask_babel import get_locale

    from app.storefront import appearance
    from app.web import themes
    from app.web.site import current_site

    themes.init_app(app)
    appearance.init_app(app)
    from app.masking import mask_contact, mask_email, mask_name, mask_phone
    from app.money import format_money

    app.jinja_env.globals.update(current_site=current_site, get_locale=get_locale)
    app.jinja_env.filters["money"] = format_money
    masks = {"mask_contact": mask_contact, "mask_email": mask_email}
    masks.update(mask_phone=mask_phone, mask_name=mask_name)
    app.jinja_env.filters.update(masks)
    app.jinja_env.globals.update(masks)

    from tenants.models import STATUS_LABELS

    @app.context_processor
    def platform_globals():
        return {"platform_name": app.config["PLATFORM_NAME"], "status_labels": STATUS_LABELS}


def configure_jobs(app) -> None:
    from workers import queue

    queue.init_app(app)


def register_blueprints(app) -> None:
    from app.api.account_views import bp as api_account
    from app.api.views import bp as api
    from app.batches.views import bp as batches
    from app.billing.views import bp as billing
    from app.customers.views import bp as customers
    from app.docking.views import bp as docking
    from app.domains.views import bp as domains
    from app.merchant.views import bp as merchant
    from app.payments.views import bp as payments
    from app.platform.views import bp as platform
    from app.privacy.views import bp as privacy
    from app.signup.views import bp as signup
    from app.storefront.views import bp as storefront
    from app.supplier_portal.views import bp as supplier_portal
    from app.suppliers.views import bp as suppliers
    from app.tickets.storefront_views import bp as tickets
    from app.web.views import bp as web

    blueprints = (
        web,
        signup,
        platform,
        payments,
        billing,
        suppliers,
        supplier_portal,
        merchant,
        storefront,
        tickets,
        customers,
        privacy,
        domains,
        api,
        api_account,
        docking,
        batches,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def register_error_pages(app) -> None:
    from app.web import errors

    errors.init_app(app)


def register_commands(app) -> None:
    from app.cli import register

    register(app)
