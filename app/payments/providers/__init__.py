"""The payment providers we know, by name. Modules load lazily: a provider whose module is
missing is simply not offered."""

from __future__ import annotations

from importlib import import_module

from app.payments.providers.base import (  # noqa: F401  (the package's public names)
    CallbackEvent,
    Checkout,
    CredentialField,
    InvalidCallback,
    Notification,
    PaymentRequest,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    Reply,
)

_CLASSES = {
    "sandbox": "app.payments.providers.sandbox:SandboxProvider",
    "alipay": "app.payments.providers.alipay:AlipayProvider",
    "wechat": "app.payments.providers.wechat:WechatPayProvider",
    "stripe": "app.payments.providers.stripe:StripeProvider",
    "epay": "app.payments.providers.epay:EpayProvider",
}


def provider_class(name: str) -> type[Provider]:
    path = _CLASSES.get(name)
    if path is None:
        raise ProviderUnavailable(f"unknown payment provider {name!r}")
    module, _, attr = path.partition(":")
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError):
        raise ProviderUnavailable(f"payment provider {name!r} is not installed") from None


def known_providers() -> list[str]:
    names = []
    for name in _CLASSES:
        try:
            provider_class(name)
        except ProviderUnavailable:
            continue
        names.append(name)
    return names
