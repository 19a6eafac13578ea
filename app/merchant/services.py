"""Store back-office rules: the store's settings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.catalog.cache import bump_store_version
from app.extensions import db
from app.i18n import N_
from app.merchant.models import StoreSettings

SETTINGS_ROW_ID = 1
MAX_TAGLINE = 200
MAX_ANNOUNCEMENT = 2000


class SettingsError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


QUERY_PASSWORD_POLICIES = ("required", "optional", "off")
MAX_STORE_NAME = 100
LOGO_MAX_KB = 512
LOGO_MAX_PIXELS = 1024
# Contacts: QQ numbers are digits; WeChat and Telegram ids letters, digits, _ and -.
QQ_RE = re.compile(r"^[1-9][0-9]{4,11}$")
HANDLE_RE = re.compile(r"^@?[A-Za-z][A-Za-z0-9_-]{3,39}$")
TEXT_LIMITS = {"seo_title": 70, "seo_description": 200}


@dataclass(frozen=True)
class SettingsView:
    tagline: str
    announcement: str
    show_stock_counts: bool = False
    logo: str = ""
    support_qq: str = ""
    support_wechat: str = ""
    support_telegram: str = ""
    support_email: str = ""
    seo_title: str = ""
    seo_description: str = ""
    guest_checkout: bool = True
    query_password_policy: str = "optional"

    @property
    def has_contacts(self) -> bool:
        return any(
            (self.support_qq, self.support_wechat, self.support_telegram, self.support_email)
        )


def _view(row: StoreSettings) -> SettingsView:
    return SettingsView(
        row.tagline,
        row.announcement,
        row.show_stock_counts,
        row.logo or "",
        row.support_qq or "",
        row.support_wechat or "",
        row.support_telegram or "",
        row.support_email or "",
        row.seo_title or "",
        row.seo_description or "",
        row.guest_checkout if row.guest_checkout is not None else True,
        row.query_password_policy or "optional",
    )


def get_settings() -> SettingsView:
    """The bound store's settings (defaults if the row is missing)."""
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        return SettingsView(tagline="", announcement="")
    return _view(row)


@dataclass(frozen=True)
class StoreProfile:
    """What the settings page edits besides the storefront texts; None leaves a value as is."""

    name: str | None = None
    support_qq: str | None = None
    support_wechat: str | None = None
    support_telegram: str | None = None
    support_email: str | None = None
    seo_title: str | None = None
    seo_description: str | None = None
    guest_checkout: bool | None = None
    query_password_policy: str | None = None
    logo_upload: bytes | None = None  # new logo file content
    remove_logo: bool = False


def _clean_profile(profile: StoreProfile) -> dict:
    """The profile's given values, stripped and checked; SettingsError names the first bad one."""
    from app.auth.emails import email_problem, normalize_email

    cleaned: dict = {}
    if profile.name is not None:
        name = " ".join(profile.name.split())
        if not name:
            raise SettingsError("name", N_("Enter your store's name."))
        if len(name) > MAX_STORE_NAME:
            raise SettingsError("name", N_("The store name must be at most 100 characters long."))
        cleaned["name"] = name
    if profile.support_qq is not None:
        qq = profile.support_qq.strip()
        if qq and not QQ_RE.match(qq):
            raise SettingsError("support_qq", N_("A QQ number has 5 to 12 digits."))
        cleaned["support_qq"] = qq
    for field in ("support_wechat", "support_telegram"):
        value = getattr(profile, field)
        if value is not None:
            value = value.strip()
            if value and not HANDLE_RE.match(value):
                raise SettingsError(
                    field, N_("Use 4 to 40 letters, digits, _ or -, starting with a letter.")
                )
            cleaned[field] = value.lstrip("@") if field == "support_telegram" else value
    if profile.support_email is not None:
        email = normalize_email(profile.support_email)
        if email and email_problem(email):
            raise SettingsError("support_email", email_problem(email))
        cleaned["support_email"] = email
    for field, limit in TEXT_LIMITS.items():
        value = getattr(profile, field)
        if value is not None:
            value = " ".join(value.split())
            if len(value) > limit:
                raise SettingsError(field, N_("At most %(limit)s characters."), limit=limit)
            cleaned[field] = value
    if profile.guest_checkout is not None:
        cleaned["guest_checkout"] = bool(profile.guest_checkout)
    if profile.query_password_policy is not None:
        if profile.query_password_policy not in QUERY_PASSWORD_POLICIES:
            raise SettingsError("query_password_policy", N_("Choose one of the options."))
        cleaned["query_password_policy"] = profile.query_password_policy
    return cleaned


def _clean_logo(data: bytes) -> tuple[bytes, str]:
    from app.images import ImageRefused, reencode_image

    try:
        return reencode_image(data, max_bytes=LOGO_MAX_KB * 1024, max_pixels=LOGO_MAX_PIXELS)
    except ImageRefused as refused:
        message, params = {
            "size": (N_("The image must be at most %(size)s KB."), {"size": LOGO_MAX_KB}),
            "format": (N_("Use a PNG, JPEG, WebP or GIF image."), {}),
            "pixels": (
                N_("The image must be at most %(pixels)s pixels wide and high."),
                {"pixels": LOGO_MAX_PIXELS},
            ),
        }.get(refused.reason, (N_("This file is not an image we can read."), {}))
        raise SettingsError("logo", message, **params) from None


