"""Ticket forms: open one, write in one, resolve one."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from app.money import parse_decimal_to_units
from app.tickets.models import FAULTS
from app.tickets.services import Note


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[Length(max=5000)])
    image = FileField(_l("Picture (optional: PNG, JPEG or WebP)"))

    def note(self) -> Note:
        upload = self.image.data
        return Note(self.body.data or "", upload.read() if upload else None)


class OpenTicketForm(MessageForm):
    subject = StringField(_l("What is wrong?"), validators=[Length(max=200)])


class ResolveForm(FlaskForm):
    """One form for the three resolutions; the button pressed says which."""

    fault = SelectField(
        _l("Who bears it"),
        choices=[SelectChoice(code, _l(label)) for code, label in FAULTS.items()],
    )
    amount = StringField(_l("Refund amount (empty: everything left)"))
    note = StringField(_l("Note to the buyer"), validators=[Length(max=2000)])

    def amount_cents(self) -> int | None | bool:
        """Cents, None for the whole remaining amount, or False (with an error) if unreadable."""
        text = (self.amount.data or "").strip()
        if not text:
            return None
        cents = parse_decimal_to_units(text)
        if cents is None:
            self.amount.errors.append(_l("Enter an amount such as 10.00."))
            return False
        return cents
