"""Every number of the independent R reference (``shared/reference/servqual-240``) reproduced to
1e-6, on the real path: CSV → ``read_response_table`` → records → respondent frame → cells →
``assess``.

R 4.2 (``stats``) and ``psych`` 2.2.9 computed ``expected.json`` from methods.md; each block below
names the R call behind its numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from analysis.assessment import assess
from analysis.data import cells_from_frame, frame_from_records
from surveys.response_table import read_response_table

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def reference(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "servqual-240" / "expected.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def result(reference_dir: Path, servqual) -> dict[str, Any]:
    records = read_response_table(
        reference_dir / "servqual-240" / "responses.csv", servqual, require_complete=False
    )
    cells = cells_from_frame(frame_from_records(records, servqual), servqual)
    return assess(cells, servqual, by=("segment",), min_cell=5, correction="holm").to_json()


def differences(expected: Any, actual: Any, path: str = "") -> Iterator[str]:
    """Every number of ``expected`` that ``actual`` misses by more than the tolerance."""
    if isinstance(expected, Mapping):
        for key, value in expected.items():
            if not isinstance(actual, Mapping) or key not in actual:
                yield f"{path}.{key}: missing"
            else:
                yield from differences(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            yield f"{path}: {len(expected)} rows expected, got {actual!r:.80}"
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            yield from differences(e, a, f"{path}[{i}]")
    elif isinstance(expected, bool) or not isinstance(expected, int | float):
        if expected != actual:
            yield f"{path}: {expected!r} != {actual!r}"
    elif not isinstance(actual, int | float) or abs(expected - actual) > TOLERANCE:
        yield f"{path}: {expected!r} != {actual!r}"


def assert_matches(expected: Any, actual: Any, path: str) -> None:
    problems = list(differences(expected, actual, path))
    assert not problems, "\n".join(problems[:25])


def group(document: Mapping[str, Any], key: Mapping[str, str]) -> Mapping[str, Any]:
    return next(g for g in document["groups"] if g["group"] == key)


def test_the_groups_are_the_whole_scope_then_each_segment(reference, result) -> None:
    assert [g["group"] for g in result["groups"]] == [g["group"] for g in reference["groups"]]
    assert [g["n"] for g in result["groups"]] == [g["n"] for g in reference["groups"]]
    assert result["meta"]["n_responses"] == reference["meta"]["n_responses"] == 240


@pytest.mark.parametrize("index", range(4), ids=["all", "consumer", "enterprise", "small_business"])
def test_item_gaps(reference, result, index) -> None:
    """R: ``t.test(p, e, paired = TRUE)`` (mean, sd, CI, t, df, p), ``wilcox.test(p - e,
    exact = FALSE, correct = TRUE)``, ``mean(g)/sd(g)``, ``p.adjust(p, "holm")`` over the 22
    items of the group; expectation and perception means on the pairwise-complete rows."""
    expected = reference["groups"][index]
    actual = group(result, expected["group"])
    assert_matches(expected["items"], actual["items"], f"{expected['group']}.items")


@pytest.mark.parametrize("index", range(4), ids=["all", "consumer", "enterprise", "small_business"])
def test_dimension_gaps_weights_and_weighted_gaps(reference, result, index) -> None:
    """R: respondent dimension gaps ``rowMeans(g, na.rm = TRUE)`` where at least ceil(k/2) items
    have a gap, then the same tests as items; Holm over the 5 dimensions;
    ``mean(points/100)`` and ``mean(points/100 * gap_d)`` over complete respondents."""
    expected = reference["groups"][index]
    actual = group(result, expected["group"])
    assert_matches(expected["dimensions"], actual["dimensions"], f"{expected['group']}.dims")


@pytest.mark.parametrize("index", range(4), ids=["all", "consumer", "enterprise", "small_business"])
def test_scores(reference, result, index) -> None:
    """R: NPS ``100 * (p9_10 - p0_6)`` ± ``qnorm(0.975) * 100 * sqrt(var)``;
    ``prop.test(x, n, correct = FALSE)$conf.int`` for CSAT top-2-box;
    ``t.test(effort)$conf.int`` for CES."""
    expected = reference["groups"][index]
    actual = group(result, expected["group"])
    assert_matches(expected["scores"], actual["scores"], f"{expected['group']}.scores")


@pytest.mark.parametrize("index", range(4), ids=["all", "consumer", "enterprise", "small_business"])
def test_reliability(reference, result, index) -> None:
    """R: ``psych::alpha(na.omit(items))``: ``raw_alpha``, ``item.stats$r.drop``,
    ``alpha.drop$raw_alpha``; Feldt interval with ``qf(c(0.975, 0.025), n - 1, (n - 1)(k - 1))``."""
    expected = reference["groups"][index]
    actual = group(result, expected["group"])
    assert_matches(expected["reliability"], actual["reliability"], f"{expected['group']}.alpha")


def test_comparisons_across_segments(reference, result) -> None:
    """R: ``oneway.test(gap ~ segment, var.equal = FALSE)`` (f, df1, df2, p), η² from
    ``aov`` sums of squares, Games–Howell pairs with ``ptukey``/``qtukey``."""
    assert_matches(reference["comparisons"], result["comparisons"], "comparisons")


def test_monthly_trend_of_the_overall_gap(reference, result) -> None:
    """R: per month ``t.test(overall)$conf.int``; X̄ chart centre ``mean(overall)``, σ̂ pooled
    within months, limits centre ± 3σ̂/√n_t."""
    overall = [row for row in result["trends"] if row["metric"] == "overall_gap"]
    assert_matches(reference["trends"], overall, "trends")


def test_slope_of_the_overall_gap(reference, result) -> None:
    """R: ``summary(lm(overall ~ month_index))`` slope row."""
    slope = next(row for row in result["slopes"] if row["metric"] == "overall_gap")
    assert_matches(reference["trend_slope"], slope, "trend_slope")


def test_meta_states_the_options_of_the_reference(reference, result) -> None:
    """The reference's ``meta`` names its options (``by`` as one factor, R as the engine)."""
    expected = {k: v for k, v in reference["meta"].items() if k != "reference"}
    expected["by"] = [expected["by"]]
    assert_matches(expected, result["meta"], "meta")
    assert reference["meta"]["reference"] == "R stats + psych"


def test_nothing_is_suppressed(reference, result) -> None:
    assert result["suppressed"] == reference["suppressed"] == []


def test_the_tests_above_visit_every_block_of_the_reference(reference) -> None:
    """A guard: a block added to the reference must get a test here."""
    assert set(reference) == {
        "meta",
        "groups",
        "comparisons",
        "trends",
        "trend_slope",
        "suppressed",
    }
    for expected in reference["groups"]:
        assert set(expected) == {"group", "n", "items", "dimensions", "scores", "reliability"}
