"""Charts: self-contained SVG, labels as escaped text, CJK glyphs available, deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from importlib import resources

import pytest
from fontTools.ttLib import TTFont

from analysis import charts
from analysis.report import voice as words

HOSTILE = '<img src="file:///etc/passwd"> --> ]]> " \' & {{ 7*7 }}'


def dumbbell(label: str = "Reliability", key: str = "k") -> str:
    return charts.dumbbell_chart(
        [charts.Dumbbell(label, 5.5, 5.2, 100), charts.Dumbbell("可靠性", 5.0, 4.1, 90)],
        key=key,
        title="Expectation and perception",
        xlabel="Mean",
        expectation_label="Expectation",
        perception_label="Perception",
        note="n = 90\u2013100",
    )


def all_charts(label: str) -> list[str]:
    trend = [
        charts.TrendPoint(f"2026-0{m}", -0.5 + m / 20, -0.8, -0.1, 40, -0.4, -1.0, 0.2,
                          ("beyond",) if m == 3 else ())
        for m in range(1, 7)
    ]  # fmt: skip
    return [
        dumbbell(label),
        charts.interval_chart(
            [charts.Interval(label, -1.0, -1.3, -0.7, 200, True),
             charts.Interval("b", 0.1, -0.2, 0.4, 190)],
            key="items", title="t", xlabel="x", note="n", significant_label="s",
            not_significant_label="ns", groups=["a", "b"],
        ),
        charts.importance_performance_chart(
            [charts.Quadrant(label, 0.3, 5.0), charts.Quadrant("b", 0.1, 4.0)],
            key="ipa", title="t", xlabel="x", ylabel="y", focus_label="focus", note="n",
        ),
        charts.heatmap_chart(
            [[charts.HeatCell(-1.2, True), charts.HeatCell(None)]],
            key="heat", title="t", row_labels=[label], column_labels=["a", "b"],
            suppressed_label="suppressed", note="n", colorbar_label="gap",
        ),
        charts.trend_chart(
            trend, key="trend", title=label, ylabel="y", xlabel="x", note="n",
            labels={"estimate": "e", "center": "c", "limits": "l", "signal": "s"},
        ),
        charts.multi_trend_chart(
            [(label, trend), ("b", trend)], key="multi", title="t", ylabel="y", xlabel="x",
            note="n", signal_label="s",
        ),
        charts.score_panels(
            [("NPS", [charts.Interval(label, -18.9, -27.6, -10.3, 227)], (-100, 100))],
            key="scores", title="t", note="n",
        ),
        charts.distribution_chart(
            [(str(v), v * 3) for v in range(11)], key="dist", title=label, xlabel="x",
            ylabel="y", note="n", bands=[(0, 6, "d", "vermillion"), (7, 8, "p", "sky"),
                                         (9, 10, "pr", "blue")],
        ),
    ]  # fmt: skip


@pytest.mark.parametrize("svg", all_charts("Label"), ids=lambda s: s[s.index("aria-label") :][:25])
def test_svg_references_nothing_outside_itself(svg: str) -> None:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in {"image", "foreignObject", "script", "a", "style", "metadata"}
        for name, value in element.attrib.items():
            if name.endswith("href"):
                assert value.startswith("#")
            assert "url(" not in value or re.fullmatch(r"url\(#[^)]+\)", value)
            assert name != "style"
    assert "<!--" not in svg


def test_labels_are_escaped_text_not_markup() -> None:
    for svg in all_charts(HOSTILE):
        root = ET.fromstring(svg)  # noqa: S314 - our own output
        texts = [element.text for element in root.iter() if element.text]
        # A long title may be wrapped onto two lines (two text elements).
        assert any(HOSTILE in text for text in texts) or HOSTILE in " ".join(texts)
        assert not any(e.tag.endswith("}img") for e in root.iter())
        assert "<img" not in svg


def test_ids_are_prefixed_with_the_chart_key_and_unique() -> None:
    svg = dumbbell(key="gap-profile")
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids
    assert all(i.startswith("gap-profile-") for i in ids)
    assert len(ids) == len(set(ids))


def test_svg_keeps_its_default_namespace_whatever_the_registry_says() -> None:
    """WeasyPrint's import runs ``register_namespace("", "")``; charts drawn after it must
    still be ``<svg xmlns=...>``, which a browser draws, not ``<ns0:svg>``."""
    ET.register_namespace("", "")
    try:
        svg = dumbbell()
    finally:
        ET.register_namespace("", charts.SVG_NS)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "ns0:" not in svg


def test_a_row_label_wider_than_the_page_is_shortened_not_fatal() -> None:
    """Every chart draws with a label four lines long; as a row label (dumbbell, intervals,
    heat map, score panels) it is cut with an ellipsis, so the plot keeps its width."""
    long_label = "Staff explain clearly what they will do and then do it " * 4
    drawn = all_charts(long_label)
    for svg in (drawn[0], drawn[1], drawn[3], drawn[6]):
        assert long_label.strip() not in svg
        assert "Staff explain clearly" in svg


def test_fit_label_keeps_short_labels_and_cuts_long_ones_with_an_ellipsis() -> None:
    assert charts.fit_label("Reliability") == "Reliability"
    cut = charts.fit_label("word " * 80)
    assert cut.endswith("\u2026")
    assert charts.text_width(cut) <= charts.MAX_LABEL_IN


def test_the_same_data_gives_the_same_svg() -> None:
    assert dumbbell() == dumbbell()


def test_charts_name_the_report_fonts_and_they_cover_every_cjk_label() -> None:
    """No tofu: every character of the Traditional Chinese UI strings and of the labels of the
    default taxonomy is in Source Sans Pro or Noto Sans TC."""
    svg = dumbbell()
    assert "Source Sans Pro" in svg
    assert "Noto Sans TC" in svg
    cmap: set[int] = set()
    for package, path in charts.FONT_FILES:
        source = resources.files(package).joinpath(path)
        with resources.as_file(source) as file, TTFont(file, lazy=True) as font:
            cmap |= set(font.getBestCmap())
    text = "".join(words.ZH.values()) + "".join(
        label for axis in words.TAXONOMY["zh-Hant"].values() for label in axis.values()
    )
    missing = sorted({c for c in text if ord(c) not in cmap and not c.isspace()})
    assert not missing
