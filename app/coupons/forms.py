"""Back-office forms for coupons: a new coupon, a batch of codes."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

KIND_CHOICES = [
    SelectChoice("percent", _l("Percent off (%)")),
    SelectChoice("fixed", _l("Amount off (¥)")),
]


class CouponForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=80)])
    code = StringField(_l("Code customers type (optional)"), validators=[Length(max=40)])
    kind = SelectField(_l("Discount"), choices=KIND_CHOICES)
    value = StringField(_l("Value"), validators=[InputRequired(), Length(max=20)])
    max_discount = StringField(
        _l("Maximum discount (¥, percent only)"), validators=[Length(max=20)]
    )
    # "store", "category:<id>" or "product:<id>"; checked by the service.
    applies_to = SelectField(_l("Applies to"), validate_choice=False)
    min_spend = StringField(_l("Minimum spend (¥)"), validators=[Length(max=20)])
    total_limit = IntegerField(
        _l("Uses in total"), validators=[Optional(), NumberRange(1, 10_000_000)]
    )
    per_customer_limit = IntegerField(
        _l("Uses per customer"), validators=[Optional(), NumberRange(1, 1_000_000)]
    )
    starts_at = DateTimeLocalField(
        _l("Starts"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()]
    )
    ends_at = DateTimeLocalField(
        _l("Ends"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()]
    )
    is_first_order_only = BooleanField(_l("First order only (首单立减)"))


class CodeBatchForm(FlaskForm):
    count = IntegerField(_l("How many codes"), validators=[InputRequired(), NumberRange(1, 5000)])
    max_uses = IntegerField(
        _l("Uses per code (empty: no limit)"),
        default=1,
        validators=[Optional(), NumberRange(1, 1_000_000)],
    )
