"""Charts drawn once with matplotlib (Agg) as SVG text, shared by the PDF report and the web pages.

Every chart takes plain, already-labelled data (strings in the reader's language, numbers as
floats) and returns a self-contained SVG string:

- text stays text (``svg.fonttype = none``) in the report's fonts, Source Sans Pro then Noto Sans
  TC (both OFL, from PyPI; registered with matplotlib here, served to WeasyPrint by the report's
  fetcher), so CJK labels render and stay searchable in the PDF;
- it references nothing outside itself: ``figure_to_svg`` parses the output and refuses any
  ``href`` or ``url()`` that is not a local ``#fragment`` and any embedding element;
- ids are prefixed with the chart key, so several charts can sit in one HTML page;
- ``style`` attributes become presentation attributes (WeasyPrint reads an inline SVG's
  ``style`` with the HTML cascade and warns about every SVG property in it);
- figures have fixed widths and margins computed from the labels (no ``bbox_inches="tight"``,
  which draws every figure twice), so every chart prints at the same scale.

Palette: Okabe–Ito, readable by colour-blind readers; every series also differs by marker, line
style or hatching, and numbers are printed where colour carries a value, so the charts survive
greyscale printing.
"""

from __future__ import annotations

import io
import math
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources

import matplotlib as mpl

mpl.use("Agg")

from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextToPath

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
INK = "#1F2933"
MUTED = "#6B7785"
GRID = "#D9DEE3"
BAND = "#F3F5F7"
EXPECTATION = OKABE_ITO["blue"]
PERCEPTION = OKABE_ITO["vermillion"]
SIGNAL = OKABE_ITO["vermillion"]
#: Diverging map for gaps: vermillion (shortfall) - white - blue (exceeds). Cells also print
#: their number, which carries the value in greyscale.
GAP_CMAP = LinearSegmentedColormap.from_list(
    "gap", [OKABE_ITO["vermillion"], "#F6C7A8", "#FFFFFF", "#A9D2EC", OKABE_ITO["blue"]]
)
#: OFL fonts from PyPI, tried glyph by glyph in this order (the same files the PDF embeds).
FONT_FILES = (
    ("font_source_sans_pro", "files/SourceSansPro-Regular.otf"),
    ("pylopdf_fonts_zh_tw", "NotoSansTC-Regular.otf"),
)
WIDTH_IN = 6.5  # the report's text width (A4 and Letter with the report's margins)
HALF_IN = 3.2
# Fixed parts of a layout, in inches.
PAD = 0.08
TITLE_IN = 0.32
LEGEND_IN = 0.24
TICKS_IN = 0.22
LABEL_IN = 0.2
TICK_SIZE = 8.0
TITLE_SIZE = 9.5
#: Upper ends of the gap colour scale, so its ticks are round numbers.
NICE_BOUNDS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)

