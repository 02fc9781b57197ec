"""The baseline: the assessment a researcher would write without Gapmeter's aggregates.

``pandas.read_sql`` of every answer joined to its response, a pivot to one row per respondent,
then scipy/statsmodels per group: the whole scope and each segment × stage group get, per item and
per dimension, n, expectation/perception means, the gap with sd, t-test, 95% CI, Wilcoxon
signed-rank and Holm-adjusted p; importance weights and weighted gaps; CSAT top-2-box (Wilson
interval) and rating means; Cronbach's alpha with the Feldt interval, item-total r and
alpha-if-deleted per dimension and measure. Across segments and across stages: Welch's ANOVA
(statsmodels ``anova_oneway``) and Games–Howell p-values (scipy ``studentized_range``) on the
dimension and overall gaps; monthly trend of the overall gap with a slope.

It is written to be fair to the baseline: vectorised pandas where a researcher would use it,
Holm by numpy rather than statsmodels' ``multipletests`` (whose ``gc.collect()`` per call would
inflate the baseline), and Games–Howell p-values without the slow studentized-range quantiles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import create_engine, text
from statsmodels.stats.oneway import anova_oneway
from statsmodels.stats.proportion import proportion_confint

from surveys.instrument import Instrument, Measure

QUERY = """
SELECT r.id AS response_id, r.segment, r.stage, r.submitted_at,
       a.item, a.expectation, a.perception, a.importance, a.value
