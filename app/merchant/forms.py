"""Store back-office forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget


class StoreSettingsForm(FlaskForm):
    tagline = StringField(_l("Tagline"), validators=[Length(max=200)])
    announcement = TextAreaField(_l("Announcement"), validators=[Length(max=2000)])
    show_stock_counts = BooleanField(_l("Show exact stock counts to customers"))


class CheckoutSettingsForm(FlaskForm):
    payment_providers = SelectMultipleField(
        _l("Payment methods offered"),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    order_expiry_minutes = IntegerField(
        _l("Unpaid orders expire after (minutes)"), validators=[InputRequired()]
    )
    max_unpaid_per_ip = IntegerField(
        _l("Unpaid orders allowed per IP address"), validators=[InputRequired()]
    )
    max_unpaid_per_contact = IntegerField(
        _l("Unpaid orders allowed per e-mail or phone"), validators=[InputRequired()]
    )
