"""The withdrawal request form (stores and suppliers)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import InputRequired, Length

from app.money import parse_decimal_to_units
from app.withdrawals.models import METHODS


class WithdrawalForm(FlaskForm):
    amount = StringField(_l("Amount (CNY)"), validators=[InputRequired()])
    method = RadioField(
        _l("Pay to"),
        choices=[(code, _l(label)) for code, label in METHODS.items()],
        default="alipay",
    )
    account_name = StringField(_l("Account holder's real name"), validators=[Length(max=100)])
    account_number = StringField(_l("Account or card number"), validators=[Length(max=100)])
    bank_name = StringField(_l("Bank and branch (bank accounts)"), validators=[Length(max=100)])

    def amount_cents(self) -> int | None:
        cents = parse_decimal_to_units((self.amount.data or "").strip())
        if cents is None or cents <= 0:
            self.amount.errors.append(_l("Enter an amount such as 100.00."))
            return None
        return cents
