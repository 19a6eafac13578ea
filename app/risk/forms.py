"""Forms of the risk pages: a review decision, a blacklist entry, a store's own limits."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length


class DecisionForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    block_email = BooleanField(_l("Blacklist the e-mail address"))
    block_phone = BooleanField(_l("Blacklist the phone number"))
    block_ip = BooleanField(_l("Blacklist the IP address"))

    def blacklist_kinds(self) -> tuple[str, ...]:
        chosen = (("email", self.block_email), ("phone", self.block_phone), ("ip", self.block_ip))
        return tuple(kind for kind, field in chosen if field.data)


class BlacklistForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[
            ("ip", _l("IP address or network (CIDR)")),
            ("email", _l("E-mail (wildcards: *@spam.example)")),
            ("phone", _l("Phone")),
            ("customer", _l("Customer account number")),
        ],
    )
    value = StringField(_l("Value"), validators=[InputRequired(), Length(max=254)])
    note = StringField(_l("Note"), validators=[Length(max=200)])


class RiskLimitsForm(FlaskForm):
    """Amounts in yuan, counts per minute/hour; empty: the platform's limit applies."""

    order_max = StringField(_l("Largest single order"))
    daily_max = StringField(_l("Largest daily total per buyer (contact, account or IP)"))
    per_minute = StringField(_l("Orders per minute per buyer (IP, contact or device)"))
    per_hour = StringField(_l("Orders per hour per buyer (IP, contact or device)"))
    review_over = StringField(_l("Hold orders above this amount for my review"))
    challenge_from = StringField(_l("Ask for a captcha above this many orders per minute"))
    new_customer_cap = StringField(_l("A new customer's first order of high-risk products"))
    quantity_per_order = StringField(_l("Units of one item per order"))
    quantity_per_day = StringField(_l("Units of one item per buyer per day"))
