"""Survey forms built from the instrument: one WTForms class per (instrument version, language,
page), cached because a published instrument version never changes.

The form renders the fields and carries the CSRF token; it holds **no answer rules**. Whether an
answer is valid is decided by ``surveys.answers.parse_answers`` alone (the API and the CSV import
use it too), and its problems are put beside the fields with ``add_problems``.

Pages: one per instrument section, in order; a 100-point importance allocation gets a page of its
own at the end. Field names are slot names (``<item>__<measure>`` or ``<item>``), as in the CSV.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.widgets import NumberInput

from surveys.answers import NOT_APPLICABLE
from surveys.errors import FieldProblem
from surveys.instrument import Instrument, Item, Measure, Scale, Slot
from webapp.forms.i18n import ui

#: Names of the form's own fields; an instrument slot may not use them.
CONTROL_FIELDS = frozenset({"csrf_token", "gm_page", "gm_state", "gm_lang", "gm_nav", "gm_token"})


# Pages (language-independent) ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PageSpec:
    """Which items (and whether the importance allocation) one page asks, and its slots."""

    index: int
    section: int | None  # index into ``instrument.sections``; None for the allocation page
    items: tuple[Item, ...]
    slots: tuple[Slot, ...]


@functools.lru_cache(maxsize=128)
def survey_pages(instrument: Instrument) -> tuple[PageSpec, ...]:
    """The survey's pages: sections in order (items in no section join the last one), then the
    importance allocation when the instrument asks for one."""
    placed: set[str] = set()
    groups: list[tuple[int | None, list[Item]]] = []
    for number, section in enumerate(instrument.sections):
        items = [instrument.item(key) for key in section.items if key not in placed]
        placed.update(item.key for item in items)
        groups.append((number, items))
    leftover = [item for item in instrument.items if item.key not in placed]
    if leftover:
        if groups:
            groups[-1][1].extend(leftover)
        else:
            groups.append((None, leftover))
    pages = [
        PageSpec(
            index,
            section,
            tuple(items),
            tuple(slot for item in items for slot in instrument.slots_of(item)),
        )
        for index, (section, items) in enumerate(groups)
    ]
    allocation = tuple(slot for slot in instrument.slots() if slot.item is None)
    if allocation:
        pages.append(PageSpec(len(pages), None, (), allocation))
    return tuple(pages)


# What the template draws ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FieldView:
    """How to draw one slot's field: ``kind`` is ``points`` (numbered chips with anchor labels),
    ``labelled`` (every point named), ``options`` (a choice), ``text`` or ``number``."""

    name: str
    measure: Measure
    kind: str
    caption: str
    low: str | None = None  # "1 – Strongly disagree": anchor of the lowest point
    high: str | None = None
    maximum: int | None = None  # text length, or allocation points
    anchors: tuple[tuple[str, str], ...] = ()  # (value, label) of the labelled points
    hint: str | None = None

    def anchor(self, value: str) -> str | None:
        """The anchor label of point ``value``, read out after its number by screen readers."""
        return next((label for point, label in self.anchors if point == value), None)


@dataclass(frozen=True, slots=True)
class QuestionView:
    """One item (or the allocation) as a fieldset: its text and its fields."""

    key: str
    text: str
    help: str | None
    optional: bool
    fields: tuple[FieldView, ...]

    @property
    def paired(self) -> bool:
        """Several measures of one statement, drawn side by side (not an allocation)."""
        return len(self.fields) > 1 and self.fields[0].kind != "number"


@dataclass(frozen=True, slots=True)
class PageView:
    index: int
    count: int
    title: str | None
    intro: str | None
    questions: tuple[QuestionView, ...]
    allocation_total: int | None = None


# Field factories -----------------------------------------------------------------------------
FieldFactory = Callable[[Instrument, Item, Measure, str], tuple[UnboundField, FieldView]]


def _caption(item: Item, measure: Measure, language: str) -> str:
    """A caption per measure for multi-measure items; single-measure ones use the item text."""
    if len(item.measures) > 1 and measure in (
        Measure.EXPECTATION,
        Measure.PERCEPTION,
        Measure.IMPORTANCE,
    ):
        return ui(str(measure), language)
    return item.text.get(language)


def _anchored(item: Item, measure: Measure, kind: str, scale: Scale, language: str) -> FieldView:
    anchors = tuple(
        (str(value), label)
        for value in scale.values
        if (label := scale.label(value, language)) is not None
    )
    low, high = scale.label(scale.min, language), scale.label(scale.max, language)
    return FieldView(
        item.slot_name(measure),
        measure,
        kind,
        _caption(item, measure, language),
        low=f"{scale.min} – {low}" if low else None,
        high=f"{scale.max} – {high}" if high else None,
        anchors=anchors,
    )


def _scale_choices(scale: Scale, language: str, *, labelled: bool) -> list[SelectChoice]:
    choices = [
        SelectChoice(
            str(value), (scale.label(value, language) or str(value)) if labelled else str(value)
        )
        for value in scale.values
    ]
    if scale.not_applicable:
        choices.append(SelectChoice(NOT_APPLICABLE, ui("not_applicable", language)))
    return choices


def scale_field(
    instrument: Instrument, item: Item, measure: Measure, language: str
) -> tuple[UnboundField, FieldView]:
    """Radios for a scaled measure; "not applicable" is its own radio where the scale allows."""
    scale = instrument.scale_of(item)
    named = all(scale.label(value) for value in scale.values) and scale.points <= 7
    view = _anchored(item, measure, "labelled" if named else "points", scale, language)
    choices = _scale_choices(scale, language, labelled=named)
    return RadioField(view.caption, choices=choices, validate_choice=False, name=view.name), view


def nps_field(
    instrument: Instrument, item: Item, measure: Measure, language: str
) -> tuple[UnboundField, FieldView]:
    """0-10 radios with the scale's anchor labels; NPS never offers "not applicable"."""
    scale = instrument.scale_of(item)
    view = _anchored(item, measure, "points", scale, language)
    choices = [SelectChoice(str(value)) for value in scale.values]
    return RadioField(view.caption, choices=choices, validate_choice=False, name=view.name), view


