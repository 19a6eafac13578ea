"""Forms of the store's catalog page: markup rules and product listings."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

KIND_CHOICES = [
    SelectChoice("percent", _l("Percent (%)")),
    SelectChoice("fixed", _l("Fixed amount (¥)")),
]
ROUNDING_CHOICES = [
    SelectChoice("none", _l("No rounding")),
    SelectChoice("up_10", _l("Round up to ¥0.1")),
    SelectChoice("up_100", _l("Round up to ¥1")),
    SelectChoice("end_90", _l("End in .90")),
]


class RuleForm(FlaskForm):
    scope = HiddenField(validators=[DataRequired()])
    target_id = HiddenField(default="0")
    kind = SelectField(_l("Markup"), choices=KIND_CHOICES)
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=20)])
    rounding = SelectField(_l("Rounding"), choices=ROUNDING_CHOICES)


class DeleteRuleForm(FlaskForm):
    scope = HiddenField(validators=[DataRequired()])
    target_id = HiddenField(default="0")


class ListingForm(FlaskForm):
    is_hidden = BooleanField(_l("Hidden from my store"))
    title = StringField(_l("My title"), validators=[Length(max=120)])
    description = TextAreaField(_l("My description"), validators=[Length(max=5000)])
    position = IntegerField(_l("Order"), validators=[Optional(), NumberRange(-10000, 10000)])
