"""Which providers the platform offers, with what credentials (sealed at rest).

The platform owner configures providers in the console or with
`flask --app wsgi payments configure PROVIDER --key value …`. `sandbox` needs no credentials and
is only ever offered where SANDBOX_PAYMENTS is on (the embedded default; off on PostgreSQL unless
set), because with it anyone can approve their own payment.
"""

from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import select

from app.cache import cache
from app.crypto import open_text, seal_text
from app.extensions import db
from app.payments.models import ProviderConfig
from app.payments.providers import Provider, ProviderUnavailable, known_providers, provider_class
from app.web.urls import platform_url

CONFIG_VERSION = "payments-config:version"


class ConfigError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _purpose(name: str) -> str:
    return f"payment-provider:{name}"


def _row(name: str) -> ProviderConfig | None:
    return db.session.get(ProviderConfig, name)


def _snapshot() -> dict[str, tuple[bool, dict[str, str]]]:
    """Every configured provider as (enabled, credentials), decrypted once per process and
    version: checkout and callbacks ask many times per purchase. Kept in this process only (never
    in the shared cache: credentials are secrets); configure() moves the version."""
    key = f"payments-config:{cache().get_int(CONFIG_VERSION)}"
    snapshot = cache().memo.get(key)
    if snapshot is None:
        snapshot = {
            row.provider: (
                row.enabled,
                json.loads(open_text(row.credentials_sealed, _purpose(row.provider)))
                if row.credentials_sealed
                else {},
            )
            for row in db.session.scalars(select(ProviderConfig))
        }
        cache().memo.put(key, snapshot)
    return snapshot


def stored_credentials(name: str) -> dict[str, str]:
    return dict(_snapshot().get(name, (False, {}))[1])


def is_enabled(name: str) -> bool:
    configured = _snapshot().get(name)
    if name == "sandbox":
        return bool(current_app.config["SANDBOX_PAYMENTS"]) and (
            configured is None or configured[0]
        )
    return configured is not None and configured[0]


def enabled_providers() -> list[str]:
    """Providers a store may offer right now, in a stable order."""
    return [name for name in known_providers() if is_enabled(name)]


def configure(
    name: str, values: dict[str, str], *, enabled: bool | None = None, actor: str = ""
) -> ProviderConfig:
    """Save credentials (a blank secret keeps the stored one) and optionally enable/disable.
    Enabling refuses while a required credential is missing. Commits."""
    cls = provider_class(name)
    known = {f.name: f for f in cls.credential_fields}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(unknown[0], f"{name} has no setting {unknown[0]!r}")
    credentials = stored_credentials(name)
    for key, value in values.items():
        value = (value or "").strip()
        if value or not known[key].secret:
            credentials[key] = value
    for credential in cls.credential_fields:
        credentials.setdefault(credential.name, credential.default)
    row = _row(name) or ProviderConfig(provider=name, enabled=False)
    if enabled is not None:
        row.enabled = enabled
    if row.enabled:
        for credential in cls.credential_fields:
            if credential.required and not credentials.get(credential.name):
                raise ConfigError(credential.name, f"{name} needs {credential.name} to be enabled")
        if name == "sandbox" and not current_app.config["SANDBOX_PAYMENTS"]:
            raise ConfigError("enabled", "the sandbox is switched off here (SANDBOX_PAYMENTS)")
    row.credentials_sealed = seal_text(json.dumps(credentials), _purpose(name))
    row.updated_by = actor
    db.session.add(row)
    db.session.commit()
    cache().incr(CONFIG_VERSION)
    return row


def load_provider(name: str, *, require_enabled: bool = True) -> Provider:
    """The provider built with its credentials. Callbacks and refunds for payments already made
    pass require_enabled=False: switching a provider off must not strand money."""
    cls = provider_class(name)
    if (require_enabled or name == "sandbox") and not is_enabled(name):
        raise ProviderUnavailable(f"payment provider {name!r} is not enabled")
    return cls(stored_credentials(name))


def overview() -> list[dict]:
    """For the console: every known provider, enabled or not, secrets masked."""
    rows = {r.provider: r for r in db.session.scalars(select(ProviderConfig))}
    result = []
    for name in known_providers():
        cls = provider_class(name)
        credentials = stored_credentials(name) if name in rows else {}
        result.append(
            {
                "name": name,
                "label": cls.label,
                "enabled": is_enabled(name),
                "callback_url": platform_url(f"/payments/callback/{name}"),
                "fields": [
                    {
                        "field": f,
                        "value": "" if f.secret else credentials.get(f.name, f.default),
                        "is_set": bool(credentials.get(f.name)),
                    }
                    for f in cls.credential_fields
                ],
                "row": rows.get(name),
            }
        )
    return result
