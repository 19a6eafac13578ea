"""The batch forms: a file or pasted lines (and, in the back-office, whose balance pays)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length


class BatchForm(FlaskForm):
    file = FileField(_l("Upload an XLSX or CSV file"))
    text = TextAreaField(_l("…or paste lines: SKU, account, quantity"))

    def upload(self, max_bytes: int):
        """The uploaded file (name, bytes — at most one byte past `max_bytes`, so a larger file
        is seen to be too large without reading it all), or None when the lines were pasted."""
        upload = self.file.data
        if upload and getattr(upload, "filename", ""):
            return upload.filename, upload.stream.read(max_bytes + 1)
        return None

    def validate_text(self, field):
        from wtforms import ValidationError

        has_file = bool(self.file.data and getattr(self.file.data, "filename", ""))
        if not has_file and not (field.data or "").strip():
            raise ValidationError(_l("Upload a file or paste at least one line."))


class StaffBatchForm(BatchForm):
    customer_email = StringField(
        _l("Customer (e-mail address): their balance pays"),
        validators=[DataRequired(), Email(), Length(max=254)],
    )
