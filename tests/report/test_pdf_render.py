"""Real PDFs of the reference data, read back as a reader gets them: text (pypdf), page size,
page images (pdftoppm), and no WeasyPrint warning on the way."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from analysis.report import build_report_model, render_html, render_report
from analysis.report.comments import Comment, respondent_gaps
from analysis.report.voice import Voice
from surveys.instrument import Instrument
from tests.report.conftest import weasyprint_records


def comments_for(frame: pd.DataFrame, instrument: Instrument) -> list[Comment]:
    """A comment from every respondent, naming them, with their real dimension gaps."""
    gaps = respondent_gaps(frame, instrument)
    found = []
    for row, record in frame.iterrows():
        own = {d: (None if np.isnan(v[row]) else float(v[row])) for d, v in gaps.items()}
        group = {"segment": record["segment"], "stage": record["stage"]}
        text = f"Comment of {record['response_id']}: waited too long.\nSecond line."
        found.append(Comment(text, own, group, str(record["response_id"])))
    return found


def distributions_for(frame: pd.DataFrame) -> dict[str, dict[int, int]]:
    return {
        key: {int(v): int(c) for v, c in frame[key].dropna().value_counts().items()}
        for key in ("recommend", "overall_csat")
    }


@pytest.fixture(scope="module")
def english(instrument, assessment_by_segment_stage, frame) -> dict[str, Any]:
    """The full English A4 report by segment × stage, with comments and distributions."""
    with weasyprint_records() as messages:
        pdf = render_report(
            assessment_by_segment_stage,
            instrument,
            comments=comments_for(frame, instrument),
            distributions=distributions_for(frame),
            organisation="Harbour Telecom",
        )
    return read(pdf, messages)


@pytest.fixture(scope="module")
def chinese(instrument, assessment_by_segment) -> dict[str, Any]:
    with weasyprint_records() as messages:
        pdf = render_report(assessment_by_segment, instrument, language="zh-Hant", paper="Letter")
    return read(pdf, messages)


def read(pdf: bytes, logs: list[str]) -> dict[str, Any]:
    """The PDF with its pages' text extracted once (pypdf is slow on CFF fonts)."""
    reader = PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    return {
        "pdf": pdf,
        "logs": logs,
        "reader": reader,
        "pages": pages,
        "text": re.sub(r"\s+", " ", " ".join(pages)),
    }


def test_no_weasyprint_log_records(english, chinese) -> None:
    assert english["logs"] == []
    assert chinese["logs"] == []


def test_every_section_is_there_in_order(english) -> None:
    text = english["text"]
    headings = [
        "Contents",
        "Executive summary",
        "Gap profile",
        "Segments and stages",
        "Trends",
        "Service standards",
        "Scores",
        "Respondents' comments",
        "Appendix",
        "Reliability",
        "Method notes",
        "Provenance",
    ]
    positions = [text.find(h, text.find("Contents") if i else 0) for i, h in enumerate(headings)]
    assert -1 not in positions
    body = [text.rfind(h) for h in headings[1:9]]
    assert body == sorted(body)


def test_cover_names_organisation_scope_and_n(english, assessment_by_segment_stage) -> None:
    cover = re.sub(r"\s+", " ", english["pages"][0])
    assert "HARBOUR TELECOM" in cover
    assert "Service quality assessment" in cover
    assert "2026-01 to 2026-06" in cover
    assert "servqual-240, version 1" in cover
    assert f"n = {assessment_by_segment_stage['meta']['n_responses']}" in cover


def test_every_page_but_the_cover_says_page_x_of_y(english) -> None:
    pages = english["pages"]
    for number, page in enumerate(pages[1:], start=2):
        assert f"Page {number} of {len(pages)}" in page


def test_table_of_contents_gives_the_pages_of_the_sections(english) -> None:
    pages = english["pages"]
    for title in ("Executive summary", "Trends", "Appendix"):
        match = re.search(re.escape(title) + r"[ .]*?(\d+)", pages[1])
        assert match, title
        assert title in pages[int(match.group(1)) - 1]


def test_printed_numbers_are_the_assessments(english, assessment_by_segment_stage, instrument):
    voice = Voice(instrument, "en")
    text = english["text"]
    whole = assessment_by_segment_stage["groups"][0]
    for row in whole["dimensions"] + whole["items"]:
        expected = " ".join(
            [
                voice.count(row["n"]),
                voice.num(row["expectation_mean"]),
                voice.num(row["perception_mean"]),
                voice.num(row["gap_mean"]),
                voice.ci(row["gap_ci_low"], row["gap_ci_high"]),
                voice.p_cell(row["p_adjusted"]),
                voice.num(row["effect_size_dz"]),
            ]
        )
        assert expected in text, row.get("item", row["dimension"])
    nps = whole["scores"]["nps"]
    assert f"{voice.score('nps', nps['value'])} [{voice.score('nps', nps['ci_low'])}, " in text
    for target in assessment_by_segment_stage["targets"]:
        assert voice.p_cell(target["p"]) in text


