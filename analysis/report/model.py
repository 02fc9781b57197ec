"""The report model: an assessment (its JSON form) turned into findings, tables, SVG charts and
provenance, in one language, ready for the template.

Everything a reader sees is decided here and in ``sections`` (what is shown, in which order,
formatted how); the template only lays it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.report import contract, narrative
from analysis.report.blocks import (
    Block,
    Cell,
    Chart,
    Cover,
    Findings,
    Heading,
    Highlights,
    Paragraph,
    Provenance,
    Quote,
    Quotes,
    Section,
    Table,
)
from analysis.report.comments import DEFAULT_POLICY, Comment, CommentPolicy, select_comments
from analysis.report.contract import Row
from analysis.report.sections import (
    SCORES,
    appendix_section,
    axis_values,
    comments_section,
    filter_values,
    gaps_section,
    generated_at_text,
    period_text,
    provenance,
    scores_section,
    segments_section,
    short_list,
    targets_section,
    trends_section,
)
from analysis.report.voice import ReportError, Voice, report_language
from surveys.instrument import Instrument

__all__ = [
    "Block",
    "Cell",
    "Chart",
    "Cover",
    "Findings",
    "Heading",
    "Highlights",
    "Paragraph",
    "Provenance",
    "Quote",
    "Quotes",
    "ReportModel",
    "Section",
    "Table",
    "build_report_model",
]

PAPERS = {"a4": "A4", "letter": "Letter"}


@dataclass(frozen=True)
class ReportModel:
    language: str
    paper: str
    title: str
    cover: Cover
    findings: tuple[Findings, ...]
    sections: tuple[Section, ...]
    provenance: Provenance
    words: Mapping[str, str] = field(default_factory=dict)  # UI words the template needs


# Building -----------------------------------------------------------------------------------
def paper_size(paper: str) -> str:
    try:
        return PAPERS[paper.lower()]
    except KeyError:
        raise ReportError(f"paper {paper!r} is not available; choose A4 or Letter") from None


def build_report_model(
    assessment_json: Mapping[str, Any],
    instrument: Instrument,
    *,
    comments: Iterable[Comment] = (),
    distributions: Mapping[str, Mapping[str | int, int]] | None = None,
    previous: Mapping[str, Any] | None = None,
    organisation: str = "Gapmeter",
    language: str = "en",
    paper: str = "A4",
    title: str | None = None,
    taxonomy_labels: Mapping[str, Mapping[str, str]] | None = None,
    comment_policy: CommentPolicy = DEFAULT_POLICY,
) -> ReportModel:
    """The whole report, in ``language``, from the assessment's JSON form.

    ``distributions`` maps an item key to ``{answer value: count}`` (any subset of items; shown
    under Scores). ``previous`` is the previous period's assessment (same JSON form), compared in
    the summary. ``taxonomy_labels`` maps ``segment`` / ``stage`` / ``channel`` to
    ``{key: label}`` and overrides the default labels.
    """
    if not isinstance(assessment_json, Mapping) or contract.whole(assessment_json) is None:
        raise ReportError(
            "nothing to report: the assessment has no whole-scope group (fewer respondents than "
            "the minimum cell size, or not an assessment)"
        )
    language = report_language(language)
    paper = paper_size(paper)
    voice = Voice(
        instrument=instrument,
        language=language,
        alpha=contract.alpha(assessment_json),
        correction=contract.correction(assessment_json),
        min_cell=contract.min_cell(assessment_json),
        taxonomy=taxonomy_labels or {},
    )
    report_title = title or voice.t("title")
    selection = select_comments(assessment_json, voice, comments, comment_policy)
    findings = summary_findings(assessment_json, voice, previous)
    sections = (
        Section(
            "summary",
            voice.t("sec_summary"),
            (highlights(assessment_json, voice), Paragraph(voice.t("summary_intro")), *findings),
        ),
        gaps_section(assessment_json, voice),
        segments_section(assessment_json, voice),
        trends_section(assessment_json, voice),
        targets_section(assessment_json, voice),
        scores_section(assessment_json, voice, distributions),
        comments_section(voice, selection, comment_policy),
        appendix_section(assessment_json, voice, language, paper, comment_policy),
    )
    return ReportModel(
        language=language,
        paper=paper,
        title=report_title,
        cover=cover(assessment_json, voice, organisation, report_title),
        findings=findings,
        sections=sections,
        provenance=provenance(assessment_json, voice, language, paper),
        words={
            "contents": voice.t("contents"),
            "page_label": voice.t("page_label", page="{page}", pages="{pages}"),
            "appendix": voice.t("sec_appendix"),
        },
    )


def summary_findings(assessment: Row, voice: Voice, previous: Row | None) -> tuple[Findings, ...]:
    """The executive summary: shortfalls, changes, standards, priorities (narrative.py)."""
    shortfall = narrative.shortfalls(assessment, voice) + narrative.not_distinguishable(
        assessment, voice
    )
    blocks = [Findings(voice.t("sub_shortfalls"), shortfall)]
    strong = narrative.strengths(assessment, voice)
    if strong:
        blocks.append(Findings(voice.t("sub_strengths"), strong))
    blocks += [
        Findings(voice.t("sub_changes"), narrative.changes(assessment, voice, previous)),
        Findings(voice.t("sub_targets"), narrative.targets(assessment, voice)),
        Findings(voice.t("sub_priorities"), narrative.priorities(assessment, voice), True),
    ]
    return tuple(blocks)


def highlights(assessment: Row, voice: Voice) -> Highlights:
    """Respondents, shortfalls found, and the headline scores with their intervals and n."""
    whole = contract.whole(assessment) or {}
    dims = [d for d in contract.dimensions(whole) if contract.shown(d)]
    short = [d for d in dims if d["gap_mean"] < 0 and voice.significant(d.get("p_adjusted"))]
    tiles = [
        (voice.t("respondents"), voice.count(whole.get("n")), voice.t("group_all")),
        (
            voice.t("tile_shortfalls"),
            f"{len(short)} / {len(dims)}",
            voice.t("tile_shortfalls_detail"),
        ),
    ]
    overall = whole.get("overall_gap")
    if isinstance(overall, Mapping) and overall.get("mean") is not None:
        tiles.append(
            (
                voice.t("tile_overall_gap"),
                voice.num(overall["mean"]),
                voice.t(
                    "tile_score_detail",
                    low=voice.num(overall.get("ci_low")),
                    high=voice.num(overall.get("ci_high")),
                    n=voice.count(overall.get("n")),
                ),
            )
        )
    for name, header, _limits in SCORES:
        score = (whole.get("scores") or {}).get(name)
        if score and score.get("value") is not None:
            detail = voice.t(
                "tile_score_detail",
                low=voice.score(name, score.get("ci_low")),
                high=voice.score(name, score.get("ci_high")),
                n=voice.count(score.get("n")),
            )
            tiles.append((voice.t(header), voice.score(name, score["value"]), detail))
    return Highlights(tuple(tiles))


def cover(assessment: Row, voice: Voice, organisation: str, title: str) -> Cover:
    instrument = voice.instrument
    meta = contract.meta(assessment)
    campaigns = filter_values(meta, "campaigns", "campaign")
    facts = (
        (voice.t("period"), period_text(assessment, voice)),
        (
            voice.t("instrument"),
            voice.t(
                "instrument_value",
                title=instrument.title.get(voice.language),
                key=instrument.key,
                version=meta.get("version") or instrument.version,
            ),
        ),
        (voice.t("campaigns"), short_list(campaigns, voice) if campaigns else voice.t("all")),
        (voice.t("segments"), axis_values(assessment, voice, "segment", ("segments", "segment"))),
        (voice.t("stages"), axis_values(assessment, voice, "stage", ("stages", "stage"))),
        (voice.t("channels"), axis_values(assessment, voice, "channel", ("channels", "channel"))),
        (
            voice.t("respondents"),
            f"n = {voice.count(meta.get('n_responses') or contract.whole(assessment)['n'])}",
        ),
        (voice.t("date"), generated_at_text(assessment)[:10]),
    )
    return Cover(organisation, title, voice.t("subtitle"), facts)
