"""Store back-office forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length


class StoreSettingsForm(FlaskForm):
    tagline = StringField(_l("Tagline"), validators=[Length(max=200)])
    announcement = TextAreaField(_l("Announcement"), validators=[Length(max=2000)])
