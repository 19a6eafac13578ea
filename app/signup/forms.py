"""The store-opening form (also used by the platform console to create a store)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.i18n import translate
from tenants import provisioning


class OpenStoreForm(FlaskForm):
    slug = StringField(
        _l("Store address"),
        validators=[DataRequired(), Length(min=3, max=30)],
        filters=[lambda v: (v or "").strip().lower()],
    )
    name = StringField(_l("Store name"), validators=[DataRequired(), Length(max=100)])
    owner_email = EmailField(_l("Owner e-mail"), validators=[DataRequired(), Length(max=254)])
    owner_password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=8, max=128)]
    )

    def open_store(self, *, referrer_id: int | None = None) -> provisioning.OpenedStore | None:
        """Open the store described by this (validated) form; on refusal, the reason is
        attached to the field at fault and None is returned."""
        try:
            return provisioning.create_tenant(
                slug=self.slug.data,
                name=self.name.data,
                owner_email=self.owner_email.data,
                owner_password=self.owner_password.data,
                referrer_id=referrer_id,
            )
        except provisioning.ProvisioningError as error:
            getattr(self, error.field).errors.append(translate(error.message))
            return None
