"""Respondents' comments for the weakest areas: which ones the report shows, and how.

The rule (documented in docs/reports.md and printed in the report):

1. **Areas**: the ``areas`` (default 2) dimensions with the most negative significant gap in the
   whole scope (adjusted p < alpha), most negative first.
2. **Eligible comments** for an area: non-empty text from a respondent whose own gap on that
   dimension is negative, and whose group (the cell of the assessment's breakdown the respondent
   belongs to; the whole scope when there is no breakdown) is shown (not suppressed) and has at
   least ``k`` respondents (``k`` = max(``min_comment_group``, the assessment's ``min_cell``);
   default 10, the comment threshold of security.md P3). Comments from smaller groups are
   withheld, counted, and the report says so without showing any of them.
3. **Order**: most negative respondent gap first, then by response id, then by text, so the same
   inputs always give the same selection. At most ``per_area`` (default 3) per area; a comment
   shown for one area is not repeated in the next.
4. **Text**: shown as written, escaped by the template; control and bidirectional-override
   characters are removed, non-breaking spaces become spaces (the shape of WeasyPrint #614), and
   text beyond ``max_chars`` (default 600) is cut with an ellipsis.

At most ``max_input`` (default 20,000) comments are read; the rest are ignored (and counted).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.report import contract
from analysis.report.contract import Row
from analysis.report.voice import Voice
from surveys.instrument import Instrument, Measure

_REMOVE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_NBSP = re.compile("[\u00a0\u2007\u202f\u2060]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Comment:
    """One respondent's free text with what the selection needs to know about them.

    ``group`` holds the respondent's segment / stage / channel (at least the axes of the
    assessment's breakdown); ``gaps`` their respondent dimension gaps (``None`` where undefined).
    """

    text: str
    gaps: Mapping[str, float | None]
    group: Mapping[str, str] = field(default_factory=dict)
    response_id: str = ""


@dataclass(frozen=True, slots=True)
class CommentPolicy:
    areas: int = 2
    per_area: int = 3
    min_comment_group: int = 10
    max_chars: int = 600
    max_input: int = 20_000

    def threshold(self, min_cell: int) -> int:
        return max(self.min_comment_group, min_cell)


DEFAULT_POLICY = CommentPolicy()


@dataclass(frozen=True, slots=True)
class ShownComment:
    text: str
    gap: float
    group: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CommentArea:
    dimension: str
    gap_row: Row
    comments: tuple[ShownComment, ...]


@dataclass(frozen=True, slots=True)
class CommentSelection:
    areas: tuple[CommentArea, ...]
    withheld: int  # respondents with an otherwise eligible comment in a too-small group
    threshold: int
    ignored: int = 0  # comments beyond ``max_input``
    read: int = 0  # comments read (with text or not)


def clean_text(text: str, max_chars: int) -> str:
    """The comment as written, minus invisible controls, capped at ``max_chars`` characters."""
    text = _SURROGATE.sub("\ufffd", unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text)))
    text = _NBSP.sub(" ", _REMOVE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    text = _BLANK_LINES.sub("\n\n", text.replace("\t", " ")).strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "\u2026"
    return text


def weakest_areas(assessment: Row, voice: Voice, count: int) -> list[Row]:
    """The ``count`` whole-scope dimensions with the most negative significant gap."""
    rows = [
        row
        for row in contract.dimensions(contract.whole(assessment))
        if contract.shown(row) and row["gap_mean"] < 0 and voice.significant(row.get("p_adjusted"))
    ]
    return sorted(rows, key=lambda row: (row["gap_mean"], str(row["dimension"])))[:count]


def _group_sizes(assessment: Row) -> tuple[tuple[str, ...], list[tuple[Row, int]]]:
    by = contract.breakdown(assessment)
    sizes = [
        (contract.group_key(g), int(g.get("n") or 0))
        for g in contract.groups(assessment)
        if contract.group_key(g)
    ]
    return by, sizes


def _respondent_group_size(
    comment: Comment, by: tuple[str, ...], sizes: list[tuple[Row, int]], whole_n: int
) -> int:
    """n of the breakdown cell the respondent belongs to; 0 if that cell is not shown."""
    if not by or not sizes:
        return whole_n
    cell = {axis: str(comment.group.get(axis, "")) for axis in by}
    for group, n in sizes:
        if contract.same_group(group, cell):
            return n
    return 0  # suppressed or unknown cell: never shown


def select_comments(
    assessment: Row,
    voice: Voice,
    comments: Iterable[Comment],
    policy: CommentPolicy = DEFAULT_POLICY,
) -> CommentSelection:
    """Apply the module's rule; deterministic for the same inputs."""
    threshold = policy.threshold(contract.min_cell(assessment))
    areas = weakest_areas(assessment, voice, policy.areas)
    by, sizes = _group_sizes(assessment)
    whole_n = int((contract.whole(assessment) or {}).get("n") or 0)
    taken: list[Comment] = []
    ignored = 0
    for index, comment in enumerate(comments):
        if index >= policy.max_input:
            ignored += 1
            continue
        taken.append(comment)
    used: set[int] = set()
    withheld: set[int] = set()
    chosen = []
    for row in areas:
        dimension = str(row["dimension"])
        eligible = []
        for index, comment in enumerate(taken):
            gap = comment.gaps.get(dimension)
            if index in used or gap is None or gap >= 0 or not comment.text.strip():
                continue
            if _respondent_group_size(comment, by, sizes, whole_n) < threshold:
                withheld.add(index)
                continue
            eligible.append((float(gap), comment.response_id, comment.text, index))
        eligible.sort()
        shown = []
        for gap, _rid, _text, index in eligible[: policy.per_area]:
            used.add(index)
            comment = taken[index]
            # Only the breakdown's axes, whose cell passed the threshold, are printed with it.
            group = {axis: comment.group[axis] for axis in by if axis in comment.group}
            shown.append(ShownComment(clean_text(comment.text, policy.max_chars), gap, group))
        chosen.append(CommentArea(dimension, row, tuple(shown)))
    return CommentSelection(tuple(chosen), len(withheld), threshold, ignored, len(taken))