FROM answer a JOIN response r ON r.id = a.response_id
WHERE r.instrument_id = :version
"""


def researcher_assessment(
    url: str, instrument_version_id: int, instrument: Instrument
) -> dict[str, Any]:
    """Run the baseline on the database at ``url``; returns a few headline numbers so the run
    can check that both paths computed the same thing."""
    engine = create_engine(url)
    try:
        answers = pd.read_sql(text(QUERY), engine, params={"version": instrument_version_id})
    finally:
        engine.dispose()
    respondents = (
        answers.drop_duplicates("response_id").set_index("response_id")[
            ["segment", "stage", "submitted_at"]
        ]
    ).sort_index()
    wide = answers.pivot(
        index="response_id",
        columns="item",
        values=["expectation", "perception", "importance", "value"],
    ).sort_index()
    del answers

    gap_items = [item.key for item in instrument.gap_items]
    expectation = wide["expectation"][gap_items].astype(float)
    perception = wide["perception"][gap_items].astype(float)
    for item in instrument.gap_items:
        if item.reverse:
            scale = instrument.scale_of(item)
            expectation[item.key] = scale.min + scale.max - expectation[item.key]
            perception[item.key] = scale.min + scale.max - perception[item.key]
    gaps = perception - expectation

    dimensions: dict[str, list[str]] = {}
    for dim in instrument.dimensions:
        keys = [i.key for i in instrument.dimension_items(dim.key) if i.key in gap_items]
        if keys:
            dimensions[dim.key] = keys
    dim_gaps = pd.DataFrame(index=gaps.index)
    dim_e = pd.DataFrame(index=gaps.index)
    dim_p = pd.DataFrame(index=gaps.index)
    for dim, keys in dimensions.items():
        sub = gaps[keys]
        enough = sub.notna().sum(axis=1) >= math.ceil(len(keys) / 2)
        dim_gaps[dim] = sub.mean(axis=1).where(enough)
        dim_e[dim] = expectation[keys].where(sub.notna()).mean(axis=1).where(enough)
        dim_p[dim] = perception[keys].where(sub.notna()).mean(axis=1).where(enough)
    overall = dim_gaps.mean(axis=1)

    total = instrument.importance.total if instrument.importance else 100
    points = (
        wide["importance"][list(dimensions)].astype(float) / total
        if instrument.allocates_importance
        else None
    )
    csat_item = next((i for i in instrument.items if i.score is not None), None)
    csat = (
        wide["value"][csat_item.key].astype(float)
        if csat_item is not None and Measure.RATING in csat_item.measures
        else None
    )

    groups: dict[str, pd.Index] = {"all": respondents.index}
    for (segment, stage), index in respondents.groupby(["segment", "stage"]).groups.items():
        groups[f"{segment}/{stage}"] = pd.Index(index)

    results: dict[str, Any] = {}
    for name, index in groups.items():
        group: dict[str, Any] = {"n": len(index)}
        group["items"] = _family(
            {
                key: (gaps.loc[index, key], expectation.loc[index, key], perception.loc[index, key])
                for key in gap_items
            }
        )
        group["dimensions"] = _family(
            {
                dim: (dim_gaps.loc[index, dim], dim_e.loc[index, dim], dim_p.loc[index, dim])
                for dim in dimensions
            }
        )
        if points is not None:
            share = points.loc[index]
            group["weights"] = share.mean().to_dict()
            group["weighted_gaps"] = (share * dim_gaps.loc[index]).mean().to_dict()
        if csat is not None:
            values = csat.loc[index].dropna()
            top = int((values >= 4).sum())
            low, high = proportion_confint(top, len(values), method="wilson")
            group["csat"] = (top / len(values), low, high)
            group["rating"] = _t_mean(values.to_numpy())
        group["reliability"] = {
            (dim, measure): _alpha(table[keys].loc[index])
            for dim, keys in dimensions.items()
            for measure, table in (("expectation", expectation), ("perception", perception))
        }
        results[name] = group

    comparisons = {}
    for factor in ("segment", "stage"):
        labels = respondents[factor]
        for metric, series in [*((dim, dim_gaps[dim]) for dim in dimensions), ("overall", overall)]:
            samples = {
                level: series[labels == level].dropna().to_numpy()
                for level in sorted(labels.unique())
            }
            anova = anova_oneway(list(samples.values()), use_var="unequal")
            comparisons[(factor, metric)] = (anova.statistic, anova.pvalue, _games_howell(samples))

    months = pd.to_datetime(respondents["submitted_at"], utc=True).dt.strftime("%Y-%m")
    trend = overall.groupby(months).agg(["count", "mean", "std"])
    index = pd.Series(pd.factorize(months, sort=True)[0], index=months.index)
    present = overall.notna()
    slope = stats.linregress(index[present].to_numpy(), overall[present].to_numpy())

    whole = results["all"]
    return {
        "respondents": len(respondents),
        "dimension_gap_means": {dim: row["mean"] for dim, row in whole["dimensions"].items()},
        "item_n": {key: row["n"] for key, row in whole["items"].items()},
        "groups": len(results),
        "comparisons": len(comparisons),
        "periods": len(trend),
        "slope": float(slope.slope),
    }


def _family(series: dict[str, tuple[pd.Series, pd.Series, pd.Series]]) -> dict[str, dict[str, Any]]:
    """Paired tests of each member, then Holm within the family."""
    rows = {}
    for key, (gap, e, p) in series.items():
        present = gap.notna()
        g = gap[present].to_numpy()
        row: dict[str, Any] = {"n": len(g), "mean": float(np.mean(g)) if len(g) else None}
        row["expectation_mean"] = float(e[present].mean()) if len(g) else None
        row["perception_mean"] = float(p[present].mean()) if len(g) else None
        if len(g) > 1 and np.std(g) > 0:
            test = stats.ttest_1samp(g, 0.0)
            ci = test.confidence_interval(0.95)
            row.update(
                sd=float(np.std(g, ddof=1)),
                t=float(test.statistic),
                p=float(test.pvalue),
                ci=(float(ci.low), float(ci.high)),
                dz=float(np.mean(g) / np.std(g, ddof=1)),
            )
            if np.any(g != 0):
                row["wilcoxon_p"] = float(
                    stats.wilcoxon(g, zero_method="wilcox", correction=True, method="approx").pvalue
                )
        rows[key] = row
    tested = [key for key, row in rows.items() if "p" in row]
    for key, adjusted in zip(tested, _holm(np.array([rows[k]["p"] for k in tested])), strict=True):
        rows[key]["p_adjusted"] = float(adjusted)
    return rows


def _holm(p: np.ndarray) -> np.ndarray:
    if p.size == 0:
        return p
    order = np.argsort(p)
    m = p.size
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty_like(p)
    adjusted[order] = stepped
    return adjusted


def _t_mean(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.975, len(values) - 1) * stats.sem(values))
    return mean, mean - half, mean + half


def _alpha(items: pd.DataFrame) -> dict[str, Any]:
    """Cronbach's alpha with the Feldt interval, item-total r and alpha-if-deleted (listwise)."""
    x = items.dropna().to_numpy(dtype=float)
    n, k = x.shape
    if n < 2 or k < 2:
        return {"n": n}

    def alpha_of(data: np.ndarray) -> float:
        kk = data.shape[1]
        return kk / (kk - 1) * (1 - data.var(axis=0, ddof=1).sum() / data.sum(axis=1).var(ddof=1))

    alpha = alpha_of(x)
    low = 1 - (1 - alpha) * stats.f.ppf(0.975, n - 1, (n - 1) * (k - 1))
    high = 1 - (1 - alpha) * stats.f.ppf(0.025, n - 1, (n - 1) * (k - 1))
    total = x.sum(axis=1)
    item_total = [float(np.corrcoef(x[:, i], total - x[:, i])[0, 1]) for i in range(k)]
    if_deleted = [alpha_of(np.delete(x, i, axis=1)) if k > 2 else None for i in range(k)]
    return {
        "n": n,
        "alpha": alpha,
        "ci": (low, high),
        "item_total_r": item_total,
        "alpha_if_deleted": if_deleted,
    }


def _games_howell(samples: dict[str, np.ndarray]) -> list[tuple[str, str, float, float]]:
    names = sorted(samples)
    k = len(names)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            xa, xb = samples[a], samples[b]
            va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
            se = math.sqrt(va + vb)
            df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
            diff = float(xb.mean() - xa.mean())
            p = float(stats.studentized_range.sf(abs(diff) / se * math.sqrt(2), k, df))
            pairs.append((a, b, diff, p))
    return pairs
