"""Back-office form for a webhook endpoint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.webhooks.models import EVENT_LABELS
from app.webhooks.transport import MAX_URL_LENGTH


class WebhookEndpointForm(FlaskForm):
    url = StringField(_l("Endpoint URL"), validators=[InputRequired(), Length(max=MAX_URL_LENGTH)])
    description = StringField(_l("Description"), validators=[Length(max=200)])
    # Checked against the event list by the service (a choice error there names the field).
    events = SelectMultipleField(
        _l("Events to send"),
        choices=[SelectChoice(event, _l(label)) for event, label in EVENT_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
