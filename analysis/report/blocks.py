"""The building blocks of a report: formatted cells and tables, SVG charts, paragraphs,
headings, findings and quotes, grouped in sections (the model's vocabulary; ``model`` builds
them, the template lays them out by ``kind``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

#: Column widths (%) of the report's tables, by table key.
COLUMN_WIDTHS: dict[str, tuple[float, ...]] = {
    "dimensions": (34, 6, 9, 9, 8, 15, 10, 9),
    "items": (34, 6, 9, 9, 8, 15, 10, 9),
    "importance": (28, 8, 10, 10, 14, 12, 18),
    "comparisons": (24, 16, 22, 14, 12, 12),
    "pairs": (22, 38, 12, 16, 12),
    "slopes": (30, 16, 10, 10, 10, 12, 12),
    "signals": (30, 14, 10, 14, 32),
    "targets": (34, 15, 10, 15, 8, 6, 12),
    "reliability": (20, 14, 8, 12, 16, 30),
    "provenance": (32, 68),
}


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell, already formatted. ``kind``: ``num``, ``sig`` (significant number),
    ``muted``, ``suppressed``, ``warn``, ``good``, ``bad`` or empty for text."""

    text: str
    kind: str = ""
    sub: str = ""  # a second, smaller line (an item's text under its key)


@dataclass(frozen=True, slots=True)
class Table:
    kind: ClassVar[str] = "table"
    key: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""
    note: str = ""
    numeric: tuple[bool, ...] = ()

    @property
    def widths(self) -> tuple[float, ...]:
        """Column widths in % for a fixed table layout (steady columns, and WeasyPrint lays a
        fixed table out in one pass), or () for automatic widths."""
        if self.key == "scores":
            per_score = (len(self.headers) - 1) // 3
            share = 76 / max(per_score, 1)
            return (24.0, *[w * share for _ in range(per_score) for w in (0.32, 0.5, 0.18)])
        widths = COLUMN_WIDTHS.get(self.key, ())
        return widths if len(widths) == len(self.headers) else ()


@dataclass(frozen=True, slots=True)
class Chart:
    kind: ClassVar[str] = "chart"
    key: str
    svg: str
    caption: str
    half: bool = False  # half the text width (two side by side)


@dataclass(frozen=True, slots=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    text: str
    style: str = ""  # "note" for small print


@dataclass(frozen=True, slots=True)
class Heading:
    kind: ClassVar[str] = "heading"
    text: str


@dataclass(frozen=True, slots=True)
class Findings:
    """A headed list of summary sentences."""

    kind: ClassVar[str] = "findings"
    title: str
    sentences: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    attribution: str


@dataclass(frozen=True, slots=True)
class Quotes:
    kind: ClassVar[str] = "quotes"
    title: str
    quotes: tuple[Quote, ...]
    empty: str = ""


@dataclass(frozen=True, slots=True)
class Highlights:
    """Headline figures as tiles: (label, value, detail with interval and n)."""

    kind: ClassVar[str] = "highlights"
    tiles: tuple[tuple[str, str, str], ...]


Block = Paragraph | Heading | Findings | Table | Chart | Quotes | Highlights


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Cover:
    organisation: str
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    facts: tuple[tuple[str, str], ...]
    footer: str  # the short line printed at the foot of every page
    generated_at: str = ""
