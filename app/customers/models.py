"""Store customer accounts (store schema): one table per store, so an e-mail is unique per store."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.accounts import Account
from app.db import TenantModel


class Customer(Account, TenantModel):
    """Someone who signed up on a store's storefront to buy and find their orders again."""

    __tablename__ = "customers"
    login_kind = "customer"

    role: Mapped[str] = mapped_column(String(20), default="customer")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # Set by the store to shut a customer out; they are signed out on their next request.
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def can_sign_in(self) -> bool:
        return self.is_active and not self.is_blocked
