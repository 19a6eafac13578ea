"""Sign-in, two-factor and password forms shared by the platform console and the store
back-office."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


class TwoFactorCodeForm(FlaskForm):
    """The code of an authenticator app (or a recovery code) to finish signing in."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=128)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
