"""Back-office forms of the growth tools: announcements, poster settings, marketing e-mail and
the platform's campaign assets."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

WHEN_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class AnnouncementForm(FlaskForm):
    kind = SelectField(
        _l("Where"),
        choices=[
            SelectChoice("bar", _l("Bar at the top of every page")),
            SelectChoice("banner", _l("Home page banner")),
            SelectChoice("popup", _l("Popup notice")),
        ],
    )
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=120)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=1000)])
    link = StringField(_l("Link (optional)"), validators=[Optional(), Length(max=300)])
    image = FileField(_l("Banner image (optional)"))
    remove_image = BooleanField(_l("Remove the image"))
    starts_at = DateTimeLocalField(_l("Starts"), format=WHEN_FORMATS, validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends"), format=WHEN_FORMATS, validators=[Optional()])
    position = IntegerField(
        _l("Order"), default=0, validators=[Optional(), NumberRange(-1000, 1000)]
    )
    is_active = BooleanField(_l("Enabled"), default=True)


class PosterSettingsForm(FlaskForm):
    poster_template = SelectField(_l("Poster template"), validate_choice=True)
    poster_headline = StringField(
        _l("Poster headline (optional)"), validators=[Optional(), Length(max=60)]
    )
    recommendations_on = BooleanField(_l("Show recommendations on the storefront"))


class CampaignForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[InputRequired(), Length(max=150)])
    body = TextAreaField(_l("Message"), validators=[InputRequired(), Length(max=20000)])


class AssetForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("image", _l("Image")),
            SelectChoice("copy", _l("Copy text")),
            SelectChoice("poster_template", _l("Poster template")),
        ],
    )
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=120)])
    body = TextAreaField(_l("Copy text"), validators=[Optional(), Length(max=5000)])
    image = FileField(_l("Image"))
    layout = SelectField(_l("Poster layout"), validate_choice=True)
    text_colour = StringField(_l("Text colour (optional)"), validators=[Optional(), Length(max=7)])
