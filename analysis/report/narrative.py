"""The executive summary in plain words: pure functions from the assessment to sentences.

Rules every sentence follows (methods.md, Reporting rules): no claim without its number, every
number with its n, "significant" only where the multiplicity-adjusted p-value is below alpha, and
an effect that is not significant is "not distinguishable from zero". Each function reads the
assessment's JSON form (see ``contract``) and returns a tuple of finished sentences in the
``Voice``'s language; none of them changes anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.report import contract
from analysis.report.contract import Row
from analysis.report.voice import Voice

#: Metrics where a larger value is better (CES: less effort is better).
HIGHER_IS_BETTER = {
    "overall_gap": True,
    "dimension_gap": True,
    "item_gap": True,
    "weighted_gap": True,
    "nps": True,
    "csat_top2": True,
    "rating_mean": True,
    "ces_mean": False,
    "share_dissatisfied": False,
}
#: Metrics that are shares, printed as percentages.
PERCENT = {"csat_top2", "share_dissatisfied"}
STATUS = {
    "met": "met",
    "missed": "missed",
    "not_met": "missed",
    "not met": "missed",
    "not_distinguishable": "nd",
    "not distinguishable": "nd",
    "indeterminate": "nd",
    "undecided": "nd",
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].isascii() else text


# Shortfalls ---------------------------------------------------------------------------------
def _shortfall_candidates(assessment: Row, voice: Voice) -> dict[str, list[tuple[Row, Row]]]:
    """Per dimension, the (group, dimension row) pairs with a significant negative gap."""
    found: dict[str, list[tuple[Row, Row]]] = {}
    for group in contract.groups(assessment):
        for row in contract.dimensions(group):
            if (
                contract.shown(row)
                and row["gap_mean"] < 0
                and voice.significant(row.get("p_adjusted"))
            ):
                found.setdefault(str(row["dimension"]), []).append((group, row))
    return found


def _interval(voice: Voice, row: Row) -> dict[str, str]:
    return {
        "gap": voice.num(row.get("gap_mean")),
        "size": voice.num(abs(row["gap_mean"])),
        "low": voice.num(row.get("gap_ci_low")),
        "high": voice.num(row.get("gap_ci_high")),
        "p": voice.p(row.get("p_adjusted")),
        "n": voice.count(row.get("n")),
        "dz": voice.num(row.get("effect_size_dz")),
    }


def shortfalls(assessment: Row, voice: Voice, *, limit: int = 3) -> tuple[str, ...]:
    """The largest significant shortfalls, one sentence per dimension, at most ``limit``.

    A dimension qualifies when its gap is negative with adjusted p < alpha in the whole scope or
    in any shown group. Dimensions significant in the whole scope come first, most negative gap
    first; each names, where one exists, the group (segment, stage...) where the shortfall is
    largest. Dimensions significant only inside some group follow, ordered by that group's gap.
    """
    whole = contract.whole(assessment)
    candidates = _shortfall_candidates(assessment, voice)
    ranked: list[tuple[int, float, str]] = []
    for dimension, pairs in candidates.items():
        overall = next((row for group, row in pairs if not contract.group_key(group)), None)
        worst = min(pairs, key=lambda pair: pair[1]["gap_mean"])[1]
        if overall is not None:
            ranked.append((0, overall["gap_mean"], dimension))
        else:
            ranked.append((1, worst["gap_mean"], dimension))
    ranked.sort()
    sentences = []
    for tier, _gap, dimension in ranked[:limit]:
        pairs = candidates[dimension]
        worst_group, worst = min(pairs, key=lambda pair: pair[1]["gap_mean"])
        label = voice.dimension(dimension)
        if tier == 0:
            overall = contract.dimension_row(whole, dimension) or worst
            text = voice.t(
                "shortfall", dimension=label, scope=voice.scope({}), **_interval(voice, overall)
            )
            if contract.group_key(worst_group) and worst["gap_mean"] < overall["gap_mean"]:
                extra = _interval(voice, worst)
                text += " " + voice.t(
                    "shortfall_worst", scope=voice.scope(contract.group_key(worst_group)), **extra
                )
        else:
            overall = contract.dimension_row(whole, dimension)
            values = _interval(voice, worst)
            text = voice.t(
                "shortfall_only",
                dimension=label,
                scope=voice.scope(contract.group_key(worst_group)),
                sgap=values["gap"],
                size=values["size"],
                low=values["low"],
                high=values["high"],
                p=values["p"],
                sn=values["n"],
                gap=voice.num(overall.get("gap_mean") if overall else None),
                n=voice.count(overall.get("n") if overall else None),
            )
        sentences.append(_sentence(text))
    if not sentences:
        return (voice.t("no_shortfall"),)
    more = []
    for tier, _gap, dimension in ranked[limit:]:  # named with their numbers, never dropped
        group, row = (
            ({}, contract.dimension_row(whole, dimension))
            if tier == 0
            else min(candidates[dimension], key=lambda pair: pair[1]["gap_mean"])
        )
        more.append(
            voice.t(
                "shortfall_more_entry",
                dimension=voice.dimension(dimension),
                scope=voice.scope(contract.group_key(group)),
                gap=voice.num(row["gap_mean"]),
                p=voice.p(row.get("p_adjusted")),
                n=voice.count(row.get("n")),
            )
        )
    if more:
        sentences.append(voice.t("shortfall_more", list=voice.join(more)))
    return tuple(sentences)


def strengths(assessment: Row, voice: Voice, *, limit: int = 2) -> tuple[str, ...]:
    """Whole-scope dimensions where perception significantly exceeds expectation."""
    rows = [
        row
        for row in contract.dimensions(contract.whole(assessment))
        if contract.shown(row) and row["gap_mean"] > 0 and voice.significant(row.get("p_adjusted"))
    ]
    rows.sort(key=lambda row: -row["gap_mean"])
    return tuple(
        _sentence(
            voice.t(
                "strength",
                dimension=voice.dimension(row["dimension"]),
                scope=voice.scope({}),
                **_interval(voice, row),
            )
        )
        for row in rows[:limit]
    )


def not_distinguishable(assessment: Row, voice: Voice) -> tuple[str, ...]:
    """One sentence naming the whole-scope dimensions whose gap is not significant."""
    rows = [
        row
        for row in contract.dimensions(contract.whole(assessment))
        if contract.shown(row) and not voice.significant(row.get("p_adjusted"))
    ]
    if not rows:
        return ()
    entries = [
        voice.t(
            "nd_entry",
            dimension=voice.dimension(row["dimension"]),
            gap=voice.num(row["gap_mean"]),
            p=voice.p(row.get("p_adjusted")),
            n=voice.count(row.get("n")),
        )
        for row in rows
    ]
    return (voice.t("not_distinguishable", list=voice.join(entries)),)


# Changes ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Change:
    """One metric compared with the previous assessment (``diff = after - before``)."""

    metric: str
    dimension: str | None
    before: float
    after: float
    n_before: int
    n_after: int
    diff: float
    ci_low: float
    ci_high: float
    p: float
    p_adjusted: float
    test: str  # "welch_t" | "z"


def _welch(before: Row, after: Row, alpha: float) -> tuple[float, float, float, float] | None:
    """Welch's two-sample t-test of two gap means from (n, mean, sd): diff, low, high, p."""
    n1, n2 = before.get("n"), after.get("n")
    s1, s2 = before.get("gap_sd"), after.get("gap_sd")
    if not n1 or not n2 or n1 < 2 or n2 < 2 or s1 is None or s2 is None:
        return None
    v1, v2 = s1**2 / n1, s2**2 / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return None
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    diff = after["gap_mean"] - before["gap_mean"]
    p = 2 * stats.t.sf(abs(diff / se), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    return diff, diff - half, diff + half, float(p)


def _score_se(name: str, score: Row) -> float | None:
    n, value = score.get("n"), score.get("value")
    if not n or value is None:
        return None
    if name == "csat_top2":
        return math.sqrt(value * (1 - value) / n)
    low, high = score.get("ci_low"), score.get("ci_high")
    if low is None or high is None:
        return None
    return (high - low) / (2 * stats.norm.ppf(0.975))  # NPS interval is value ± 1.96 se


def period_changes(current: Row, previous: Row) -> tuple[Change, ...]:
    """Whole-scope changes since ``previous``: each dimension gap (Welch t from n, mean, sd),
    NPS and CSAT (two-sample z), adjusted together as one family with the current assessment's
    correction. Metrics missing on either side are left out."""
    alpha = contract.alpha(current)
    now, before = contract.whole(current), contract.whole(previous)
    raw: list[tuple[str, str | None, Row, Row, tuple[float, float, float, float]]] = []
    for row in contract.dimensions(now):
        old = contract.dimension_row(before, str(row.get("dimension")))
        if contract.shown(row) and contract.shown(old):
            tested = _welch(old, row, alpha)
            if tested:
                raw.append(("dimension_gap", row["dimension"], old, row, tested))
    for name in ("nps", "csat_top2"):
        a = ((now or {}).get("scores") or {}).get(name)
        b = ((before or {}).get("scores") or {}).get(name)
        if not a or not b or a.get("value") is None or b.get("value") is None:
            continue
        se_a, se_b = _score_se(name, a), _score_se(name, b)
        if not se_a or not se_b:
            continue
        se = math.hypot(se_a, se_b)
        diff = a["value"] - b["value"]
        half = stats.norm.ppf(1 - alpha / 2) * se
        p = float(2 * stats.norm.sf(abs(diff / se)))
        raw.append((name, None, {**b, "gap_mean": b["value"]}, {**a, "gap_mean": a["value"]},
                    (diff, diff - half, diff + half, p)))  # fmt: skip
    if not raw:
        return ()
    method = contract.correction(current)
    pvalues = [entry[4][3] for entry in raw]
    adjusted = pvalues if method == "none" else list(multipletests(pvalues, method=method)[1])
    return tuple(
        Change(
            metric=metric,
            dimension=dimension,
            before=float(old["gap_mean"]),
            after=float(new["gap_mean"]),
            n_before=int(old["n"]),
            n_after=int(new["n"]),
            diff=diff,
            ci_low=low,
            ci_high=high,
            p=p,
            p_adjusted=float(p_adj),
            test="welch_t" if metric == "dimension_gap" else "z",
        )
        for (metric, dimension, old, new, (diff, low, high, p)), p_adj in zip(
            raw, adjusted, strict=True
        )
    )


def _metric_value(voice: Voice, metric: str, value: float | None, signed: bool = False) -> str:
    if metric in PERCENT:
        text = voice.pct(value)
        return ("+" + text) if signed and value is not None and value > 0 else text
    digits = 1 if metric == "nps" else 2
    return voice.signed(value, digits) if signed else voice.num(value, digits)


def slope_text(voice: Voice, metric: str, value: float | None, signed: bool = True) -> str:
    """A slope (or its standard error, ``signed=False``) as the summary and the slope table
    print it: shares in per cent with two decimals, every other metric with three decimals."""
    if metric in PERCENT:
        text = voice.pct(value, 2)
        positive = value is not None and value > 0 and text.strip("0.%") != ""
        return ("+" + text) if signed and positive else text
    return voice.signed(value, 3) if signed else voice.num(value, 3)


def slope_n(slope: Row, rows: list[Row]) -> int | None:
    """Respondents behind a slope: its own n, else the sum over its periods."""
    if slope.get("n") is not None:
        return int(slope["n"])
    return sum(int(r.get("n") or 0) for r in rows) if rows else None


def changes(assessment: Row, voice: Voice, previous: Row | None = None) -> tuple[str, ...]:
    """What improved or worsened. With a previous assessment: each significant change, then one
    sentence for the changes not distinguishable from zero. Without: the slope test per trend
    metric, the latest period against the one before (numbers only, no claim), and every
    control-chart signal."""
    if previous is not None:
        return _changes_since(voice, period_changes(assessment, previous))
    sentences = []
    flat = []
    series = contract.trend_series(assessment)
    for slope in contract.slopes(assessment):
        metric = str(slope.get("metric"))
        dimension = slope.get("dimension")
        rows = series.get((metric, dimension), [])
        value = slope.get("slope")
        per = voice.t(f"per_{slope.get('per', 'period')}")
        common = {
            "metric": voice.metric(metric, dimension),
            "per": per,
            "periods": len(rows) or "\u2014",
            "p": voice.p(slope.get("p")),
            "n": voice.count(slope_n(slope, rows)),
        }
        if value is not None and voice.significant(slope.get("p")):
            better = (value > 0) == HIGHER_IS_BETTER.get(metric, True)
            size = slope_text(voice, metric, abs(value), signed=False)
            key = "slope_better" if better else "slope_worse"
            sentences.append(_sentence(voice.t(key, slope=size, **common)))
        else:
            flat.append(
                voice.t("slope_flat_entry", slope=slope_text(voice, metric, value), **common)
            )
    if flat:
        periods = max((len(rows) for rows in series.values()), default=0)
        sentences.append(voice.t("slope_flat", list=voice.join(flat), periods=periods))
    headline = next(
        (key for key in series if key == ("overall_gap", None)), next(iter(series), None)
    )
    for (metric, dimension), rows in series.items():
        if len(rows) >= 2 and (metric, dimension) == headline:
            last, before = rows[-1], rows[-2]
            sentences.append(
                _sentence(
                    voice.t(
                        "latest",
                        period=last.get("period"),
                        metric=voice.metric(metric, dimension),
                        value=_metric_value(voice, metric, last.get("value")),
                        low=_metric_value(voice, metric, last.get("ci_low")),
                        high=_metric_value(voice, metric, last.get("ci_high")),
                        n=voice.count(last.get("n")),
                        previous=_metric_value(voice, metric, before.get("value")),
                        previous_period=before.get("period"),
                        previous_n=voice.count(before.get("n")),
                    )
                )
            )
        for row in rows:
            if row.get("signals"):
                sentences.append(
                    _sentence(
                        voice.t(
                            "signal",
                            metric=voice.metric(metric, dimension),
                            period=row.get("period"),
                            n=voice.count(row.get("n")),
                            rules=voice.join(signal_names(voice, row["signals"])),
                        )
                    )
                )
    return tuple(sentences) or (voice.t("no_change_data"),)


#: Western Electric rules as the engine names them (analysis.trends), and by number.
SIGNAL_RULES = {
    "beyond_3_sigma": 1,
    "2_of_3_beyond_2_sigma": 2,
    "4_of_5_beyond_1_sigma": 3,
    "8_on_one_side": 4,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
}


def signal_names(voice: Voice, signals: Any) -> list[str]:
    """Western Electric rules in words; an unknown rule is shown as given."""
    if isinstance(signals, str | Mapping):
        signals = [signals]
    names = []
    for signal in signals:
        raw = str(signal.get("rule") if isinstance(signal, Mapping) else signal)
        rule = SIGNAL_RULES.get(raw.lower().removeprefix("rule_").removeprefix("rule "))
        names.append(voice.t(f"signal_rule_{rule}") if rule else raw)
    return names


def _changes_since(voice: Voice, found: tuple[Change, ...]) -> tuple[str, ...]:
    if not found:
        return (voice.t("no_change_data"),)
    sentences, flat = [], []
    for change in found:
        metric = voice.metric(change.metric, change.dimension)
        if voice.significant(change.p_adjusted):
            better = (change.diff > 0) == HIGHER_IS_BETTER.get(change.metric, True)
            sentences.append(
                _sentence(
                    voice.t(
                        "change_better" if better else "change_worse",
                        metric=metric,
                        before=_metric_value(voice, change.metric, change.before),
                        after=_metric_value(voice, change.metric, change.after),
                        n_before=voice.count(change.n_before),
                        n_after=voice.count(change.n_after),
                        diff=_metric_value(voice, change.metric, change.diff, signed=True),
                        low=_metric_value(voice, change.metric, change.ci_low),
                        high=_metric_value(voice, change.metric, change.ci_high),
                        p=voice.p(change.p_adjusted),
                    )
                )
            )
        else:
            flat.append(
                voice.t(
                    "change_flat_entry",
                    metric=metric,
                    diff=_metric_value(voice, change.metric, change.diff, signed=True),
                    p=voice.p(change.p_adjusted),
                )
            )
    if flat:
        sentences.append(voice.t("change_flat", list=voice.join(flat)))
    return tuple(sentences)


# Targets ------------------------------------------------------------------------------------
def target_status(row: Row) -> str:
    """``met``, ``missed`` or ``nd`` (not distinguishable) from the engine's spelling."""
    return STATUS.get(str(row.get("status", "")).lower(), "nd")


def target_facts(row: Row, voice: Voice) -> dict[str, str]:
    """A target's name, scope phrase, metric, value, threshold and direction, as printed."""
    key = str(row.get("target", ""))
    spec = next((t for t in voice.instrument.targets if t.key == key), None)
    metric = str(row.get("metric") or (spec.metric if spec else ""))
    subject = row.get("subject") or (spec.subject if spec else None)
    if spec is not None and spec.label is not None:
        name = spec.label.get(voice.language)
    elif metric:
        name = voice.metric(metric, subject, capital=True)
    else:
        name = key.replace("_", " ")
    scope = row.get("scope")
    if isinstance(scope, Mapping) and scope:
        scope_text = " " + voice.scope(scope) if voice.language == "en" else voice.scope(scope)
    elif isinstance(scope, str) and scope:
        scope_text = f" ({scope})"
    else:
        scope_text = ""
    direction = str(row.get("direction") or (spec.direction if spec else "at_least"))
    return {
        "target": name,
        "scope": scope_text,
        "metric": metric,
        "value": _metric_value(voice, metric, row.get("value")),
        "threshold": _metric_value(voice, metric, row.get("threshold")),
        "direction": voice.t(direction if direction in {"at_least", "at_most"} else "at_least"),
    }


def targets(assessment: Row, voice: Voice) -> tuple[str, ...]:
    """Each missed target, then each not-distinguishable one, then how many are met."""
    rows = [r for r in assessment.get("targets") or [] if isinstance(r, Mapping)]
    if not rows:
        return (voice.t("no_targets"),)
    sentences = []
    for status, key in (("missed", "target_missed"), ("nd", "target_nd")):
        for row in rows:
            if target_status(row) != status:
                continue
            facts = target_facts(row, voice)
            n = f"; n = {voice.count(row['n'])}" if row.get("n") is not None else ""
            sentences.append(
                _sentence(
                    voice.t(
                        key,
                        p=voice.p(row.get("p")),
                        n=n,
                        **{k: v for k, v in facts.items() if k != "metric"},
                    )
                )
            )
    met = sum(1 for row in rows if target_status(row) == "met")
    sentences.append(voice.t("targets_met", met=met, total=len(rows)))
    return tuple(sentences)


# Priorities ---------------------------------------------------------------------------------
def priority_rows(assessment: Row, voice: Voice, *, limit: int = 5) -> list[Row]:
    """Whole-scope dimensions with a significant negative gap, ordered by weighted gap (by gap
    where no weights), most negative first (methods.md, Importance weights). The engine's own
    dimension-level ``priorities`` (ranked the same way), where present, give the order."""
    whole = contract.whole(assessment)
    qualifying = {
        row["dimension"]: row
        for row in contract.dimensions(whole)
        if contract.shown(row) and row["gap_mean"] < 0 and voice.significant(row.get("p_adjusted"))
    }
    given = (whole or {}).get("priorities") or assessment.get("priorities")
    if isinstance(given, list) and given:
        keys = [
            p.get("key") or p.get("dimension")
            for p in sorted(
                (p for p in given if isinstance(p, Mapping)), key=lambda p: p.get("rank") or 0
            )
            if p.get("level", "dimension") == "dimension"
        ]
        ordered = [qualifying[key] for key in keys if key in qualifying]
        if ordered:
            return ordered[:limit]

    def order(row: Row) -> tuple[float, float]:
        weighted = row.get("weighted_gap")
        return (weighted if weighted is not None else row["gap_mean"], row["gap_mean"])

    return sorted(qualifying.values(), key=order)[:limit]


def weakest_items(assessment: Row, voice: Voice, dimension: str, *, limit: int = 2) -> list[Row]:
    """A dimension's items with a significant negative gap in the whole scope, most negative
    first."""
    rows = [
        row
        for row in contract.items(contract.whole(assessment))
        if row.get("dimension") == dimension
        and contract.shown(row)
        and row["gap_mean"] < 0
        and voice.significant(row.get("p_adjusted"))
    ]
    return sorted(rows, key=lambda row: (row["gap_mean"], str(row.get("item"))))[:limit]


def priorities(assessment: Row, voice: Voice, *, limit: int = 5) -> tuple[str, ...]:
    """Three to five priorities from the importance-performance analysis, one sentence each,
    naming each dimension's weakest significant items; fewer are said to be fewer."""
    rows = priority_rows(assessment, voice, limit=limit)
    if not rows:
        return (voice.t("no_priorities"),)
    sentences = []
    for row in rows:
        weak = weakest_items(assessment, voice, str(row["dimension"]))
        items = ""
        if weak:
            listed = [
                voice.t(
                    "priority_item",
                    text=voice.short_item(str(i["item"]), 120),  # quoted whole (capped)
                    gap=voice.num(i["gap_mean"]),
                    n=voice.count(i.get("n")),
                )
                for i in weak
            ]
            items = voice.t("priority_items", items=voice.join(listed))
        values = {
            "dimension": voice.dimension(str(row["dimension"])),
            "gap": voice.num(row["gap_mean"]),
            "p": voice.p(row.get("p_adjusted")),
            "n": voice.count(row.get("n")),
            "items": items,
        }
        if row.get("weighted_gap") is not None and row.get("weight") is not None:
            sentence = voice.t(
                "priority",
                weighted=voice.num(row["weighted_gap"], 3),
                weight=voice.pct(row["weight"], 0),
                **values,
            )
        else:
            sentence = voice.t("priority_unweighted", **values)
        sentences.append(_sentence(sentence))
    if len(rows) < 3:
        sentences.append(voice.t("priorities_few", count=len(rows)))
    return tuple(sentences)