def test_comparisons_slopes_and_group_scores_printed_are_the_assessments(
    english, assessment_by_segment_stage, instrument
) -> None:
    """Every ANOVA row, every significant Games–Howell pair, every slope and every shown
    group's NPS, CSAT and CES (value, interval, n) as the PDF prints them."""
    voice = Voice(instrument, "en")
    text = english["text"]
    data = assessment_by_segment_stage
    assert data["comparisons"]
    for comparison in data["comparisons"]:
        df = f"({voice.num(comparison['df1'], 0)}, {voice.num(comparison['df2'], 1)})"
        row = (
            f"{voice.num(comparison['f'])} {df} {voice.p_cell(comparison['p_adjusted'])} "
            f"{voice.num(comparison['effect_size'], 3)}"
        )
        assert row in text, (comparison["factor"], comparison["dimension"])
        for pair in comparison["pairs"]:
            if voice.significant(pair["p_adjusted"]):
                printed = (
                    f"{voice.signed(pair['diff'])} {voice.ci(pair['ci_low'], pair['ci_high'])} "
                    f"{voice.p_cell(pair['p_adjusted'])}"
                )
                assert printed in text, pair
    for slope in data["slopes"]:
        if slope["metric"] in ("csat_top2", "share_dissatisfied"):  # shares: per cent
            sign = "+" if slope["slope"] >= 0.00005 else ""
            value = f"{sign}{voice.pct(slope['slope'], 2)} / month {voice.pct(slope['se'], 2)}"
        else:
            value = f"{voice.signed(slope['slope'], 3)} / month {voice.num(slope['se'], 3)}"
        printed = f"{value} {voice.num(slope['t'])} {voice.p_cell(slope['p'])}"
        assert printed in text, slope["metric"]
    shown = [g for g in data["groups"] if g.get("scores")]
    assert len(shown) > 10
    for group in shown:
        line = voice.group(group["group"])
        for name in ("nps", "csat_top2", "ces_mean"):
            score = group["scores"].get(name)
            if score and score.get("value") is not None:
                line += (
                    f" {voice.score(name, score['value'])} [{voice.score(name, score['ci_low'])}, "
                    f"{voice.score(name, score['ci_high'])}] {voice.count(score['n'])}"
                )
        assert line in text


def test_a_suppressed_group_is_named_only_as_suppressed(english, assessment_by_segment_stage):
    """Wherever the PDF names the suppressed group (heat map, appendix), no number follows it:
    no table row, no n, no statistic of its 9 respondents."""
    text = english["text"]
    label = "small-business · purchase"
    after = [text[m.end() : m.end() + 14] for m in re.finditer(re.escape(label), text)]
    assert after, "the suppressed group is listed as such"
    for following in after:
        assert following.startswith((" (suppressed)", ".", ",")), following


def test_suppressed_cells_show_as_suppressed_without_numbers(english, assessment_by_segment_stage):
    hidden = [s["group"] for s in assessment_by_segment_stage["suppressed"]]
    assert {"segment": "small_business", "stage": "purchase"} in hidden
    text = english["text"]
    assert "small-business · purchase (suppressed)" in text
    assert "small-business · purchase (n =" not in text
    assert "n = 9" not in text


def test_comments_follow_the_rule(english, frame, instrument, assessment_by_segment_stage):
    """The worst respondents of the two weakest areas, at most 3 each, from groups of at least 10;
    the rest of the 240 comments are not in the PDF."""
    text = english["text"]
    shown = set(re.findall(r"Comment of (r\d{5})", text))
    assert 1 <= len(shown) <= 6
    gaps = respondent_gaps(frame, instrument)
    empathy = pd.Series(gaps["empathy"], index=frame["response_id"]).dropna().sort_values()
    assert empathy.index[0] in shown
    assert "Second line." in text


def test_chinese_report_is_in_chinese_on_letter(chinese) -> None:
    reader = chinese["reader"]
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (612, 792)
    text = chinese["text"]
    for heading in (
        "目錄",
        "摘要",
        "差距概況",
        "客群與階段",
        "趨勢",
        "服務標準",
        "附錄",
        "方法說明",
    ):
        assert heading in text
    assert "同理心" in text
    assert "在承諾的時間內完成承諾的事" in text
    assert "第 2 頁，共" in text
    assert "Executive summary" not in text


def test_a4_is_a4(english) -> None:
    width, height = (float(v) for v in english["reader"].pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)


def test_no_page_is_blank(english, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (Debian poppler-utils) is needed to check the page images")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(english["pdf"])
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) == len(english["reader"].pages)
    for image in images:
        pixels = np.asarray(Image.open(image).convert("L"))
        # Beyond the running header and footer, something is printed.
        body = pixels[int(pixels.shape[0] * 0.12) : int(pixels.shape[0] * 0.9)]
        assert (body < 200).mean() > 0.002, image.name


def test_same_inputs_give_the_same_html(instrument, assessment_by_segment) -> None:
    first = render_html(build_report_model(assessment_by_segment, instrument))
    second = render_html(build_report_model(assessment_by_segment, instrument))
    assert first == second


def test_the_contract_shaped_reference_results_render(reference_expected, instrument) -> None:
    """R's results (shaped like the contract, with ``trend_slope`` for ``slopes`` and no
    expectation/perception means on dimensions) give a complete report too."""
    model = build_report_model(reference_expected, instrument)
    html = render_html(model)
    voice = Voice(instrument, "en")
    slope = reference_expected["trend_slope"]
    assert f"{voice.signed(slope['slope'], 3)} / month" in html
    assert voice.p_cell(slope["p"]) in html
    assert [s.key for s in model.sections] == [
        "summary", "gaps", "segments", "trends", "targets", "scores", "comments", "appendix",
    ]  # fmt: skip
    assert "dimension-means" not in {
        b.key for s in model.sections for b in s.blocks if b.kind == "chart"
    }
