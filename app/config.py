"""Settings from environment variables, with embedded defaults when they are unset."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message says which and what to do."""


def _env_bool(name: str, default: bool | None) -> bool | None:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _instance_secret(instance_path: Path, filename: str, make) -> str:
    """Read a secret kept in the instance folder, creating it on the very first start only.

    A secret is regenerated never: once the platform database exists, a missing secret file is an
    error, because a new key would silently log everyone out or make encrypted data unreadable.
    """
    path = instance_path / filename
    if path.exists():
        return path.read_text().strip()
    if (instance_path / "platform.db").exists():
        raise ConfigError(
            f"{path} is missing but the database already exists; restore the file or set the "
            "matching environment variable instead of generating a new secret."
        )
    instance_path.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _new_data_key() -> str:
    return "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """Build the settings dict for create_app from the environment plus explicit overrides."""
    overrides = dict(overrides or {})
    instance_path = Path(overrides.get("INSTANCE_PATH", instance_path))
    database_url = overrides.get("DATABASE_URL", os.environ.get("DATABASE_URL") or None)
    if database_url is None:
        database_url = f"sqlite:///{instance_path / 'platform.db'}"
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

    config = {
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "PLATFORM_DOMAIN": os.environ.get("PLATFORM_DOMAIN", "localhost").strip().lower(),
        "PLATFORM_NAME": os.environ.get("PLATFORM_NAME", "Kameng"),
        # The port that public links carry (development servers on :5000); unset in production.
        "PUBLIC_PORT": _env_int("PUBLIC_PORT", None),
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "http"),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        # Cookies only over HTTPS: on by default when public links are https (production behind
        # the TLS proxy); off for the embedded http default, where they would never be sent back.
        # (None: follow PREFERRED_URL_SCHEME, resolved below once overrides are applied.)
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", None),
        # HTTPS only (production behind the TLS proxy): browsers remember it for this long,
        # store subdomains included. 0 (the embedded default): not sent.
        "HSTS_SECONDS": _env_int("HSTS_SECONDS", 0),
        # Not readable by scripts; not sent with cross-site sub-requests or cross-site POSTs.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Host-only cookies: never shared between stores.
        "SESSION_COOKIE_DOMAIN": None,
        "REMEMBER_COOKIE_DOMAIN": None,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "HOST_CACHE_TTL_SECONDS": float(os.environ.get("HOST_CACHE_TTL_SECONDS", "300")),
        "MAIL_SMTP_HOST": os.environ.get("MAIL_SMTP_HOST") or None,
        "MAIL_SMTP_PORT": _env_int("MAIL_SMTP_PORT", 25),
        "MAIL_SMTP_USER": os.environ.get("MAIL_SMTP_USER") or None,
        "MAIL_SMTP_PASSWORD": os.environ.get("MAIL_SMTP_PASSWORD") or None,
        "MAIL_SMTP_TLS": _env_bool("MAIL_SMTP_TLS", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Kameng <no-reply@localhost>"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Lock-out: this many failed sign-ins for one account (from any address) lock it until
        # the window has passed; answered 429 with Retry-After.
        "LOGIN_LOCKOUT_LIMIT": os.environ.get("LOGIN_LOCKOUT_LIMIT", "10 per 15 minutes"),
        # Every call to the acg-faka-compatible docking endpoints (/shared/...) is logged per
        # store, kept this many days (they share the API's rate limits, RATE_LIMIT_API*).
        "DOCKING_LOG_DAYS": _env_int("DOCKING_LOG_DAYS", 180),
        # How long an acg-faka `trade` waits for goods a supplier delivers before it answers
        # with the "still coming" placeholder (acg-faka sites never ask again).
        "DOCKING_TRADE_WAIT_SECONDS": float(os.environ.get("DOCKING_TRADE_WAIT_SECONDS", "8")),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        # Redis away: each web process counts in memory for a while instead of failing requests.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("PLATFORM_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_Hans_CN", "en"],
        # Jobs run in a background thread of the web process when there is no Redis.
        "JOBS_IN_PROCESS": None,
        # The periodic scheduler runs inside the web process only in the embedded default.
        "RUN_SCHEDULER_IN_PROCESS": _env_bool("RUN_SCHEDULER_IN_PROCESS", False),
        # The sandbox payment provider (anyone can approve their own payment): on by default only
        # in the embedded default (SQLite); never turn it on where real goods are sold.
        "SANDBOX_PAYMENTS": _env_bool("SANDBOX_PAYMENTS", database_url.startswith("sqlite")),
        # Let store webhooks reach private, loopback and link-local addresses (development and
        # tests only: on a server it would let any store probe the internal network).
        "WEBHOOKS_ALLOW_PRIVATE": _env_bool("WEBHOOKS_ALLOW_PRIVATE", False),
        # A direct top-up not finished by then fails and is refunded.
        "TOPUP_DEADLINE_MINUTES": _env_int("TOPUP_DEADLINE_MINUTES", 30),
        # How long we wait for a supplier's answer before treating the outcome as unknown.
        "SUPPLIER_TIMEOUT_SECONDS": float(os.environ.get("SUPPLIER_TIMEOUT_SECONDS", "10")),
        # SaaS billing of stores through Stripe Billing; unset: plans are assigned by hand.
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        # Days a store with an overdue subscription keeps its plan before it moves to Free.
        "BILLING_GRACE_DAYS": _env_int("BILLING_GRACE_DAYS", 7),
        # Money (app/ledger, app/withdrawals): suppliers' hold before settlement (stores: their
        # plan's settlement_days); withdrawals' minimum, fee (basis points, at least the minimum
        # fee) and daily maximum per store or supplier, in CNY cents.
        "SUPPLIER_SETTLEMENT_DAYS": _env_int("SUPPLIER_SETTLEMENT_DAYS", 1),
        "WITHDRAWAL_MIN_CENTS": _env_int("WITHDRAWAL_MIN_CENTS", 10000),
        "WITHDRAWAL_FEE_BPS": _env_int("WITHDRAWAL_FEE_BPS", 0),
        "WITHDRAWAL_FEE_MIN_CENTS": _env_int("WITHDRAWAL_FEE_MIN_CENTS", 0),
        "WITHDRAWAL_DAILY_LIMIT_CENTS": _env_int("WITHDRAWAL_DAILY_LIMIT_CENTS", 5_000_000),
        # Store referral: the commission of each level above the store that sold, in basis
        # points of its profit ("1000" = 10% to the inviting store only; at most 3 levels), paid
        # by the platform out of its margin ("platform") or by the selling store ("store").
        "REFERRAL_RATES_BPS": os.environ.get("REFERRAL_RATES_BPS", "1000"),
        "REFERRAL_FUNDED_BY": os.environ.get("REFERRAL_FUNDED_BY", "platform"),
        # After-sales tickets: the store's first answer is due within this many minutes; image
        # attachments up to this size.
        "TICKET_FIRST_RESPONSE_MINUTES": _env_int("TICKET_FIRST_RESPONSE_MINUTES", 60),
        "TICKET_ATTACHMENT_MAX_BYTES": _env_int("TICKET_ATTACHMENT_MAX_BYTES", 2 * 1024 * 1024),
        # Name servers for custom-domain TXT checks ("1.1.1.1,8.8.8.8", "127.0.0.1:5353");
        # unset: the system's resolver.
        "DNS_NAMESERVERS": os.environ.get("DNS_NAMESERVERS") or None,
        "DNS_TIMEOUT_SECONDS": float(os.environ.get("DNS_TIMEOUT_SECONDS", "5")),
        # Order exports up to this many rows stream at once; larger ones are built by a job,
        # and their files are deleted this many hours later.
        "EXPORT_SYNC_MAX_ROWS": _env_int("EXPORT_SYNC_MAX_ROWS", 5000),
        "EXPORT_TTL_HOURS": _env_int("EXPORT_TTL_HOURS", 24),
        # Batch top-ups (app/batches): at most this many rows, from a file (or pasted text) of
        # at most this many bytes. A batch is placed in one transaction, so keep it bounded.
        "BATCH_MAX_ROWS": _env_int("BATCH_MAX_ROWS", 1000),
        "BATCH_MAX_FILE_BYTES": _env_int("BATCH_MAX_FILE_BYTES", 1024 * 1024),
        # Growth tools: share posters are drawn with this CJK font (unset: Noto Sans CJK from
        # fonts-noto-cjk, found with fc-list) and their files swept after POSTER_TTL_DAYS;
        # marketing e-mail goes out at most this many per store and minute (the daily cap is
        # the plan's `marketing_email_daily`).
        "POSTER_FONT": os.environ.get("POSTER_FONT") or None,
        "POSTER_TTL_DAYS": _env_int("POSTER_TTL_DAYS", 7),
        "MARKETING_EMAIL_PER_MINUTE": _env_int("MARKETING_EMAIL_PER_MINUTE", 60),
        # Operations: LOG_FORMAT=json for one JSON object per line; /metrics answers scrapes
        # from these networks or with this bearer token, and is a 404 for anyone else.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        "METRICS_ALLOWED_NETWORKS": os.environ.get(
            "METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"
        ),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        # Store and platform owners must sign in with a second factor (TOTP). On by default; off
        # only in the embedded default (SQLite), so `make run`'s demo signs in with a password.
        "REQUIRE_OWNER_TWO_FACTOR": _env_bool(
            "REQUIRE_OWNER_TWO_FACTOR", not database_url.startswith("sqlite")
        ),
        # Risk control (CNY cents and counts): one order at most RISK_ORDER_MAX_CENTS; per rolling
        # 24 hours at most the daily maxima per contact (e-mail/phone), customer account and IP;
        # at most RISK_*_PER_MINUTE / _PER_HOUR orders per IP and per contact (Redis counters
        # when REDIS_URL is set, the database otherwise). Orders from RISK_AML_ORDER_CENTS, or
        # taking a contact's day to RISK_AML_DAILY_CENTS, are held for the platform's review.
        # Stores may set stricter limits of their own (/admin/risk), never looser ones.
        "RISK_ORDER_MAX_CENTS": _env_int("RISK_ORDER_MAX_CENTS", 500_000),
        "RISK_DAILY_MAX_CONTACT_CENTS": _env_int("RISK_DAILY_MAX_CONTACT_CENTS", 2_000_000),
        "RISK_DAILY_MAX_CUSTOMER_CENTS": _env_int("RISK_DAILY_MAX_CUSTOMER_CENTS", 2_000_000),
        "RISK_DAILY_MAX_IP_CENTS": _env_int("RISK_DAILY_MAX_IP_CENTS", 5_000_000),
        "RISK_IP_PER_MINUTE": _env_int("RISK_IP_PER_MINUTE", 5),
        "RISK_IP_PER_HOUR": _env_int("RISK_IP_PER_HOUR", 30),
        "RISK_CONTACT_PER_MINUTE": _env_int("RISK_CONTACT_PER_MINUTE", 3),
        "RISK_CONTACT_PER_HOUR": _env_int("RISK_CONTACT_PER_HOUR", 20),
        "RISK_AML_ORDER_CENTS": _env_int("RISK_AML_ORDER_CENTS", 200_000),
        "RISK_AML_DAILY_CENTS": _env_int("RISK_AML_DAILY_CENTS", 500_000),
        # Held orders should be decided within this many minutes (the queues show what is late).
        "RISK_REVIEW_SLA_MINUTES": _env_int("RISK_REVIEW_SLA_MINUTES", 120),
        # Per device (the storefront's signed first-party cookie, or a client's id via the API).
        "RISK_DEVICE_PER_MINUTE": _env_int("RISK_DEVICE_PER_MINUTE", 5),
        "RISK_DEVICE_PER_HOUR": _env_int("RISK_DEVICE_PER_HOUR", 30),
        # A buyer with no earlier paid order in the store: at most this much of products marked
        # high-risk in the platform catalog (gift cards…) in one order. Empty: no cap.
        "RISK_NEW_CUSTOMER_HIGH_RISK_CENTS": _env_int("RISK_NEW_CUSTOMER_HIGH_RISK_CENTS", 50_000),
        # Units of one SKU per order and per buyer over 24 hours (empty: only the catalog's own
        # per-SKU limits apply).
        "RISK_QUANTITY_PER_ORDER": _env_int("RISK_QUANTITY_PER_ORDER", None),
        "RISK_QUANTITY_PER_CONTACT_DAY": _env_int("RISK_QUANTITY_PER_CONTACT_DAY", None),
        # Country by IP: a MaxMind-format database (GeoLite2-Country.mmdb or compatible); with
        # it, orders from RISK_BLOCKED_COUNTRIES ("KP,IR") are refused, and when
        # RISK_ALLOWED_COUNTRIES is set ("CN,HK,MO,TW") only those are accepted. Addresses the
        # database does not know are accepted.
        "GEOIP_DATABASE": os.environ.get("GEOIP_DATABASE") or None,
        "RISK_BLOCKED_COUNTRIES": os.environ.get("RISK_BLOCKED_COUNTRIES", ""),
        "RISK_ALLOWED_COUNTRIES": os.environ.get("RISK_ALLOWED_COUNTRIES", ""),
        "TESTING": False,
    }
    # Each named rate limit (app/web/ratelimits.py) can be changed: RATE_LIMIT_CHECKOUT="60 per
    # minute", RATE_LIMIT_ORDER_LOOKUP="5 per minute", …
    config.update(
        {name: value for name, value in os.environ.items() if name.startswith("RATE_LIMIT_")}
    )
    config.update(overrides)
    config["DATABASE_URL"] = database_url
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = config["PREFERRED_URL_SCHEME"] == "https"
    config.setdefault("REMEMBER_COOKIE_SECURE", config["SESSION_COOKIE_SECURE"])
    if config["JOBS_IN_PROCESS"] is None:
        config["JOBS_IN_PROCESS"] = not config["REDIS_URL"]
    config["RATELIMIT_STORAGE_URI"] = (
        overrides.get("RATELIMIT_STORAGE_URI") or config["REDIS_URL"] or "memory://"
    )

    config["SECRET_KEY"] = (
        overrides.get("SECRET_KEY")
        or os.environ.get("SECRET_KEY")
        or _instance_secret(instance_path, "secret_key", lambda: secrets.token_urlsafe(48))
    )
    config["DATA_ENCRYPTION_KEYS"] = (
        overrides.get("DATA_ENCRYPTION_KEYS")
        or os.environ.get("DATA_ENCRYPTION_KEYS")
        or _instance_secret(instance_path, "data_keys", _new_data_key)
    )
    config["DATA_HMAC_KEY"] = (
        overrides.get("DATA_HMAC_KEY")
        or os.environ.get("DATA_HMAC_KEY")
        or _instance_secret(instance_path, "hmac_key", lambda: secrets.token_urlsafe(32))
    )
    return config
