"""Store back-office forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget


class StoreSettingsForm(FlaskForm):
    # Lengths and formats are checked by merchant.services (one place, specific messages).
    name = StringField(_l("Store name"))
    tagline = StringField(_l("Tagline"), validators=[Length(max=200)])
    announcement = TextAreaField(_l("Announcement"), validators=[Length(max=2000)])
    show_stock_counts = BooleanField(_l("Show exact stock counts to customers"))
    logo = FileField(_l("Logo"))
    remove_logo = BooleanField(_l("Remove the logo"))
    support_qq = StringField(_l("QQ"))
    support_wechat = StringField(_l("WeChat"))
    support_telegram = StringField(_l("Telegram"))
    support_email = StringField(_l("Support e-mail"))
    seo_title = StringField(_l("Title for search engines"))
    seo_description = TextAreaField(_l("Description for search engines"))
    guest_checkout = BooleanField(_l("Guests may buy without an account"))
    query_password_policy = SelectField(
        _l("Query password for guests"),
        choices=[
            ("optional", _l("Optional")),
            ("required", _l("Required")),
            ("off", _l("Off (guests find orders by e-mailed links)")),
        ],
        validate_choice=False,
    )


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
