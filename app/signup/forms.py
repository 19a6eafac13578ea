"""The store-opening form (also used by the platform console to create a store)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


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