def respondent_gaps(frame: Any, instrument: Instrument) -> dict[str, np.ndarray]:
    """Each respondent's dimension gap (methods.md: the mean of their item gaps, defined when at
    least ``ceil(k/2)`` of the ``k`` items have one), from the respondent frame of
    ``analysis.data`` (reverse-keyed already), one array per dimension."""
    from analysis.sufficient import CellLayout

    gaps = {}
    for block in CellLayout.of(instrument).dimensions:
        items = [instrument.item(key) for key in block.items]
        e = np.column_stack(
            [frame[i.slot_name(Measure.EXPECTATION)].to_numpy(float) for i in items]
        )
        p = np.column_stack([frame[i.slot_name(Measure.PERCEPTION)].to_numpy(float) for i in items])
        g = p - e
        count = (~np.isnan(g)).sum(axis=1)
        total = np.nansum(g, axis=1)
        gaps[block.dimension] = np.where(
            count >= block.min_items, total / np.maximum(count, 1), np.nan
        )
    return gaps


def comments_from_frame(
    frame: Any, texts: Iterable[tuple[str, str]], instrument: Instrument
) -> list[Comment]:
    """One ``Comment`` per non-empty ``(response_id, text)``, with that respondent's dimension
    gaps (``respondent_gaps`` of the respondent frame), segment, stage and channel. Texts whose
    respondent is not in ``frame`` are skipped."""
    gaps = respondent_gaps(frame, instrument)
    row_of = {str(rid): row for row, rid in enumerate(frame["response_id"])}
    keys = [frame[axis].to_numpy(object) for axis in ("segment", "stage", "channel")]
    found = []
    for response_id, text in texts:
        row = row_of.get(str(response_id))
        if row is None or not isinstance(text, str) or not text.strip():
            continue
        own = {
            dimension: (None if np.isnan(values[row]) else float(values[row]))
            for dimension, values in gaps.items()
        }
        group = {"segment": keys[0][row], "stage": keys[1][row], "channel": keys[2][row]}
        found.append(Comment(text, own, group, str(response_id)))
    return found


def comments_from_records(records: Iterable[Any], instrument: Instrument) -> list[Comment]:
    """One ``Comment`` per non-empty text answer of parsed responses (``analysis.data``'s
    ``RecordLike``), with the respondent's dimension gaps, segment, stage and channel."""
    from analysis.data import frame_from_records

    records = list(records)
    text_slots = [item.slot_name(Measure.TEXT) for item in instrument.items_with(Measure.TEXT)]
    if not records or not text_slots:
        return []
    texts = [
        (str(record.response_id), text)
        for record in records
        for slot in text_slots
        if isinstance(text := record.answers.values.get(slot), str)
    ]
    return comments_from_frame(frame_from_records(records, instrument), texts, instrument)
