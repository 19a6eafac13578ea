"""Forms of the privacy pages: the customer's requests and the store's settings and decisions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.privacy.services import INACTIVE_CUSTOMER_MONTHS, UNPAID_CONTACT_DAYS


class ExportForm(FlaskForm):
    pass


class DeletionRequestForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=128)])
    note = TextAreaField(_l("Anything the store should know (optional)"),
                         validators=[Optional(), Length(max=2000)])  # fmt: skip


class PrivacySettingsForm(FlaskForm):
    policy_html = TextAreaField(
        _l("Your own text for the privacy policy (optional)"),
        validators=[Optional(), Length(max=20000)],
    )
    unpaid_contact_days = IntegerField(
        _l("Erase the contacts of unpaid orders after (days)"),
        validators=[InputRequired()],
        render_kw={"min": UNPAID_CONTACT_DAYS[0], "max": UNPAID_CONTACT_DAYS[1]},
    )
    inactive_customer_months = IntegerField(
        _l("Anonymise customers inactive for (months)"),
        validators=[InputRequired()],
        render_kw={"min": INACTIVE_CUSTOMER_MONTHS[0], "max": INACTIVE_CUSTOMER_MONTHS[1]},
    )


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason (the customer sees it)"),
                         validators=[DataRequired(), Length(max=2000)])  # fmt: skip


class EmailedRequestForm(FlaskForm):
    email = EmailField(_l("The customer's account e-mail"),
                       validators=[DataRequired(), Length(max=254)])  # fmt: skip
    reference = StringField(
        _l("The request you received (sender, date, subject)"),
        validators=[DataRequired(), Length(max=500)],
    )


class AnonymiseForm(FlaskForm):
    reference = StringField(
        _l("The request you received (sender, date, subject)"),
        validators=[DataRequired(), Length(max=500)],
    )
