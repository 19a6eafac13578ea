"""Store back-office forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length


class StoreSettingsForm(FlaskForm):
    tagline = StringField(_l("Tagline"), validators=[Length(max=200)])
    announcement = TextAreaField(_l("Announcement"), validators=[Length(max=2000)])
    show_stock_counts = BooleanField(_l("Show exact stock counts to customers"))
