"""Supplier portal forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.money import parse_decimal_to_units
from app.supplier_portal.services import Details


class DetailsForm(FlaskForm):
    company_name = StringField(_l("Business name"), validators=[Length(max=100)])
    contact_name = StringField(_l("Contact person"), validators=[Length(max=100)])
    contact_phone = StringField(_l("Phone"), validators=[Length(max=40)])
    goods = TextAreaField(
        _l("What would you supply? (products, face values, monthly volume)"),
        validators=[Length(max=2000)],
    )
    website = StringField(_l("Website (optional)"), validators=[Length(max=200)])

    def details(self) -> Details:
        return Details(
            self.company_name.data or "",
            self.contact_name.data or "",
            self.contact_phone.data or "",
            self.goods.data or "",
            self.website.data or "",
        )


class ApplyForm(DetailsForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])


class CostForm(FlaskForm):
    cost = StringField(_l("Proposed cost (CNY)"), validators=[InputRequired()])
    note = StringField(_l("Note for the platform (optional)"), validators=[Length(max=1000)])

    def cost_cents(self) -> int | None:
        cents = parse_decimal_to_units((self.cost.data or "").strip())
        if cents is None:
            self.cost.errors.append(_l("Enter an amount such as 8.50."))
        return cents
