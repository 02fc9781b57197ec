"""The target form (CSRF-protected like every staff form). The fields say what a service
standard is; whether they fit the instrument is the targets service's check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_wtf import FlaskForm
from wtforms import FloatField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from surveys.services.targets import KEY_LENGTH, LABEL_LENGTH, PREFIX

METRICS = [
    SelectChoice("dimension_gap", "Dimension gap (perception − expectation)"),
    SelectChoice("item_gap", "Item gap (perception − expectation)"),
    SelectChoice("csat_top2", "CSAT top-2-box share (0 to 1)"),
    SelectChoice("nps", "NPS (−100 to 100)"),
    SelectChoice("ces_mean", "CES mean"),
    SelectChoice("rating_mean", "Mean rating"),
]
DIRECTIONS = [SelectChoice("at_least", "At least"), SelectChoice("at_most", "At most")]


class TargetForm(FlaskForm):
    key = StringField(
        "Key (letters, digits, - and _; cannot change later)",
        validators=[DataRequired("Give the target a key."), Length(max=KEY_LENGTH - len(PREFIX))],
    )
    label = StringField(
        "Label (shown in the dashboard and the PDF)",
        validators=[Optional(), Length(max=LABEL_LENGTH)],
    )
    metric = SelectField("Metric", choices=METRICS)
    subject = SelectField("Dimension or item (where the metric needs one)", choices=[])
    direction = SelectField("Direction", choices=DIRECTIONS)
    threshold = FloatField(
        "Threshold", validators=[InputRequired("Give a threshold (a number, e.g. -0.5 or 0.6).")]
    )
    segment = SelectField("Segment", choices=[])
    stage = SelectField("Stage", choices=[])
    channel = SelectField("Channel", choices=[])

    def set_choices(
        self,
        subjects: Mapping[str, Sequence[str]],
        terms: Mapping[str, Sequence[tuple[str, str]]],
    ) -> None:
        """Subjects of the instrument version (grouped) and the taxonomy ("" = every one)."""
        dimensions = list(subjects.get("dimension_gap", ()))
        items = sorted(
            {key for metric, keys in subjects.items() if metric != "dimension_gap" for key in keys}
        )
        self.subject.choices = [
            SelectChoice("", "None (the metric's own item)"),
            *(SelectChoice(key, key, optgroup="Dimensions") for key in dimensions),
            *(SelectChoice(key, key, optgroup="Items") for key in items),
        ]
        for axis in ("segment", "stage", "channel"):
            getattr(self, axis).choices = [
                SelectChoice("", f"Every {axis}"),
                *(SelectChoice(value, label) for value, label in terms.get(axis, ())),
            ]