_LOCK = threading.Lock()  # rcParams are global: draw one chart at a time


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its interval, the row type of most charts."""

    label: str
    value: float
    low: float
    high: float
    n: int
    significant: bool = False


@dataclass(frozen=True, slots=True)
class Dumbbell:
    """Expectation and perception means of one dimension or item."""

    label: str
    expectation: float
    perception: float
    n: int


@dataclass(frozen=True, slots=True)
class HeatCell:
    """One cell of a heat map; ``value`` None means suppressed (shown hatched, no number)."""

    value: float | None
    significant: bool = False


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period: str
    value: float
    low: float | None
    high: float | None
    n: int
    center: float | None = None
    lcl: float | None = None
    ucl: float | None = None
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Quadrant:
    """A point of the importance–performance chart."""

    label: str
    importance: float
    performance: float


# Fonts and style ----------------------------------------------------------------------------
@cache
def register_fonts() -> tuple[str, ...]:
    """Register the packaged fonts with matplotlib (once); return the family fallback list."""
    families = []
    for package, path in FONT_FILES:
        try:
            font = resources.files(package).joinpath(path)
        except ModuleNotFoundError:  # pragma: no cover - declared dependencies
            continue
        with resources.as_file(font) as file:
            fontManager.addfont(str(file))
            families.append(FontProperties(fname=str(file)).get_name())
    return tuple(dict.fromkeys([*families, "DejaVu Sans"]))


def _style() -> dict[str, object]:
    return {
        "font.family": list(register_fonts()),
        "font.size": 8.5,
        "axes.titlesize": TITLE_SIZE,
        "axes.titleweight": "normal",
        "axes.labelsize": 8.5,
        "axes.labelcolor": INK,
        "axes.edgecolor": MUTED,
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": INK,
        "ytick.color": INK,
        "xtick.labelsize": TICK_SIZE,
        "ytick.labelsize": TICK_SIZE,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "text.color": INK,
        "legend.fontsize": 7.5,
        "legend.frameon": False,
        "hatch.linewidth": 0.6,
        "hatch.color": MUTED,
        "svg.fonttype": "none",
        "axes.unicode_minus": True,
        "figure.dpi": 100,
    }


@cache
def _measure() -> TextToPath:
    return TextToPath()


def text_width(text: str, size: float = TICK_SIZE) -> float:
    """Width of ``text`` in inches, in the charts' fonts at ``size`` points."""
    prop = FontProperties(family=list(register_fonts()), size=size)
    width, _height, _descent = _measure().get_text_width_height_descent(text, prop, ismath=False)
    return float(width) / 72.0


#: Widest row label, in inches: a longer one is shortened with an ellipsis (``fit_label``), so
#: the plot keeps at least 60% of the text width whatever an instrument's labels are.
MAX_LABEL_IN = 2.6


def fit_label(text: str, size: float = TICK_SIZE) -> str:
    """``text`` as it fits in ``MAX_LABEL_IN`` on one line (cut at the end with an ellipsis)."""
    if text_width(text, size) <= MAX_LABEL_IN:
        return text
    return wrap_text(text, MAX_LABEL_IN, size, max_lines=1)[0]


def _fitted(labels: Sequence[str]) -> list[str]:
    return [fit_label(label) for label in labels]


def _widest(labels: Sequence[str], size: float = TICK_SIZE) -> float:
    widest = max((text_width(label, size) for label in labels), default=0.0)
    return min(widest, MAX_LABEL_IN)


_NO_LINE_START = frozenset("」』）〉》】，。、：；？！,.;:?!)\u2026")