def update_settings(
    tenant_id: int,
    *,
    tagline: str,
    announcement: str,
    show_stock_counts: bool = False,
    profile: StoreProfile | None = None,
    actor=None,
) -> SettingsView:
    """Save the storefront texts and (optionally) the store's profile, all or nothing. A new
    store name is written to the shared `tenants` row in the same transaction."""
    from app.audit.services import record
    from app.images import store_media
    from tenants.models import Tenant
    from tenants.resolver import resolver

    profile = profile or StoreProfile()
    tagline = (tagline or "").strip()
    announcement = (announcement or "").strip()
    if len(tagline) > MAX_TAGLINE:
        raise SettingsError("tagline", N_("The tagline must be at most 200 characters long."))
    if len(announcement) > MAX_ANNOUNCEMENT:
        raise SettingsError(
            "announcement", N_("The announcement must be at most 2000 characters long.")
        )
    cleaned = _clean_profile(profile)
    logo = _clean_logo(profile.logo_upload) if profile.logo_upload else None
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID, with_for_update=True)
    if row is None:
        row = StoreSettings(id=SETTINGS_ROW_ID)
        db.session.add(row)
        db.session.flush()
    texts = {"tagline": tagline, "announcement": announcement}
    texts["show_stock_counts"] = bool(show_stock_counts)
    before = {k: getattr(row, k) for k in [*texts, *cleaned] if k != "name"}
    row.tagline = tagline
    row.announcement = announcement
    row.show_stock_counts = bool(show_stock_counts)
    renamed = False
    for field, value in cleaned.items():
        if field == "name":
            tenant = db.session.get(Tenant, tenant_id)
            if tenant.name != value:
                before["name"], tenant.name, renamed = tenant.name, value, True
        else:
            setattr(row, field, value)
    if logo is not None:
        before["logo"] = row.logo
        row.logo = store_media(f"store/{tenant_id}/logo", *logo)
    elif profile.remove_logo:
        before["logo"] = row.logo
        row.logo = ""
    if actor is not None:
        after = {k: {**texts, **cleaned}[k] for k in before if k in {**texts, **cleaned}}
        if "logo" in before:
            after["logo"] = row.logo
        record(
            "settings.save",
            actor=actor,
            tenant_id=tenant_id,
            target=f"store:{tenant_id}",
            before={k: v for k, v in before.items() if after.get(k) != v},
            after={k: v for k, v in after.items() if before.get(k) != v},
        )
    db.session.commit()
    if renamed:
        resolver().invalidate()  # the store's name travels with its host resolution
    bump_store_version(tenant_id)
    return _view(row)


def checkout_refusal(
    *, guest_checkout: bool, query_password_policy: str, is_customer: bool, query_password: str
) -> tuple[str, str] | None:
    """Whether a checkout may go ahead under the store's rules: (field, message) when not.
    Guest checkout off needs a signed-in customer; a required query password needs one from
    guests (signed-in customers find their orders in their account)."""
    if not is_customer and not guest_checkout:
        return "", N_("Sign in or create an account to buy in this store.")
    if not is_customer and query_password_policy == "required" and not query_password.strip():
        return "query_password", N_("Choose a query password to look your order up later.")
    return None


@dataclass(frozen=True)
class CheckoutSettings:
    payment_providers: tuple[str, ...] = ()  # empty: every provider the platform enabled
    order_expiry_minutes: int = 15
    max_unpaid_per_ip: int = 3
    max_unpaid_per_contact: int = 3


EXPIRY_RANGE = (5, 1440)
UNPAID_RANGE = (1, 20)


def get_checkout_settings() -> CheckoutSettings:
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        return CheckoutSettings()
    return CheckoutSettings(
        tuple(row.payment_providers or ()),
        row.order_expiry_minutes,
        row.max_unpaid_per_ip,
        row.max_unpaid_per_contact,
    )


def update_checkout_settings(
    *,
    payment_providers: list[str],
    order_expiry_minutes: int,
    max_unpaid_per_ip: int,
    max_unpaid_per_contact: int,
) -> CheckoutSettings:
    """Choose the providers to offer (among those the platform enabled) and the order limits."""
    from app.payments.config import enabled_providers

    enabled = enabled_providers()
    unknown = [name for name in payment_providers if name not in enabled]
    if unknown:
        raise SettingsError("payment_providers", N_("Choose among the enabled payment methods."))
    if not EXPIRY_RANGE[0] <= order_expiry_minutes <= EXPIRY_RANGE[1]:
        raise SettingsError(
            "order_expiry_minutes", N_("Unpaid orders expire after 5 to 1440 minutes.")
        )
    for field, value in (
        ("max_unpaid_per_ip", max_unpaid_per_ip),
        ("max_unpaid_per_contact", max_unpaid_per_contact),
    ):
        if not UNPAID_RANGE[0] <= value <= UNPAID_RANGE[1]:
            raise SettingsError(field, N_("Allow 1 to 20 unpaid orders."))
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID, with_for_update=True)
    if row is None:
        row = StoreSettings(id=SETTINGS_ROW_ID)
        db.session.add(row)
    row.payment_providers = [name for name in enabled if name in payment_providers]
    row.order_expiry_minutes = order_expiry_minutes
    row.max_unpaid_per_ip = max_unpaid_per_ip
    row.max_unpaid_per_contact = max_unpaid_per_contact
    db.session.commit()
    return get_checkout_settings()