def choice_field(
    instrument: Instrument, item: Item, measure: Measure, language: str
) -> tuple[UnboundField, FieldView]:
    view = FieldView(item.slot_name(measure), measure, "options", _caption(item, measure, language))
    choices = [SelectChoice(option.key, option.label.get(language)) for option in item.options]
    return RadioField(view.caption, choices=choices, validate_choice=False, name=view.name), view


def text_field(
    instrument: Instrument, item: Item, measure: Measure, language: str
) -> tuple[UnboundField, FieldView]:
    view = FieldView(
        item.slot_name(measure),
        measure,
        "text",
        _caption(item, measure, language),
        maximum=item.max_length,
    )
    field = TextAreaField(
        view.caption, name=view.name, render_kw={"maxlength": item.max_length, "rows": 4}
    )
    return field, view


FIELD_FACTORIES: dict[Measure, FieldFactory] = {
    Measure.EXPECTATION: scale_field,
    Measure.PERCEPTION: scale_field,
    Measure.IMPORTANCE: scale_field,
    Measure.RATING: scale_field,
    Measure.CES: scale_field,
    Measure.NPS: nps_field,
    Measure.CHOICE: choice_field,
    Measure.TEXT: text_field,
}


def allocation_field(
    instrument: Instrument, slot: Slot, language: str
) -> tuple[UnboundField, FieldView]:
    """A number input per dimension of a points allocation."""
    total = instrument.importance.total if instrument.importance else 100
    dimension = instrument.dimension(slot.dimension) if slot.dimension else None
    label = dimension.label.get(language) if dimension else slot.name
    hint = dimension.description.get(language) if dimension and dimension.description else None
    view = FieldView(slot.name, slot.measure, "number", label, maximum=total, hint=hint)
    widget = NumberInput(step=1, min=0, max=total)
    field = StringField(label, widget=widget, name=slot.name, render_kw={"inputmode": "numeric"})
    return field, view


# The form ------------------------------------------------------------------------------------
def attribute_of(slot: str) -> str:
    """The form attribute holding slot ``slot``'s field."""
    return f"slot_{slot}"


