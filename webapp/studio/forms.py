"""The studio's forms: Flask-WTF, so every post carries the CSRF token; files are read with a
cap before anything parses them."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from surveys.services.campaigns import KEY_LENGTH, NAME_LENGTH
from surveys.services.invitations import MAX_COUNT

#: Largest invitation count one form post may ask for (the service allows more from the CLI).
WEB_INVITATION_COUNT = 100_000
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class ActionForm(FlaskForm):
    """A button that changes something (open, close): only the CSRF token."""


class UploadInstrumentForm(FlaskForm):
    file = FileField(
        "Instrument file (YAML)", validators=[FileRequired("Choose a YAML file to upload.")]
    )


class CampaignForm(FlaskForm):
    key = StringField(
        "Key (the survey link is /s/KEY)",
        validators=[DataRequired("Give the campaign a key."), Length(max=KEY_LENGTH)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    name = StringField(
        "Name", validators=[DataRequired("Give the campaign a name."), Length(max=NAME_LENGTH)]
    )
    instrument = SelectField("Instrument version", validators=[InputRequired()])
    stage = SelectField("Stage", validators=[InputRequired()])
    channel = SelectField("Channel", validators=[InputRequired()])
    segment = SelectField("Segment of open-link respondents (optional)", validators=[Optional()])
    access = RadioField(
        "Access",
        choices=[
            SelectChoice("open", "Open link: anyone with the link"),
            SelectChoice("invitation", "Personal invitations only"),
        ],
        default="open",
        validators=[InputRequired()],
    )
    opens_at = DateTimeLocalField(
        "Opens (UTC; empty: now)", format=DATETIME_FORMATS, validators=[Optional()]
    )
    closes_at = DateTimeLocalField(
        "Closes (UTC; empty: never)", format=DATETIME_FORMATS, validators=[Optional()]
    )


class InviteCountForm(FlaskForm):
    count = IntegerField(
        "Number of personal links",
        validators=[
            InputRequired("Say how many links to issue."),
            NumberRange(1, min(WEB_INVITATION_COUNT, MAX_COUNT)),
        ],
    )
    segment = SelectField("Segment of these respondents", validators=[InputRequired()])


class InviteFileForm(FlaskForm):
    respondents = FileField(
        "Respondents file (CSV: a segment column; other columns are kept as attributes)",
        validators=[FileRequired("Choose a CSV file of respondents.")],
    )


class ImportForm(FlaskForm):
    responses = FileField(
        "Responses file (CSV in the response table format)",
        validators=[FileRequired("Choose a CSV file of responses.")],
    )


class EraseForm(FlaskForm):
    reference = StringField(
        "The respondent's personal link, its token, or the invitation id",
        validators=[
            DataRequired("Paste the link, the token or the invitation id."),
            Length(max=300),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    confirm = BooleanField(
        "I understand the response is deleted for good",
        validators=[DataRequired("Tick the box to confirm the erasure.")],
    )
