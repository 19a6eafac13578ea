"""The real-name verification form (stores and suppliers)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, StringField
from wtforms.validators import Length

from app.kyc.models import KINDS


class VerificationForm(FlaskForm):
    kind = RadioField(
        _l("Verify as"),
        choices=[(code, _l(label)) for code, label in KINDS.items()],
        default="individual",
    )
    legal_name = StringField(
        _l("Full legal name (as on the identity card)"), validators=[Length(max=100)]
    )
    id_number = StringField(_l("Identity card number"), validators=[Length(max=18)])
    company_name = StringField(_l("Company name (business)"), validators=[Length(max=200)])
    licence_number = StringField(
        _l("Unified social credit code (business)"), validators=[Length(max=18)]
    )
    licence_image = FileField(
        _l("Business licence photo (business; PNG, JPEG or WebP, up to 4 MB)")
    )