class ResponseForm(FlaskForm):
    """Shared parts of every survey page: CSRF and the navigation state fields.

    ``gm_state`` is a signed token (start time and a form nonce, see ``webapp.respond``);
    ``gm_page`` is the page being shown; answers of other pages travel as plain hidden inputs.
    """

    gm_page = HiddenField()
    gm_state = HiddenField()
    gm_lang = HiddenField()

    page: PageView
    slot_names: tuple[str, ...]

    def field(self, slot: str) -> Field:
        """The field of answer slot ``slot`` (its HTML name; the attribute is prefixed so that a
        slot called e.g. ``data`` or ``process`` cannot shadow the form's own attributes)."""
        field: Field = self[attribute_of(slot)]
        return field

    def add_problems(self, problems: Iterable[FieldProblem]) -> list[FieldProblem]:
        """Put each slot's first problem beside its field (the most specific: a value that is no
        option is also "not answered"); return the problems of slots not on this page."""
        elsewhere = []
        for problem in problems:
            if problem.slot not in self.slot_names:
                elsewhere.append(problem)
            elif not (field := self.field(problem.slot)).errors:
                field.errors = [problem.message]
        return elsewhere


@functools.lru_cache(maxsize=512)
def build_response_form(
    instrument: Instrument, language: str, section_index: int
) -> type[ResponseForm]:
    """The form class of page ``section_index`` of ``survey_pages(instrument)`` in ``language``:
    one field per slot of that page, named by the slot."""
    pages = survey_pages(instrument)
    spec = pages[section_index]
    fields: dict[str, Any] = {}
    questions: list[QuestionView] = []
    for item in spec.items:
        views = []
        for measure in item.measures:
            field, view = FIELD_FACTORIES[measure](instrument, item, measure, language)
            fields[attribute_of(view.name)] = field
            views.append(view)
        questions.append(
            QuestionView(
                item.key,
                item.text.get(language),
                item.help.get(language) if item.help else None,
                not item.required,
                tuple(views),
            )
        )
    total = None
    if spec.section is None and not spec.items:
        total = instrument.importance.total if instrument.importance else 100
        views = []
        for slot in spec.slots:
            field, view = allocation_field(instrument, slot, language)
            fields[attribute_of(view.name)] = field
            views.append(view)
        importance_text = instrument.importance.text if instrument.importance else None
        questions.append(
            QuestionView(
                "importance",
                importance_text.get(language)
                if importance_text
                else ui("allocation_intro", language, total=total),
                None,
                False,
                tuple(views),
            )
        )
    clashes = CONTROL_FIELDS & {slot.name for slot in spec.slots}
    if clashes:
        raise ValueError(f"answer slots clash with the form's own fields: {sorted(clashes)}")
    section = instrument.sections[spec.section] if spec.section is not None else None
    page = PageView(
        index=spec.index,
        count=len(pages),
        title=_section_title(instrument, spec, language),
        intro=section.intro.get(language) if section and section.intro else None,
        questions=tuple(questions),
        allocation_total=total,
    )
    fields.update(page=page, slot_names=tuple(slot.name for slot in spec.slots))
    name = f"ResponseForm_{instrument.key}_v{instrument.version}_{language}_p{section_index}"
    return type(name, (ResponseForm,), fields)


@functools.lru_cache(maxsize=512)
def controls_form(form_class: type[ResponseForm]) -> type[ResponseForm]:
    """``form_class`` without its answer fields: CSRF and navigation only, for a page whose
    questions are drawn from a cached rendering (binding every radio per request is most of
    what building the form costs)."""
    fields = {"page": form_class.page, "slot_names": form_class.slot_names}
    return type(f"{form_class.__name__}_controls", (ResponseForm,), fields)


def _section_title(instrument: Instrument, spec: PageSpec, language: str) -> str | None:
    if spec.section is None:
        return ui("allocation_title", language) if not spec.items else None
    title = instrument.sections[spec.section].title
    return title.get(language) if title else None


def carried_answers(raw: Mapping[str, str], page_slots: Iterable[str]) -> list[tuple[str, str]]:
    """The answers of other pages, to travel as hidden inputs (no server-side partial state)."""
    here = set(page_slots)
    return [(name, value) for name, value in raw.items() if name not in here and value != ""]
