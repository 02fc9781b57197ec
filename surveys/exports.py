"""The response table as a spreadsheet (XLSX) and as an SPSS data file (.sav), with the
instrument's labels.

Both carry the columns of the CSV format (``response_table.table_columns``) in the same order,
one row per response, so the three exports describe the same data:

* **XLSX** (openpyxl, write-only): sheet ``responses`` holds the table exactly as the CSV does
  (numbers as numbers, ``NA`` for not applicable, every text cell neutralised for spreadsheets
  with ``csv_safety.neutralise_cell``: openpyxl would store a string beginning with ``=`` as a
  formula); sheet ``variables`` lists each column's label and its value labels.
* **SPSS** (pyreadstat): a variable per column with the item text as its variable label and the
  scale anchors (or the choice options, coded 1..k in the instrument's order) as value labels.
  "Not applicable" is the user-missing code ``NA_CODE``; not answered is system-missing. A .sav
  file is not a spreadsheet, so text is stored verbatim. ``submitted_at`` is an SPSS date-time
  in UTC.

Labels are in the instrument's first language unless another is asked for.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from surveys.csv_safety import neutralise_cell
from surveys.instrument import SCALED_MEASURES, Instrument, Measure, Slot
from surveys.response_table import KEY_COLUMNS, ResponseRecord, format_timestamp

#: The SPSS code of "not applicable", declared user-missing.
NA_CODE = -1
NA_LABEL = "Not applicable"
#: SPSS variable names: at most 64 bytes, a letter first.
SPSS_NAME_LENGTH = 64
#: Longest variable label SPSS keeps.
SPSS_LABEL_LENGTH = 256
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAV_MEDIA_TYPE = "application/x-spss-sav"

KEY_LABELS = {
    "response_id": "Response id",
    "submitted_at": "Submitted at (UTC)",
    "segment": "Customer segment",
    "stage": "Stage",
    "channel": "Channel",
}
MEASURE_CAPTIONS = {
    Measure.EXPECTATION: "expectation",
    Measure.PERCEPTION: "perception",
    Measure.IMPORTANCE: "importance",
}


@dataclass(frozen=True, slots=True)
class Variable:
    """One column of an export: its table name, label, measure and value labels."""

    name: str
    label: str
    measure: Measure | None = None
    value_labels: tuple[tuple[int, str], ...] = ()
    choices: tuple[str, ...] = ()  # option keys of a choice item, coded 1..k
    not_applicable: bool = False

    @property
    def numeric(self) -> bool:
        return self.measure in SCALED_MEASURES or self.measure is Measure.CHOICE


def variables(instrument: Instrument, language: str | None = None) -> list[Variable]:
    """Every column of the table for ``instrument``, labelled in ``language``."""
    found = [Variable(name, KEY_LABELS[name]) for name in KEY_COLUMNS]
    return found + [_slot_variable(instrument, slot, language) for slot in instrument.slots()]


def _slot_variable(instrument: Instrument, slot: Slot, language: str | None) -> Variable:
    if slot.item is None:
        dimension = instrument.dimension(slot.dimension or "")
        label = f"Importance points: {dimension.label.get(language)}"
        return Variable(slot.name, label, slot.measure)
    item = instrument.item(slot.item)
    label = item.text.get(language)
    if len(item.measures) > 1:
        label = f"{label} — {MEASURE_CAPTIONS.get(slot.measure, slot.measure.value)}"
    if slot.measure is Measure.CHOICE:
        keys = tuple(option.key for option in item.options)
        labels = tuple(
            (code, option.label.get(language)) for code, option in enumerate(item.options, 1)
        )
        return Variable(slot.name, label, slot.measure, labels, keys)
    if slot.measure in SCALED_MEASURES:
        scale = instrument.scale_of(item)
        labels = tuple((point, text.get(language)) for point, text in scale.labels)
        return Variable(slot.name, label, slot.measure, labels, (), scale.not_applicable)
    return Variable(slot.name, label, slot.measure)


def _cells(record: ResponseRecord, columns: list[Variable]) -> Iterable[tuple[Variable, Any]]:
    """Each column's value of one record: a key value, an answer, ``"NA"`` or None."""
    keys = {
        "response_id": record.response_id,
        "submitted_at": record.submitted_at,
        "segment": record.segment,
        "stage": record.stage,
        "channel": record.channel,
    }
    values, not_applicable = record.answers.values, record.answers.not_applicable
    for column in columns:
        if column.name in keys:
            yield column, keys[column.name]
        elif column.name in not_applicable:
            yield column, "NA"
        else:
            yield column, values.get(column.name)