def wrap_text(text: str, width: float, size: float, max_lines: int = 2) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` inches at ``size`` points
    (CJK text, which has no spaces, breaks between characters); the last line ends with an
    ellipsis if ``max_lines`` are not enough."""
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current}{joiner}{word}" if current else word
        # A closing mark never starts a line (CJK line breaking); it stays with its text.
        if current and word not in _NO_LINE_START and text_width(candidate, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    if len(lines) > max_lines:
        last = joiner.join([lines[max_lines - 1], *lines[max_lines:]])
        while last and text_width(last + "\u2026", size) > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "\u2026"]
    return lines


@dataclass(frozen=True, slots=True)
class Frame:
    """Margins around the plot area, in inches."""

    left: float
    right: float
    top: float
    bottom: float


@contextmanager
def _drawing() -> Iterator[None]:
    with _LOCK, mpl.rc_context(_style()):
        yield


def _axes(width: float, plot_height: float, frame: Frame) -> tuple[Figure, Axes]:
    height = plot_height + frame.top + frame.bottom
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes(
        (
            frame.left / width,
            frame.bottom / height,
            (width - frame.left - frame.right) / width,
            plot_height / height,
        )
    )
    return fig, ax


def _titles(ax: Axes, title: str, note: str, legend_columns: int = 0, **legend: object) -> None:
    """Title on the left, the sample sizes (n) on the right of the same line, and the legend
    (when ``legend_columns``) in a row between them and the plot."""
    pad = 4 + (LEGEND_IN * 72 if legend_columns else 0)
    ax.set_title(title, loc="left", pad=pad, y=1.0)
    ax.set_title(note, loc="right", pad=pad, y=1.0, fontsize=7, color=MUTED)
    if legend_columns:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncol=legend_columns,
            borderaxespad=0.2,
            borderpad=0.2,
            handletextpad=0.4,
            columnspacing=1.2,
            **legend,
        )


def _top(legend: bool = False, extra: float = 0.0) -> float:
    return PAD + TITLE_IN + (LEGEND_IN if legend else 0.0) + extra


def _bottom(xlabel: bool = True, rotated: float = 0.0) -> float:
    return PAD + TICKS_IN + (LABEL_IN if xlabel else 0.0) + rotated


def _fmt(value: float, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "−0.00"
    return text.replace("-", "\u2212")


def _limits(
    values: Sequence[float | None], pad: float = 0.08, include_zero: bool = True
) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if include_zero:
        finite.append(0.0)
    if not finite:
        return -1.0, 1.0
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return low - pad * span, high + pad * span


def _row_axis(ax: Axes, labels: Sequence[str]) -> list[int]:
    """Categorical rows top to bottom; returns the y of each row."""
    ys = list(range(len(labels)))[::-1]
    ax.set_yticks(ys, _fitted(labels))
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    return ys


# SVG output ---------------------------------------------------------------------------------
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)
_FORBIDDEN = {"image", "foreignObject", "script", "a", "iframe", "object", "embed", "use"}
_LOCAL_URL = re.compile(r"url\(#([^)]+)\)")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _is_local(element: ET.Element) -> bool:
    href = element.get(f"{{{XLINK_NS}}}href", element.get("href", ""))
    return href.startswith("#")


def _clean_tree(root: ET.Element, key: str) -> None:
    """Turn ``style`` into presentation attributes, prefix ids with ``key``, drop comments and
    metadata, and refuse anything that could load something: an element that embeds or links,
    an href or url() that is not a local fragment."""
    for parent in root.iter():
        for child in list(parent):
            if not isinstance(child.tag, str) or _local_name(child.tag) in {"metadata", "style"}:
                parent.remove(child)
    for element in root.iter():
        name = _local_name(element.tag)
        if name in _FORBIDDEN and not (name == "use" and _is_local(element)):
            raise ValueError(f"chart {key!r}: <{name}> is not allowed")
        style = element.attrib.pop("style", None)
        if style:
            for declaration in style.split(";"):
                prop, sep, value = declaration.partition(":")
                if sep:
                    element.set(prop.strip(), value.strip())
        for attr, value in list(element.attrib.items()):
            if attr == "id":
                element.set(attr, f"{key}-{value}")
            elif _local_name(attr) == "href":
                if not value.startswith("#"):
                    raise ValueError(f"chart {key!r} would reference {value[:40]!r}")
                element.set(attr, f"#{key}-{value[1:]}")
            elif "url(" in value:
                scoped = _LOCAL_URL.sub(lambda m: f"url(#{key}-{m.group(1)})", value)
                if "url(" in _LOCAL_URL.sub("", scoped):
                    raise ValueError(f"chart {key!r} would reference {value[:40]!r}")
                element.set(attr, scoped)


def figure_to_svg(fig: Figure, key: str) -> str:
    """The figure as SVG text ready to inline in HTML, with the guarantees of the module doc."""
    with mpl.rc_context({"svg.hashsalt": f"gapmeter-{key}"}):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    # Our own matplotlib output (text escaped by matplotlib; no DTD, no entities), parsed to be
    # checked and adjusted structurally rather than by pattern.
    root = ET.fromstring(buffer.getvalue())  # noqa: S314
    _clean_tree(root, key)
    root.set("role", "img")
    root.set("aria-label", key)
    # Registered again at each use: WeasyPrint's import re-registers the empty prefix, which
    # would make every tag <ns0:svg> (and ET's default_namespace refuses plain attributes).
    ET.register_namespace("", SVG_NS)
    return ET.tostring(root, encoding="unicode")


# Charts -------------------------------------------------------------------------------------
def dumbbell_chart(
    rows: Sequence[Dumbbell],
    *,
    key: str,
    title: str,
    xlabel: str,
    expectation_label: str,
    perception_label: str,
    note: str,
    scale: tuple[float, float] | None = None,
) -> str:
    """Expectation (open circle) and perception (filled square) per row, joined by the gap."""
    with _drawing():
        frame = Frame(_widest([r.label for r in rows]) + 0.15, 0.2, _top(True), _bottom())
        fig, ax = _axes(WIDTH_IN, 0.3 * len(rows) + 0.1, frame)
        ys = _row_axis(ax, [r.label for r in rows])
        for y, row in zip(ys, rows, strict=True):
            ax.plot([row.expectation, row.perception], [y, y], color=GRID, lw=2.2, zorder=1)
        ax.scatter(
            [r.expectation for r in rows],
            ys,
            s=34,
            facecolors="white",
            edgecolors=EXPECTATION,
            linewidths=1.4,
            marker="o",
            label=expectation_label,
            zorder=3,
        )
        ax.scatter(
            [r.perception for r in rows],
            ys,
            s=30,
            color=PERCEPTION,
            marker="s",
            label=perception_label,
            zorder=3,
        )
        if scale is not None:
            ax.set_xlim(*scale)
        ax.grid(axis="x", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.set_xlabel(xlabel)
        _titles(ax, title, note, 2)
        return figure_to_svg(fig, key)


def interval_chart(
    rows: Sequence[Interval],
    *,
    key: str,
    title: str,
    xlabel: str,
    note: str,
    significant_label: str,
    not_significant_label: str,
    reference: float | None = 0.0,
    groups: Sequence[str] | None = None,
) -> str:
    """Estimates with intervals, one row each; filled diamond = significant (adjusted p), hollow
    circle = not distinguishable from the reference line. ``groups`` (one per row) shades every
    other run of rows so the rows of one dimension read together."""
    with _drawing():
        frame = Frame(_widest([r.label for r in rows]) + 0.15, 0.2, _top(True), _bottom())
        fig, ax = _axes(WIDTH_IN, 0.2 * len(rows) + 0.1, frame)
        ys = _row_axis(ax, [r.label for r in rows])
        if groups:
            runs: list[tuple[int, int]] = []
            for index, group in enumerate(groups):
                if runs and groups[runs[-1][0]] == group:
                    runs[-1] = (runs[-1][0], index)
                else:
                    runs.append((index, index))
            for number, (first, last) in enumerate(runs):
                if number % 2:
                    ax.axhspan(ys[last] - 0.5, ys[first] + 0.5, color=BAND, lw=0, zorder=0)
        if reference is not None:
            ax.axvline(reference, color=MUTED, lw=0.8, ls="--", zorder=1)
        for y, row in zip(ys, rows, strict=True):
            ax.plot([row.low, row.high], [y, y], color=INK, lw=1.1, zorder=2)
        sig = [(y, r) for y, r in zip(ys, rows, strict=True) if r.significant]
        flat = [(y, r) for y, r in zip(ys, rows, strict=True) if not r.significant]
        ax.scatter(
            [r.value for _, r in sig],
            [y for y, _ in sig],
            s=26,
            color=PERCEPTION,
            marker="D",
            zorder=3,
            label=significant_label,
        )
        ax.scatter(
            [r.value for _, r in flat],
            [y for y, _ in flat],
            s=26,
            facecolors="white",
            edgecolors=INK,
            marker="o",
            zorder=3,
            label=not_significant_label,
        )
        ax.set_xlim(*_limits([v for r in rows for v in (r.low, r.high)]))
        ax.grid(axis="x", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.set_xlabel(xlabel)
        _titles(ax, title, note, 2)
        return figure_to_svg(fig, key)


def importance_performance_chart(
    points: Sequence[Quadrant],
    *,
    key: str,
    title: str,
    xlabel: str,
    ylabel: str,
    focus_label: str,
    note: str,
) -> str:
    """Importance (x) against performance (y), split at the means; the high-importance,
    low-performance quadrant ("concentrate here") is hatched and labelled."""
    with _drawing():
        xs = [p.importance for p in points]
        ys = [p.performance for p in points]
        xlim = _limits(xs, pad=0.25, include_zero=False)
        ylim = _limits(ys, pad=0.25, include_zero=False)
        ticks = [_fmt(v) for v in ylim]
        frame = Frame(_widest(ticks) + 0.45, 0.25, _top(), _bottom())
        fig, ax = _axes(WIDTH_IN, 2.4, frame)
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        ax.add_patch(
            Rectangle(
                (mx, ylim[0]),
                xlim[1] - mx,
                my - ylim[0],
                facecolor="#FBE3D4",
                edgecolor="none",
                hatch="///",
                zorder=0,
            )
        )
        ax.text(
            xlim[1] - 0.01 * (xlim[1] - xlim[0]),
            ylim[0] + 0.03 * (ylim[1] - ylim[0]),
            focus_label,
            ha="right",
            va="bottom",
            fontsize=7.5,
            color=INK,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
        )
        ax.axvline(mx, color=MUTED, lw=0.7, ls="--")
        ax.axhline(my, color=MUTED, lw=0.7, ls="--")
        ax.scatter(xs, ys, s=30, color=OKABE_ITO["blue"], marker="o", zorder=3)
        for point in points:
            ax.annotate(
                point.label,
                (point.importance, point.performance),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=7.5,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},  # over the hatching
            )
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _titles(ax, title, note)
        return figure_to_svg(fig, key)


def heatmap_chart(
    cells: Sequence[Sequence[HeatCell]],
    *,
    key: str,
    title: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    suppressed_label: str,
    note: str,
    colorbar_label: str,
) -> str:
    """A grid of gaps: the number printed in every shown cell (significant ones marked ``*``),
    suppressed cells hatched grey with a dash and no number. Column labels are slanted when they
    are wider than their column."""
    with _drawing():
        rows, cols = len(row_labels), len(column_labels)
        values = [c.value for row in cells for c in row if c.value is not None]
        largest = max([abs(v) for v in values] + [0.5])
        bound = next((b for b in NICE_BOUNDS if b >= largest), largest)
        norm = Normalize(-bound, bound)
        left = _widest(row_labels) + 0.15
        column = (WIDTH_IN - left - 0.75) / max(cols, 1)
        widest = _widest(column_labels)
        slant = 0 if widest <= column * 0.92 else 35
        # A slanted label rises by its width times sin(slant) plus its height times cos(slant).
        rise = widest * math.sin(math.radians(slant)) + TICK_SIZE / 72 * math.cos(
            math.radians(slant)
        )
        head = LABEL_IN if not slant else rise + 0.14
        frame = Frame(left, 0.75, _top(extra=head), PAD + LEGEND_IN + 0.1)
        fig, ax = _axes(WIDTH_IN, 0.26 * rows, frame)
        for r, row in enumerate(cells):
            y = rows - 1 - r
            for c, cell in enumerate(row):
                if cell.value is None:
                    ax.add_patch(
                        Rectangle(
                            (c, y), 1, 1, facecolor="#EEF0F2", edgecolor="white", hatch="////",
                            lw=1.5,
                        )
                    )  # fmt: skip
                    ax.text(c + 0.5, y + 0.5, "\u2014", ha="center", va="center", color=MUTED)
                    continue
                shade = norm(cell.value)
                ax.add_patch(
                    Rectangle((c, y), 1, 1, facecolor=GAP_CMAP(shade), edgecolor="white", lw=1.5)
                )
                ax.text(
                    c + 0.5,
                    y + 0.5,
                    _fmt(cell.value) + ("*" if cell.significant else ""),
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if abs(shade - 0.5) > 0.35 else INK,
                )
        ax.set_xlim(0, cols)
        ax.set_ylim(0, rows)
        ax.set_xticks([c + 0.5 for c in range(cols)], list(column_labels))
        ax.xaxis.tick_top()
        if slant:
            for label in ax.get_xticklabels():
                label.set_rotation(slant)
                label.set_ha("left")
        ax.set_yticks([rows - 1 - r + 0.5 for r in range(rows)], _fitted(row_labels))
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar_axes = fig.add_axes(
            (
                1 - 0.55 / WIDTH_IN,
                ax.get_position().y0,
                0.1 / WIDTH_IN,
                ax.get_position().height,
            )
        )
        # Eight discrete steps keep the colour bar vector (matplotlib rasterises long ramps).
        steps = [-bound + i * bound / 4 for i in range(9)]
        ticks = [-bound, -bound / 2, 0.0, bound / 2, bound]
        bar = fig.colorbar(
            mpl.cm.ScalarMappable(norm=norm, cmap=GAP_CMAP),
            cax=bar_axes,
            boundaries=steps,
            ticks=ticks,
        )
        bar.ax.set_yticklabels([_fmt(t) for t in ticks])
        bar.ax.set_title(colorbar_label, fontsize=7.5, loc="left", pad=4)
        bar.ax.tick_params(labelsize=7, length=2)
        bar.outline.set_visible(False)
        ax.set_title(title, loc="left", pad=4 + head * 72, y=1.0)
        ax.set_title(note, loc="right", pad=4 + head * 72, y=1.0, fontsize=7, color=MUTED)
        if any(c.value is None for row in cells for c in row):  # the hatching, where it is used
            swatch = Rectangle((0, 0), 1, 1, facecolor="#EEF0F2", edgecolor=MUTED, hatch="////")
            ax.legend(
                [swatch],
                [suppressed_label],
                loc="upper left",
                bbox_to_anchor=(0, 0),
                borderaxespad=0.2,
            )
        return figure_to_svg(fig, key)


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    key: str,
    title: str,
    ylabel: str,
    xlabel: str,
    note: str,
    labels: dict[str, str],
    percent: bool = False,
) -> str:
    """Per-period estimates with intervals, the control chart's centre and limits (stepped: they
    vary with n), and the periods with a signal ringed by a vermillion diamond.

    ``labels`` names the legend entries: ``estimate``, ``center``, ``limits``, ``signal``.
    """
    scale = 100.0 if percent else 1.0
    with _drawing():
        values = [
            v for p in points for v in (p.value, p.low, p.high, p.lcl, p.ucl) if v is not None
        ]
        ticks = [_fmt(v * scale, 1) for v in _limits(values, include_zero=False)]
        rotated = 0.35 if len(points) > 8 else 0.0
        frame = Frame(_widest(ticks) + 0.45, 0.2, _top(True), _bottom(rotated=rotated))
        fig, ax = _axes(WIDTH_IN, 1.7, frame)
        xs = list(range(len(points)))
        vals = [p.value * scale for p in points]
        if any(p.ucl is not None for p in points):
            steps = [x + d for x in xs for d in (-0.4, 0.4)]
            for attr in ("lcl", "ucl"):
                ys = [
                    (getattr(p, attr) * scale if getattr(p, attr) is not None else math.nan)
                    for p in points
                    for _ in (0, 1)
                ]
                ax.plot(
                    steps,
                    ys,
                    color=MUTED,
                    lw=0.9,
                    ls=(0, (4, 2)),
                    label=labels["limits"] if attr == "lcl" else None,
                )
        centers = [p.center for p in points if p.center is not None]
        if centers:
            ax.axhline(centers[0] * scale, color=MUTED, lw=0.9, label=labels["center"])
        lows = [(p.value - p.low) * scale if p.low is not None else 0 for p in points]
        highs = [(p.high - p.value) * scale if p.high is not None else 0 for p in points]
        ax.errorbar(
            xs,
            vals,
            yerr=[lows, highs],
            color=OKABE_ITO["blue"],
            ecolor=OKABE_ITO["blue"],
            elinewidth=1,
            capsize=2.5,
            marker="o",
            ms=4,
            lw=1.2,
            label=labels["estimate"],
            zorder=3,
        )
        flagged = [(x, v) for x, v, p in zip(xs, vals, points, strict=True) if p.signals]
        if flagged:
            ax.scatter(
                [x for x, _ in flagged],
                [v for _, v in flagged],
                s=80,
                marker="D",
                facecolors="none",
                edgecolors=SIGNAL,
                linewidths=1.6,
                zorder=4,
                label=labels["signal"],
            )
        ax.set_xticks(xs, [p.period for p in points])
        if rotated:
            for label in ax.get_xticklabels():
                label.set_rotation(45)
                label.set_ha("right")
        ax.grid(axis="y", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.set_xlim(-0.6, len(points) - 0.4)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _titles(ax, title, note, 4)
        return figure_to_svg(fig, key)


def multi_trend_chart(
    series: Sequence[tuple[str, Sequence[TrendPoint]]],
    *,
    key: str,
    title: str,
    ylabel: str,
    xlabel: str,
    note: str,
    signal_label: str,
) -> str:
    """Several series on one axis (e.g. each dimension's gap by period), each with its own colour,
    marker and line style; periods with a control-chart signal are ringed."""
    colours = [OKABE_ITO[c] for c in ("blue", "vermillion", "green", "purple", "orange", "sky")]
    markers = ["o", "s", "^", "D", "v", "P"]
    styles = ["-", "--", "-.", ":", "-", "--"]
    with _drawing():
        values = [p.value for _, points in series for p in points]
        ticks = [_fmt(v) for v in _limits(values)]
        frame = Frame(_widest(ticks) + 0.45, 0.2, _top(True), _bottom())
        fig, ax = _axes(WIDTH_IN, 1.8, frame)
        periods = sorted({p.period for _, points in series for p in points})
        index = {period: i for i, period in enumerate(periods)}
        flagged = []
        for i, (label, points) in enumerate(series):
            ax.plot(
                [index[p.period] for p in points],
                [p.value for p in points],
                color=colours[i % len(colours)],
                marker=markers[i % len(markers)],
                ls=styles[i % len(styles)],
                ms=4,
                lw=1.1,
                label=label,
            )
            flagged += [(index[p.period], p.value) for p in points if p.signals]
        if flagged:
            ax.scatter(
                [x for x, _ in flagged],
                [v for _, v in flagged],
                s=90,
                marker="o",
                facecolors="none",
                edgecolors=INK,
                linewidths=1.2,
                zorder=4,
                label=signal_label,
            )
        ax.axhline(0, color=MUTED, lw=0.7, ls="--")
        ax.set_xticks(range(len(periods)), periods)
        ax.grid(axis="y", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.set_xlim(-0.4, len(periods) - 0.6)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _titles(ax, title, note, min(len(series) + bool(flagged), 6))
        return figure_to_svg(fig, key)


def score_panels(
    panels: Sequence[tuple[str, Sequence[Interval], tuple[float, float] | None]],
    *,
    key: str,
    title: str,
    note: str,
) -> str:
    """Small multiples: one panel per score (title, rows, axis range), each a dot with its
    interval per group; the groups share the row labels on the left."""
    with _drawing():
        labels = [r.label for r in panels[0][1]]
        left = _widest(labels) + 0.15
        gap = 0.25
        width = (WIDTH_IN - left - 0.15 - gap * (len(panels) - 1)) / len(panels)
        top = _top() + LABEL_IN
        height = 0.22 * len(labels) + 0.1
        total = height + top + _bottom(False)
        fig = Figure(figsize=(WIDTH_IN, total))
        for number, (panel_title, data, limits) in enumerate(panels):
            ax = fig.add_axes(
                (
                    (left + number * (width + gap)) / WIDTH_IN,
                    _bottom(False) / total,
                    width / WIDTH_IN,
                    height / total,
                )
            )
            ys = list(range(len(labels)))[::-1]
            position = dict(zip(labels, ys, strict=True))
            for row in data:
                ax.plot([row.low, row.high], [position[row.label]] * 2, color=INK, lw=1.1)
            ax.scatter(
                [r.value for r in data],
                [position[r.label] for r in data],
                s=22,
                color=OKABE_ITO["blue"],
                marker="o",
                zorder=3,
            )
            ax.set_yticks(ys, _fitted(labels) if number == 0 else [""] * len(labels))
            ax.tick_params(axis="y", length=0)
            ax.spines["left"].set_visible(False)
            ax.set_ylim(-0.7, len(labels) - 0.3)
            if limits is not None:
                ax.set_xlim(*limits)
            ax.grid(axis="x", color=GRID, lw=0.5)
            ax.set_axisbelow(True)
            ax.set_title(panel_title, loc="left", fontsize=8.5, y=1.0, pad=4)
        fig.text(left / WIDTH_IN, 1 - (PAD + 0.2) / total, title, fontsize=9.5, color=INK)
        fig.text(1 - 0.15 / WIDTH_IN, 1 - (PAD + 0.2) / total, note, fontsize=7, color=MUTED,
                 ha="right")  # fmt: skip
        return figure_to_svg(fig, key)


def distribution_chart(
    counts: Sequence[tuple[str, int]],
    *,
    key: str,
    title: str,
    xlabel: str,
    ylabel: str,
    note: str,
    bands: Sequence[tuple[int, int, str, str]] = (),
) -> str:
    """Counts of each answer value as bars, half the text width. ``bands`` colours runs of bars
    ``(first index, last index, label, colour key)`` (detractors / passives / promoters) and
    hatches them differently so the bands survive greyscale."""
    hatches = ["", "....", "////"]
    with _drawing():
        ticks = [str(max((c for _, c in counts), default=0))]
        left = _widest(ticks) + 0.45
        lines = wrap_text(title, HALF_IN - left - 0.1, TITLE_SIZE, max_lines=2)
        title = "\n".join(lines)
        extra = (len(lines) - 1) * TITLE_SIZE * 1.25 / 72
        frame = Frame(left, 0.1, _top(bool(bands), extra), _bottom())
        fig, ax = _axes(HALF_IN, 1.3, frame)
        xs = list(range(len(counts)))
        colours = [OKABE_ITO["blue"]] * len(counts)
        hatch = [""] * len(counts)
        for index, (first, last, _label, colour) in enumerate(bands):
            for x in range(first, min(last, len(counts) - 1) + 1):
                colours[x] = OKABE_ITO[colour]
                hatch[x] = hatches[index % len(hatches)]
        bars = ax.bar(xs, [c for _, c in counts], color=colours, width=0.75, edgecolor="white")
        for bar, pattern in zip(bars, hatch, strict=True):
            bar.set_hatch(pattern)
        ax.set_xticks(xs, [label for label, _ in counts])
        ax.grid(axis="y", color=GRID, lw=0.5)
        ax.set_axisbelow(True)
        ax.set_xlabel(f"{xlabel} \u00b7 {note}")  # half width: no room for n beside the title
        ax.set_ylabel(ylabel)
        note = ""
        if bands:
            handles = [
                Rectangle(
                    (0, 0),
                    1,
                    1,
                    facecolor=OKABE_ITO[colour],
                    hatch=hatches[i % len(hatches)],
                    edgecolor="white",
                )
                for i, (_f, _l, _label, colour) in enumerate(bands)
            ]
            _titles(
                ax,
                title,
                note,
                3,
                handles=handles,
                labels=[b[2] for b in bands],
                fontsize=6.5,
            )
        else:
            _titles(ax, title, note)
        return figure_to_svg(fig, key)