# XLSX -----------------------------------------------------------------------------------------
def write_xlsx(
    records: Iterable[ResponseRecord],
    instrument: Instrument,
    stream: IO[bytes],
    *,
    language: str | None = None,
) -> int:
    """Write ``records`` as an XLSX workbook (sheets ``responses`` and ``variables``) to
    ``stream``; return the number of response rows."""
    from openpyxl import Workbook

    columns = variables(instrument, language)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("responses")
    sheet.append([neutralise_cell(column.name) for column in columns])
    count = 0
    for record in records:
        row: list[Any] = []
        for _column, value in _cells(record, columns):
            if value is None:
                row.append(None)
            elif isinstance(value, int):
                row.append(value)
            elif hasattr(value, "isoformat"):
                row.append(format_timestamp(value))
            else:
                row.append(neutralise_cell(value))
        sheet.append(row)
        count += 1
    described = book.create_sheet("variables")
    described.append(["variable", "label", "measure", "values"])
    for column in columns:
        coded = [f"{code} = {text}" for code, text in column.value_labels]
        if column.choices:
            coded = [
                f"{key} = {text}"
                for key, (_, text) in zip(column.choices, column.value_labels, strict=True)
            ]
        if column.not_applicable:
            coded.append(f"NA = {NA_LABEL}")
        described.append(
            [
                neutralise_cell(column.name),
                neutralise_cell(column.label),
                neutralise_cell(column.measure.value if column.measure else "key"),
                neutralise_cell("; ".join(coded)),
            ]
        )
    book.save(stream)
    return count


# SPSS -----------------------------------------------------------------------------------------
def spss_names(names: Iterable[str]) -> dict[str, str]:
    """A valid, unique SPSS variable name for each column name (most are kept as they are)."""
    chosen: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not clean[:1].isalpha():
            clean = "v" + clean
        clean = clean[:SPSS_NAME_LENGTH]
        candidate, number = clean, 1
        while candidate.lower() in taken:
            suffix = f"_{number}"
            candidate, number = clean[: SPSS_NAME_LENGTH - len(suffix)] + suffix, number + 1
        taken.add(candidate.lower())
        chosen[name] = candidate
    return chosen


def write_sav(
    records: Iterable[ResponseRecord],
    instrument: Instrument,
    stream: IO[bytes],
    *,
    language: str | None = None,
) -> int:
    """Write ``records`` as an SPSS .sav file with variable and value labels to ``stream``;
    return the number of cases."""
    import pandas as pd
    import pyreadstat

    columns = variables(instrument, language)
    names = spss_names(column.name for column in columns)
    data: dict[str, list[Any]] = {column.name: [] for column in columns}
    count = 0
    for record in records:
        for column, value in _cells(record, columns):
            data[column.name].append(_spss_value(column, value))
        count += 1
    frame = pd.DataFrame(
        {names[column.name]: _spss_column(column, data[column.name]) for column in columns}
    )
    value_labels: dict[str, dict[int | float, str]] = {}
    missing: dict[str, list[Any]] = {}
    measures: dict[str, str] = {}
    for column in columns:
        name = names[column.name]
        labels: dict[int | float, str] = {float(code): text for code, text in column.value_labels}
        if column.not_applicable:
            labels[float(NA_CODE)] = NA_LABEL
            missing[name] = [float(NA_CODE)]
        if labels:
            value_labels[name] = labels
        if column.measure is Measure.CHOICE:
            measures[name] = "nominal"
        elif column.numeric:
            measures[name] = "ordinal" if column.value_labels else "scale"
        elif column.measure is None and column.name != "submitted_at":
            measures[name] = "nominal"
    with tempfile.TemporaryDirectory(prefix="gapmeter-sav-") as folder:
        path = Path(folder) / "responses.sav"
        pyreadstat.write_sav(
            frame,
            str(path),
            file_label=instrument.title.get(language)[:64],
            column_labels={
                names[column.name]: column.label[:SPSS_LABEL_LENGTH] for column in columns
            },
            variable_value_labels=value_labels,
            missing_ranges=missing,
            variable_measure=measures,
        )
        stream.write(path.read_bytes())
    return count


def _spss_value(column: Variable, value: Any) -> Any:
    if column.name == "submitted_at":
        return value
    if value == "NA" and column.numeric:
        return float(NA_CODE)
    if column.measure is Measure.CHOICE:
        return float(column.choices.index(value) + 1) if value in column.choices else None
    if column.numeric:
        return None if value is None else float(value)
    return "" if value is None else str(value)


def _spss_column(column: Variable, values: list[Any]) -> Any:
    import pandas as pd

    if column.name == "submitted_at":
        stamps = pd.to_datetime(values, utc=True)
        return stamps.tz_convert(None) if len(values) else pd.Series(values, dtype="datetime64[ns]")
    if column.numeric:
        return pd.Series(values, dtype="float64")
    return pd.Series(values, dtype="object")
