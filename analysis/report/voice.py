"""How the report writes words and numbers: UI strings per language, instrument and taxonomy labels,
and number formats (minus sign, p-values, intervals, n).

One ``Voice`` is made per report; the narrative, the model and the template all speak through it,
so a number is formatted the same way in a sentence, a table and a test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from surveys.instrument import Instrument

MINUS = "\u2212"
DASH = "\u2014"
#: Languages the report's own words are written in (instrument texts follow ``Text.get``).
LANGUAGES = ("en", "zh-Hant")


class ReportError(ValueError):
    """The report cannot be made as asked (unknown language or paper, malformed assessment...)."""


EN: dict[str, str] = {
    "title": "Service quality assessment",
    "subtitle": "Where customers' experience falls short of what they expect",
    "period": "Period",
    "instrument": "Instrument",
    "instrument_value": "{title} ({key}, version {version})",
    "campaigns": "Campaigns",
    "segments": "Segments",
    "stages": "Stages",
    "channels": "Channels",
    "respondents": "Respondents",
    "date": "Date",
    "all": "All",
    "list_more": "{shown} and {more} more (listed under Provenance in the appendix)",
    "none": "None",
    "contents": "Contents",
    "page_label": "Page {page} of {pages}",
    "sec_summary": "Executive summary",
    "sec_gaps": "Gap profile",
    "sec_segments": "Segments and stages",
    "sec_trends": "Trends",
    "sec_targets": "Service standards",
    "sec_scores": "Scores",
    "sec_comments": "Respondents' comments",
    "sec_appendix": "Appendix",
    "sub_shortfalls": "Largest shortfalls",
    "sub_strengths": "Where perception exceeds expectation",
    "sub_changes": "What changed",
    "sub_targets": "Service standards",
    "sub_priorities": "Priorities",
    "sub_dimensions": "Dimensions",
    "sub_items": "Items",
    "sub_importance": "Importance and priorities",
    "sub_heatmap": "Gaps by segment and stage",
    "sub_comparisons": "Comparisons across groups",
    "sub_pairs": "Pairwise differences",
    "sub_slopes": "Slopes",
    "sub_distributions": "Distribution of answers",
    "sub_reliability": "Reliability",
    "sub_methods": "Method notes",
    "sub_provenance": "Provenance",
    "tile_shortfalls": "Dimensions short of expectation",
    "tile_overall_gap": "Overall gap",
    "tile_shortfalls_detail": "significant negative gaps",
    "tile_score_detail": "{level}% CI {low} to {high} \u00b7 n = {n}",
    "summary_intro": (
        "This summary is generated from the assessment. Every figure carries its number of "
        "respondents (n). \u201cSignificant\u201d means the {correction}-adjusted p-value is below "
        "{alpha}; intervals are {level}% confidence intervals. A gap is perception minus "
        "expectation: negative means customers experienced less than they expected."
    ),
    # Sentences -------------------------------------------------------------------------------
    "shortfall": (
        "{dimension}: perception falls short of expectation by {size} points {scope} "
        "(gap {gap}, {level}% CI {low} to {high}; adjusted p {p}; dz = {dz}; n = {n})."
    ),
    "shortfall_worst": (
        "It is largest {scope}: {size} points (gap {gap}, {level}% CI {low} to {high}; "
        "adjusted p {p}; n = {n})."
    ),
    "shortfall_only": (
        "{dimension}: across all respondents the gap ({gap}, n = {n}) is not distinguishable "
        "from zero, but {scope} perception falls short by {size} points (gap {sgap}, "
        "{level}% CI {low} to {high}; adjusted p {p}; n = {sn})."
    ),
    "no_shortfall": (
        "No dimension shows a shortfall distinguishable from zero in any group "
        "(all {correction}-adjusted p \u2265 {alpha})."
    ),
    "not_distinguishable": (
        "Across all respondents, the gaps for {list} are not distinguishable from zero."
    ),
    "nd_entry": "{dimension} ({gap}; adjusted p {p}; n = {n})",
    "shortfall_more": "Smaller significant shortfalls: {list}.",
    "shortfall_more_entry": "{dimension} {scope} ({gap}; adjusted p {p}; n = {n})",
    "strength": (
        "{dimension}: perception exceeds expectation by {size} points {scope} "
        "(gap {gap}, {level}% CI {low} to {high}; adjusted p {p}; n = {n})."
    ),
    "change_better": (
        "{metric} improved since the previous period: from {before} (n = {n_before}) to {after} "
        "(n = {n_after}), a change of {diff} ({level}% CI {low} to {high}; adjusted p {p})."
    ),
    "change_worse": (
        "{metric} worsened since the previous period: from {before} (n = {n_before}) to {after} "
        "(n = {n_after}), a change of {diff} ({level}% CI {low} to {high}; adjusted p {p})."
    ),
    "change_flat": (
        "Since the previous period, the changes in {list} are not distinguishable from zero."
    ),
    "change_flat_entry": "{metric} ({diff}; adjusted p {p})",
    "slope_better": (
        "{metric} has improved by {slope} per {per} over {periods} periods (slope p {p}; n = {n})."
    ),
    "slope_worse": (
        "{metric} has worsened by {slope} per {per} over {periods} periods (slope p {p}; n = {n})."
    ),
    "slope_flat": "Over {periods} periods, no trend distinguishable from zero in {list}.",
    "slope_flat_entry": "{metric} (slope {slope} per {per}, p {p}; n = {n})",
    "latest": (
        "In {period}, {metric} was {value} ({level}% CI {low} to {high}; n = {n}), "
        "after {previous} in {previous_period} (n = {previous_n})."
    ),
    "signal": "Control-chart signal for {metric} in {period} (n = {n}): {rules}.",
    "no_change_data": "No earlier period is available to compare with.",
    "target_missed": (
        "Missed: {target}{scope}: {value} against a threshold of {direction} {threshold} "
        "(one-sided p {p}{n})."
    ),
    "target_nd": (
        "Not distinguishable from the threshold: {target}{scope}: {value} against "
        "{direction} {threshold} (one-sided p {p}{n})."
    ),
    "targets_met": "{met} of {total} service standards are met.",
    "no_targets": "No service standards apply to this assessment.",
    "priority": (
        "{dimension}: weighted gap {weighted} (gap {gap}, adjusted p {p}, n = {n}; "
        "importance weight {weight}){items}."
    ),
    "priority_unweighted": ("{dimension}: gap {gap} (adjusted p {p}, n = {n}){items}."),
    "priority_items": "; weakest items: {items}",
    "priority_item": "\u201c{text}\u201d ({gap}, n = {n})",
    "priorities_few": (
        "Only {count} dimension(s) have a shortfall distinguishable from zero, so the list is "
        "shorter than three."
    ),
    "no_priorities": "No priorities: no dimension has a shortfall distinguishable from zero.",
    "scope_all": "across all respondents",
    "scope_segment": "for {value} customers",
    "scope_stage": "at the {value} stage",
    "scope_channel": "via {value}",
    "scope_other": "where {key} is {value}",
    "scope_join": " ",
    "group_all": "All respondents",
    "at_least": "at least",
    "at_most": "at most",
    # Tables ----------------------------------------------------------------------------------
    "col_dimension": "Dimension",
    "col_item": "Item",
    "col_n": "n",
    "col_expectation": "Expectation",
    "col_perception": "Perception",
    "col_gap": "Gap",
    "col_ci": "{level}% CI",
    "col_p_adj": "Adj. p",
    "col_dz": "dz",
    "col_weight": "Weight",
    "col_weighted": "Weighted gap",
    "col_group": "Group",
    "col_factor": "Factor",
    "col_f": "F (df)",
    "col_p": "p",
    "col_eta": "\u03b7\u00b2",
    "col_pair": "Pair (b \u2212 a)",
    "col_diff": "Difference",
    "col_target": "Standard",
    "col_scope": "Scope",
    "col_value": "Value",
    "col_threshold": "Threshold",
    "col_status": "Status",
    "col_metric": "Metric",
    "col_slope": "Slope",
    "col_se": "SE",
    "col_t": "t",
    "col_periods": "Periods",
    "col_nps": "NPS",
    "col_csat": "CSAT top-2-box",
    "col_ces": "CES mean",
    "col_measure": "Measure",
    "col_alpha": "Cronbach's \u03b1",
    "col_weak_items": "Items to review",
    "col_period": "Period",
    "col_signals": "Signals",
    "status_met": "Met",
    "status_missed": "Missed",
    "status_nd": "Not distinguishable",
    "suppressed": "suppressed",
    "suppressed_cell": "Suppressed (fewer than {k} respondents)",
    "suppressed_note": (
        "Groups with fewer than {k} respondents are suppressed: none of their statistics are "
        "shown. Suppressed here: {groups}."
    ),
    "significant": "significant (adjusted p < {alpha})",
    "sig_shading_note": (
        "Shaded gap and p: significant ({correction}-adjusted p < {alpha}); the others are not "
        "distinguishable from zero."
    ),
    "axis_segment": "Segment",
    "axis_stage": "Stage",
    "axis_channel": "Channel",
    "not_significant": "not distinguishable from zero",
    "sig_marker_note": (
        "* = significant: {correction}-adjusted p < {alpha}. Hatched cells are suppressed "
        "(fewer than {k} respondents)."
    ),
    "measure_expectation": "Expectation",
    "measure_perception": "Perception",
    # Charts ----------------------------------------------------------------------------------
    "chart_dimensions": "Expectation and perception by dimension",
    "chart_items": "Gap by item with {level}% intervals",
    "chart_ipa": "Importance and performance by dimension",
    "chart_heatmap": "Gap by dimension, segment and stage",
    "chart_trend": "{metric} by period",
    "chart_scores": "Scores by group with {level}% intervals",
    "chart_distribution": "Answers to \u201c{item}\u201d",
    "axis_mean": "Mean on the {points}-point scale",
    "axis_gap": "Gap (perception \u2212 expectation)",
    "axis_importance": "Importance weight",
    "axis_perception": "Mean perception",
    "chart_dimension_trends": "Dimension gaps by period",
    "slopes_note": (
        "Shaded: slope significant at the {alpha} level (unadjusted p of the slope test)."
    ),
    "sub_signals": "Control-chart signals",
    "axis_count": "Respondents",
    "axis_answer": "Answer",
    "axis_period": "Period",
    "focus": "Concentrate here",
    "legend_estimate": "Estimate with {level}% CI",
    "legend_center": "Centre line",
    "legend_limits": "Control limits (3\u03c3)",
    "legend_signal": "Signal",
    "n_range": "n = {low}\u2013{high}",
    "n_single": "n = {n}",
    "detractors": "Detractors 0\u20136",
    "passives": "Passives 7\u20138",
    "promoters": "Promoters 9\u201310",
    "colorbar_gap": "Gap",
    # Metrics ---------------------------------------------------------------------------------
    "metric_overall_gap": "the overall gap",
    "metric_dimension_gap": "the {dimension} gap",
    "metric_item_gap": "the gap of \u201c{item}\u201d",
    "metric_nps": "NPS",
    "metric_csat_top2": "CSAT (top-2-box)",
    "metric_ces_mean": "the CES mean",
    "metric_rating_mean": "the mean rating",
    "metric_weighted_gap": "the weighted gap",
    "metric_share_dissatisfied": "the share of dissatisfied customers (CSAT 1\u20132)",
    "Metric_share_dissatisfied": "Share dissatisfied (CSAT 1\u20132)",
    "Metric_overall_gap": "Overall gap",
    "Metric_dimension_gap": "{dimension} gap",
    "Metric_nps": "NPS",
    "Metric_csat_top2": "CSAT (top-2-box)",
    "Metric_ces_mean": "CES mean",
    "Metric_rating_mean": "Mean rating",
    "Metric_weighted_gap": "Weighted gap",
    "per_month": "month",
    "per_quarter": "quarter",
    "per_period": "period",
    # Section texts ---------------------------------------------------------------------------
    "gaps_intro": (
        "Means of expectation and perception over the same respondents, the gap with its "
        "{level}% interval, the {correction}-adjusted p-value of the paired t-test and the "
        "effect size dz (mean gap / its standard deviation). A dimension's gap is computed per "
        "respondent first (the mean of that respondent's item gaps)."
    ),
    "importance_intro": (
        "Importance weights are the mean share of the 100 points respondents allocated to each "
        "dimension; the weighted gap is the mean of weight \u00d7 gap per respondent. Dimensions "
        "in the shaded quadrant matter more than average and perform worse than average."
    ),
    "segments_intro": (
        "Gap per dimension in each group of the breakdown ({by}). Cells with fewer than {k} "
        "respondents are suppressed and shown hatched, without a number."
    ),
    "comparisons_intro": (
        "Welch's one-way ANOVA tests whether a dimension's gap differs across groups "
        "(\u03b7\u00b2 = share of variance between groups); Games\u2013Howell pairs give each "
        "difference with its {level}% interval and an adjusted p-value."
    ),
    "no_breakdown": "This assessment has no breakdown by segment or stage.",
    "pairs_rest": (
        "Listed: the pairs whose difference is significant (Games\u2013Howell adjusted "
        "p < {alpha}). The other {count} pairs are not distinguishable from zero."
    ),
    "no_comparisons": "No comparisons across groups are in this assessment.",
    "trends_intro": (
        "Each point is a period's mean with its {level}% interval. The centre line and the "
        "3\u03c3 control limits (which widen when a period has fewer respondents) come from the "
        "mean chart; a diamond marks a period with a Western Electric signal."
    ),
    "no_trends": "This assessment has no periods to show.",
    "targets_intro": (
        "A standard is met when its whole {level}% interval lies on the good side of the "
        "threshold, missed when it lies wholly on the bad side, and not distinguishable "
        "otherwise; p is the one-sided p-value against the threshold."
    ),
    "scores_intro": (
        "NPS = % promoters (9\u201310) \u2212 % detractors (0\u20136), with a normal-approximation "
        "interval; CSAT = share answering 4 or 5 on the 5-point scale, with a Wilson interval; "
        "CES = mean effort (lower is less effort), with a t interval."
    ),
    "no_scores": "No headline scores are in this assessment.",
    "no_distributions": "Answer distributions were not supplied for this report.",
    "comments_intro": (
        "Selected by a fixed rule: from the {areas} dimensions with the most negative "
        "significant gap, the comments of respondents whose own gap there is most negative, "
        "at most {per_area} per area, only from groups with at least {k} respondents. Comments "
        "are shown as written (shortened past {chars} characters)."
    ),
    "comments_area": "{dimension} (gap {gap}, n = {n})",
    "comments_respondent": "Respondent's gap: {gap}",
    "comments_respondent_in": "Respondent's gap: {gap} \u00b7 {group}",
    "comments_none_area": "No comment qualifies for this area.",
    "comments_none": "No area has a shortfall distinguishable from zero, so no comments are shown.",
    "comments_not_supplied": "No comments were supplied for this report.",
    "comments_withheld": (
        "Comments from {count} respondent(s) in groups with fewer than {k} respondents are "
        "withheld to protect anonymity."
    ),
    "reliability_intro": (
        "Cronbach's \u03b1 per dimension, for expectation and perception separately, on "
        "respondents who answered every item of the dimension, with a Feldt {level}% interval. "
        "Difference scores (gaps) are less reliable than their parts, so reliability is "
        "reported for the parts. Values below 0.70 and items whose corrected item\u2013total "
        "correlation is below 0.30 are flagged."
    ),
    "no_reliability": "No reliability estimates are in this assessment.",
    "m_gap_title": "Gaps",
    "m_gap": (
        "The gap of a respondent on an item is perception \u2212 expectation, on the item's "
        "scale. A dimension's gap is first averaged per respondent (at least half of its items "
        "answered); the overall gap is the mean of a respondent's dimension gaps. The paired "
        "t-test asks whether the mean gap differs from zero; the Wilcoxon signed-rank test "
        "(reported in the data) checks the same without assuming normality."
    ),
    "m_interval_title": "Intervals",
    "m_interval": (
        "A {level}% confidence interval is the range of values compatible with the data at "
        "that level: were the survey repeated many times, {level}% of such intervals would "
        "contain the true value. An interval that does not contain zero corresponds to an "
        "unadjusted test significant at {alpha}."
    ),
    "m_multiplicity_title": "Multiplicity",
    "m_multiplicity": (
        "Within each group, the item tests form one family and the dimension tests another; "
        "p-values are adjusted with the {correction} method. \u201cSignificant\u201d always means "
        "the adjusted p-value is below {alpha}. An effect that is not significant is not "
        "distinguishable from zero, which is not the same as no difference."
    ),
    "m_min_cell_title": "Minimum cell size",
    "m_min_cell": (
        "Any group with fewer than {k} respondents is suppressed: none of its statistics are "
        "shown and it is listed as suppressed. Comments are shown only from groups with at "
        "least {kc} respondents."
    ),
    "m_comparisons_title": "Comparisons",
    "m_comparisons": (
        "Welch's ANOVA compares a dimension's mean respondent gap across the groups of the "
        "breakdown without assuming equal variances; Games\u2013Howell gives the pairwise "
        "differences (b \u2212 a) with intervals and p-values adjusted for all pairs."
    ),
    "m_trends_title": "Trends and control charts",
    "m_trends": (
        "Periods are calendar months (or quarters) of the submission time in UTC. The slope is "
        "the least-squares change per period of the respondent-level metric. Control limits "
        "are centre \u00b1 3\u03c3/\u221an with the pooled within-period \u03c3; signals follow "
        "the Western Electric rules."
    ),
    "m_changes_title": "Changes since the previous period",
    "m_changes": (
        "Dimension gaps are compared with the previous assessment by Welch's two-sample t-test "
        "on (n, mean, sd); NPS and CSAT by a two-sample z-test on the proportions. These tests "
        "form one family, adjusted with the {correction} method."
    ),
    "m_priorities_title": "Priorities",
    "m_priorities": (
        "Priorities are the dimensions with a significant negative gap across all respondents, "
        "ordered by weighted gap (or by gap where importance was not asked); each names its "
        "weakest significant items."
    ),
    "prov_instrument": "Instrument",
    "prov_filters": "Filters",
    "prov_by": "Breakdown",
    "prov_min_cell": "Minimum cell size",
    "prov_alpha": "Significance level",
    "prov_correction": "Multiplicity correction",
    "prov_n": "Responses",
    "prov_hash": "Data hash",
    "prov_generated": "Assessment generated at",
    "prov_version": "Gapmeter version",
    "prov_language": "Report language",
    "prov_paper": "Paper",
    "prov_note": (
        "The same data, instrument and options give the same numbers; the data hash identifies "
        "the responses the assessment read."
    ),
    "correction_holm": "Holm",
    "correction_fdr_bh": "Benjamini\u2013Hochberg",
    "correction_bonferroni": "Bonferroni",
    "correction_none": "no",
    "signal_rule_1": "a point beyond 3\u03c3",
    "signal_rule_2": "2 of 3 points beyond 2\u03c3 on one side",
    "signal_rule_3": "4 of 5 points beyond 1\u03c3 on one side",
    "signal_rule_4": "8 points in a row on one side of the centre",
    "list_and": " and ",
    "list_sep": ", ",
    "period_range": "{first} to {last}",
    "points": "points",
}

ZH: dict[str, str] = {
    "title": "服務品質評估報告",
    "subtitle": "顧客實際體驗與期望之間的落差",
    "period": "期間",
    "instrument": "問卷",
    "instrument_value": "{title}（{key}，第 {version} 版）",
    "campaigns": "調查活動",
    "segments": "客群",
    "stages": "階段",
    "channels": "通路",
    "respondents": "受訪者",
    "date": "日期",
    "all": "全部",
    "list_more": "{shown}，另有 {more} 個（見附錄「資料來源」）",
    "none": "無",
    "contents": "目錄",
    "page_label": "第 {page} 頁，共 {pages} 頁",
    "sec_summary": "摘要",
    "sec_gaps": "差距概況",
    "sec_segments": "客群與階段",
    "sec_trends": "趨勢",
    "sec_targets": "服務標準",
    "sec_scores": "指標分數",
    "sec_comments": "受訪者意見",
    "sec_appendix": "附錄",
    "sub_shortfalls": "最大的落差",
    "sub_strengths": "感知高於期望之處",
    "sub_changes": "變化",
    "sub_targets": "服務標準",
    "sub_priorities": "優先事項",
    "sub_dimensions": "構面",
    "sub_items": "題項",
    "sub_importance": "重要性與優先順序",
    "sub_heatmap": "各客群與階段的差距",
    "sub_comparisons": "組間比較",
    "sub_pairs": "兩兩差異",
    "sub_slopes": "斜率",
    "sub_distributions": "答案分布",
    "sub_reliability": "信度",
    "sub_methods": "方法說明",
    "sub_provenance": "資料來源",
    "tile_shortfalls": "低於期望的構面",
    "tile_overall_gap": "整體差距",
    "tile_shortfalls_detail": "顯著負差距",
    "tile_score_detail": "{level}% 信賴區間 {low} 至 {high} \u00b7 n = {n}",
    "summary_intro": (
        "本摘要由評估結果自動產生，每個數字皆附受訪人數（n）。「顯著」指經 {correction} "
        "校正後的 p 值小於 {alpha}；區間為 {level}% 信賴區間。差距 = 感知 − 期望，"
        "負值代表顧客的體驗低於期望。"
    ),
    "shortfall": (
        "{dimension}：{scope}感知低於期望 {size} 分（差距 {gap}，{level}% 信賴區間 {low} 至 "
        "{high}；校正後 p {p}；dz = {dz}；n = {n}）。"
    ),
    "shortfall_worst": (
        "落差最大的是{scope}：{size} 分（差距 {gap}，{level}% 信賴區間 {low} 至 {high}；"
        "校正後 p {p}；n = {n}）。"
    ),
    "shortfall_only": (
        "{dimension}：就全體受訪者而言，差距（{gap}，n = {n}）與零無法區分；但{scope}"
        "感知低於期望 {size} 分（差距 {sgap}，{level}% 信賴區間 {low} 至 {high}；"
        "校正後 p {p}；n = {sn}）。"
    ),
    "no_shortfall": (
        "沒有任何構面在任何組別中呈現與零可區分的落差"
        "（所有 {correction} 校正後 p \u2265 {alpha}）。"
    ),
    "not_distinguishable": "就全體受訪者而言，{list}的差距與零無法區分。",
    "nd_entry": "{dimension}（{gap}；校正後 p {p}；n = {n}）",
    "shortfall_more": "其他較小但顯著的落差：{list}。",
    "shortfall_more_entry": "{dimension}，{scope}（{gap}；校正後 p {p}；n = {n}）",
    "strength": (
        "{dimension}：{scope}感知高於期望 {size} 分（差距 {gap}，{level}% 信賴區間 {low} 至 "
        "{high}；校正後 p {p}；n = {n}）。"
    ),
    "change_better": (
        "{metric}較上一期改善：由 {before}（n = {n_before}）變為 {after}（n = {n_after}），"
        "變化 {diff}（{level}% 信賴區間 {low} 至 {high}；校正後 p {p}）。"
    ),
    "change_worse": (
        "{metric}較上一期惡化：由 {before}（n = {n_before}）變為 {after}（n = {n_after}），"
        "變化 {diff}（{level}% 信賴區間 {low} 至 {high}；校正後 p {p}）。"
    ),
    "change_flat": "與上一期相比，{list}的變化與零無法區分。",
    "change_flat_entry": "{metric}（{diff}；校正後 p {p}）",
    "slope_better": "{metric}在 {periods} 期間每{per}改善 {slope}（斜率 p {p}；n = {n}）。",
    "slope_worse": "{metric}在 {periods} 期間每{per}惡化 {slope}（斜率 p {p}；n = {n}）。",
    "slope_flat": "在 {periods} 期間，{list}均沒有與零可區分的趨勢。",
    "slope_flat_entry": "{metric}（斜率每{per} {slope}，p {p}；n = {n}）",
    "latest": (
        "{period} 的{metric}為 {value}（{level}% 信賴區間 {low} 至 {high}；n = {n}），"
        "前一期 {previous_period} 為 {previous}（n = {previous_n}）。"
    ),
    "signal": "{metric}於 {period} 出現管制圖訊號（n = {n}）：{rules}。",
    "no_change_data": "沒有可供比較的前期資料。",
    "target_missed": (
        "未達成：{target}{scope}：{value}，標準為{direction} {threshold}（單尾 p {p}{n}）。"
    ),
    "target_nd": (
        "與標準無法區分：{target}{scope}：{value}，標準為{direction} {threshold}（單尾 p {p}{n}）。"
    ),
    "targets_met": "{total} 項服務標準中有 {met} 項達成。",
    "no_targets": "本評估沒有適用的服務標準。",
    "priority": (
        "{dimension}：加權差距 {weighted}（差距 {gap}，校正後 p {p}，n = {n}；"
        "重要性權重 {weight}）{items}。"
    ),
    "priority_unweighted": "{dimension}：差距 {gap}（校正後 p {p}，n = {n}）{items}。",
    "priority_items": "；最弱的題項：{items}",
    "priority_item": "「{text}」（{gap}，n = {n}）",
    "priorities_few": "只有 {count} 個構面的落差與零可區分，因此清單少於三項。",
    "no_priorities": "沒有優先事項：沒有任何構面的落差與零可區分。",
    "scope_all": "全體受訪者",
    "scope_segment": "{value}客群",
    "scope_stage": "在{value}階段",
    "scope_channel": "經由{value}",
    "scope_other": "{key}為{value}",
    "scope_join": "",
    "group_all": "全體受訪者",
    "at_least": "至少",
    "at_most": "至多",
    "col_dimension": "構面",
    "col_item": "題項",
    "col_n": "n",
    "col_expectation": "期望",
    "col_perception": "感知",
    "col_gap": "差距",
    "col_ci": "{level}% 信賴區間",
    "col_p_adj": "校正後 p",
    "col_dz": "dz",
    "col_weight": "權重",
    "col_weighted": "加權差距",
    "col_group": "組別",
    "col_factor": "因子",
    "col_f": "F（自由度）",
    "col_p": "p",
    "col_eta": "\u03b7\u00b2",
    "col_pair": "配對（b \u2212 a）",
    "col_diff": "差異",
    "col_target": "標準",
    "col_scope": "範圍",
    "col_value": "數值",
    "col_threshold": "門檻",
    "col_status": "狀態",
    "col_metric": "指標",
    "col_slope": "斜率",
    "col_se": "標準誤",
    "col_t": "t",
    "col_periods": "期數",
    "col_nps": "NPS",
    "col_csat": "CSAT 前二箱",
    "col_ces": "CES 平均",
    "col_measure": "量測",
    "col_alpha": "Cronbach's \u03b1",
    "col_weak_items": "需檢視的題項",
    "col_period": "期間",
    "col_signals": "訊號",
    "status_met": "達成",
    "status_missed": "未達成",
    "status_nd": "無法區分",
    "suppressed": "已隱藏",
    "suppressed_cell": "已隱藏（受訪者少於 {k} 人）",
    "suppressed_note": "受訪者少於 {k} 人的組別已隱藏，不顯示其任何統計。已隱藏：{groups}。",
    "significant": "顯著（校正後 p < {alpha}）",
    "sig_shading_note": (
        "底色標示的差距與 p 值為顯著（{correction} 校正後 p < {alpha}）；其餘與零無法區分。"
    ),
    "axis_segment": "客群",
    "axis_stage": "階段",
    "axis_channel": "通路",
    "not_significant": "與零無法區分",
    "sig_marker_note": (
        "* = 顯著：{correction} 校正後 p < {alpha}。斜線格為已隱藏（受訪者少於 {k} 人）。"
    ),
    "measure_expectation": "期望",
    "measure_perception": "感知",
    "chart_dimensions": "各構面的期望與感知",
    "chart_items": "各題項差距與 {level}% 信賴區間",
    "chart_ipa": "各構面的重要性與表現",
    "chart_heatmap": "各構面、客群與階段的差距",
    "chart_trend": "{metric}的各期變化",
    "chart_scores": "各組指標分數與 {level}% 信賴區間",
    "chart_distribution": "「{item}」的答案",
    "axis_mean": "{points} 點量表平均",
    "axis_gap": "差距（感知 − 期望）",
    "axis_importance": "重要性權重",
    "axis_perception": "感知平均",
    "chart_dimension_trends": "各構面差距的各期變化",
    "slopes_note": "底色：斜率在 {alpha} 水準下顯著（斜率檢定的未校正 p 值）。",
    "sub_signals": "管制圖訊號",
    "axis_count": "受訪者人數",
    "axis_answer": "答案",
    "axis_period": "期間",
    "focus": "優先改善區",
    "legend_estimate": "估計值與 {level}% 信賴區間",
    "legend_center": "中心線",
    "legend_limits": "管制界限（3\u03c3）",
    "legend_signal": "訊號",
    "n_range": "n = {low}–{high}",
    "n_single": "n = {n}",
    "detractors": "批評者 0–6",
    "passives": "中立者 7–8",
    "promoters": "推薦者 9–10",
    "colorbar_gap": "差距",
    "metric_overall_gap": "整體差距",
    "metric_dimension_gap": "{dimension}差距",
    "metric_item_gap": "「{item}」的差距",
    "metric_nps": "NPS",
    "metric_csat_top2": "CSAT（前二箱）",
    "metric_ces_mean": "CES 平均",
    "metric_rating_mean": "平均評分",
    "metric_weighted_gap": "加權差距",
    "metric_share_dissatisfied": "不滿意顧客比例（CSAT 1–2）",
    "Metric_share_dissatisfied": "不滿意比例（CSAT 1–2）",
    "Metric_overall_gap": "整體差距",
    "Metric_dimension_gap": "{dimension}差距",
    "Metric_nps": "NPS",
    "Metric_csat_top2": "CSAT（前二箱）",
    "Metric_ces_mean": "CES 平均",
    "Metric_rating_mean": "平均評分",
    "Metric_weighted_gap": "加權差距",
    "per_month": "月",
    "per_quarter": "季",
    "per_period": "期",
    "gaps_intro": (
        "同一批受訪者的期望與感知平均、差距及其 {level}% 信賴區間、成對 t 檢定經 {correction} "
        "校正後的 p 值，以及效果量 dz（平均差距 / 差距標準差）。構面差距先按每位受訪者"
        "計算（該受訪者各題差距的平均）。"
    ),
    "importance_intro": (
        "重要性權重是受訪者分配給各構面的 100 點之平均比例；加權差距是每位受訪者「權重 \u00d7 "
        "差距」的平均。位於斜線象限的構面比平均更重要、表現卻比平均差。"
    ),
    "segments_intro": (
        "依分組（{by}）列出各組的構面差距。受訪者少於 {k} 人的格已隱藏，以斜線表示且不顯示數字。"
    ),
    "comparisons_intro": (
        "Welch 單因子變異數分析檢定構面差距在各組之間是否不同（\u03b7\u00b2 = 組間變異比例）；"
        "Games–Howell 兩兩比較列出每組差異、{level}% 信賴區間與校正後 p 值。"
    ),
    "no_breakdown": "本評估沒有依客群或階段分組。",
    "pairs_rest": (
        "僅列出差異顯著的配對（Games–Howell 校正後 p < {alpha}）。"
        "其餘 {count} 組配對的差異與零無法區分。"
    ),
    "no_comparisons": "本評估沒有組間比較。",
    "trends_intro": (
        "每一點為該期平均及其 {level}% 信賴區間。中心線與 3\u03c3 管制界限來自平均數管制圖"
        "（受訪者較少的期間界限較寬）；菱形標示出現 Western Electric 訊號的期間。"
    ),
    "no_trends": "本評估沒有可顯示的期間。",
    "targets_intro": (
        "當整個 {level}% 信賴區間落在門檻的良好一側即為達成，完全落在不良一側為未達成，"
        "否則為無法區分；p 為相對門檻的單尾 p 值。"
    ),
    "scores_intro": (
        "NPS = 推薦者（9–10）% − 批評者（0–6）%，採常態近似區間；CSAT = 5 點量表回答 4 或 5 "
        "的比例，採 Wilson 區間；CES = 平均費力程度（越低越省力），採 t 區間。"
    ),
    "no_scores": "本評估沒有指標分數。",
    "no_distributions": "本報告未提供答案分布。",
    "comments_intro": (
        "依固定規則選取：在顯著負差距最大的 {areas} 個構面中，選取該構面個人差距最負的受訪者"
        "意見，每個構面最多 {per_area} 則，且僅限受訪者至少 {k} 人的組別。意見按原文呈現"
        "（超過 {chars} 字者截短）。"
    ),
    "comments_area": "{dimension}（差距 {gap}，n = {n}）",
    "comments_respondent": "該受訪者差距：{gap}",
    "comments_respondent_in": "該受訪者差距：{gap} \u00b7 {group}",
    "comments_none_area": "此構面沒有符合條件的意見。",
    "comments_none": "沒有任何構面的落差與零可區分，因此不顯示意見。",
    "comments_not_supplied": "本報告未提供受訪者意見。",
    "comments_withheld": "為保護匿名性，受訪者少於 {k} 人之組別中 {count} 位受訪者的意見不予顯示。",
    "reliability_intro": (
        "各構面的 Cronbach's \u03b1，期望與感知分開計算，僅納入回答該構面所有題項的受訪者，"
        "並附 Feldt {level}% 信賴區間。差異分數（差距）的信度低於其組成部分，因此報告組成"
        "部分的信度。低於 0.70 的數值與校正後題項–總分相關低於 0.30 的題項會被標示。"
    ),
    "no_reliability": "本評估沒有信度估計。",
    "m_gap_title": "差距",
    "m_gap": (
        "受訪者在某題的差距為感知 − 期望（依該題量表）。構面差距先按每位受訪者平均"
        "（至少回答一半題項）；整體差距為受訪者各構面差距的平均。成對 t 檢定檢驗平均差距"
        "是否不為零；Wilcoxon 符號等級檢定（列於資料中）在不假設常態下檢驗同一件事。"
    ),
    "m_interval_title": "信賴區間",
    "m_interval": (
        "{level}% 信賴區間是在該水準下與資料相容的數值範圍：若調查重複多次，{level}% 的區間"
        "會包含真實值。不包含零的區間對應於未校正、顯著水準 {alpha} 的檢定。"
    ),
    "m_multiplicity_title": "多重比較",
    "m_multiplicity": (
        "在每一組內，題項檢定為一個族系、構面檢定為另一個族系，p 值以 {correction} 法校正。"
        "「顯著」一律指校正後 p 值小於 {alpha}。不顯著的效果是與零無法區分，並不等於沒有差異。"
    ),
    "m_min_cell_title": "最小格數",
    "m_min_cell": (
        "受訪者少於 {k} 人的組別一律隱藏：不顯示任何統計並列為已隱藏。受訪者意見僅取自受訪者"
        "至少 {kc} 人的組別。"
    ),
    "m_comparisons_title": "組間比較",
    "m_comparisons": (
        "Welch 變異數分析在不假設變異數相等下比較各組的受訪者構面差距平均；Games–Howell "
        "列出兩兩差異（b − a）、信賴區間及針對所有配對校正的 p 值。"
    ),
    "m_trends_title": "趨勢與管制圖",
    "m_trends": (
        "期間為提交時間（UTC）的日曆月（或季）。斜率為受訪者層級指標對期間的最小平方法每期變化。"
        "管制界限為中心 \u00b1 3\u03c3/\u221an（\u03c3 為期內合併標準差）；"
        "訊號依 Western Electric 規則。"
    ),
    "m_changes_title": "與上一期比較",
    "m_changes": (
        "構面差距以 Welch 兩樣本 t 檢定（依 n、平均、標準差）與上一期比較；NPS 與 CSAT 以兩樣本"
        " z 檢定比較比例。這些檢定構成一個族系，以 {correction} 法校正。"
    ),
    "m_priorities_title": "優先事項",
    "m_priorities": (
        "優先事項為全體受訪者中差距顯著為負的構面，依加權差距排序（未詢問重要性時依差距），"
        "並列出其最弱的顯著題項。"
    ),
    "prov_instrument": "問卷",
    "prov_filters": "篩選條件",
    "prov_by": "分組",
    "prov_min_cell": "最小格數",
    "prov_alpha": "顯著水準",
    "prov_correction": "多重比較校正",
    "prov_n": "回覆數",
    "prov_hash": "資料雜湊值",
    "prov_generated": "評估產生時間",
    "prov_version": "Gapmeter 版本",
    "prov_language": "報告語言",
    "prov_paper": "紙張",
    "prov_note": "相同的資料、問卷與選項會得到相同的數字；資料雜湊值用以識別評估所讀取的回覆。",
    "correction_holm": "Holm",
    "correction_fdr_bh": "Benjamini–Hochberg",
    "correction_bonferroni": "Bonferroni",
    "correction_none": "未",
    "signal_rule_1": "一點超出 3\u03c3",
    "signal_rule_2": "三點中有兩點在同側超出 2\u03c3",
    "signal_rule_3": "五點中有四點在同側超出 1\u03c3",
    "signal_rule_4": "連續八點位於中心線同側",
    "list_and": "及",
    "list_sep": "、",
    "period_range": "{first} 至 {last}",
    "points": "分",
}

#: Labels of the default taxonomy (design.md); an organisation's own labels override them.
TAXONOMY: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "segment": {
            "consumer": "consumer",
            "small_business": "small-business",
            "enterprise": "enterprise",
        },
        "stage": {
            "pre_sales": "pre-sales",
            "purchase": "purchase",
            "onboarding": "onboarding",
            "after_sales": "after-sales support",
            "after_sales_support": "after-sales support",
            "renewal": "renewal",
        },
        "channel": {"web": "web", "hotline": "hotline", "store": "store", "email": "e-mail"},
    },
    "zh-Hant": {
        "segment": {
            "consumer": "個人消費者",
            "small_business": "小型企業",
            "enterprise": "大型企業",
        },
        "stage": {
            "pre_sales": "售前",
            "purchase": "購買",
            "onboarding": "導入",
            "after_sales": "售後支援",
            "after_sales_support": "售後支援",
            "renewal": "續約",
        },
        "channel": {"web": "網站", "hotline": "客服專線", "store": "門市", "email": "電子郵件"},
    },
}

STRINGS = {"en": EN, "zh-Hant": ZH}


def report_language(language: str) -> str:
    """The UI language for a requested one (``zh``, ``zh-TW`` → ``zh-Hant``), or ReportError."""
    if language in STRINGS:
        return language
    base = language.split("-")[0].lower()
    if base == "zh" and language.lower() not in {"zh-hans", "zh-cn", "zh-sg"}:
        return "zh-Hant"
    if base == "en":
        return "en"
    raise ReportError(
        f"report language {language!r} is not available; choose one of {', '.join(LANGUAGES)}"
    )


@dataclass(frozen=True)
class Voice:
    """Words and number formats of one report, in one language."""

    instrument: Instrument
    language: str = "en"
    alpha: float = 0.05
    correction: str = "holm"
    min_cell: int = 5
    taxonomy: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    # Words -----------------------------------------------------------------------------------
    def t(self, name: str, /, **values: object) -> str:
        """The UI string ``name`` in this language, filled with ``values``."""
        template = STRINGS[self.language].get(name, EN[name])
        common = {
            "level": self.level,
            "alpha": self.num(self.alpha, 2),
            "correction": self.correction_name,
            "k": self.min_cell,
        }
        return template.format(**{**common, **values})

    @property
    def level(self) -> str:
        return f"{(1 - self.alpha) * 100:g}"

    @property
    def correction_name(self) -> str:
        key = f"correction_{self.correction}"
        return STRINGS[self.language].get(key, self.correction)

    def dimension(self, key: str | None) -> str:
        if key is None:
            return DASH
        try:
            return self.instrument.dimension(key).label.get(self.language)
        except KeyError:
            return key

    def item(self, key: str) -> str:
        try:
            return self.instrument.item(key).text.get(self.language)
        except KeyError:
            return key

    def short_item(self, key: str, limit: int = 42) -> str:
        """The item's text in at most ``limit`` characters: cut at the last word boundary that
        keeps most of it (CJK text, without spaces, between characters), with an ellipsis."""
        text = self.item(key)
        if len(text) <= limit:
            return text
        cut = text[: limit - 1]
        space = cut.rfind(" ")
        if space >= limit // 2:
            cut = cut[:space]
        return cut.rstrip(" ,;:") + "\u2026"

    def value_label(self, axis: str, value: str) -> str:
        own = self.taxonomy.get(axis, {})
        if value in own:
            return own[value]
        default = TAXONOMY[self.language].get(axis, {})
        return default.get(value, value.replace("_", " "))

    def group(self, group: Mapping[str, object]) -> str:
        """A table label for a group: ``All respondents`` or ``consumer · onboarding``."""
        if not group:
            return self.t("group_all")
        return " \u00b7 ".join(self.value_label(k, str(v)) for k, v in group.items())

    def scope(self, group: Mapping[str, object]) -> str:
        """The group as a phrase: ``for consumer customers at the onboarding stage``."""
        if not group:
            return self.t("scope_all")
        parts = []
        for axis, value in group.items():
            label = self.value_label(axis, str(value))
            key = f"scope_{axis}" if f"scope_{axis}" in EN else "scope_other"
            parts.append(self.t(key, key=axis, value=label))
        return self.t("scope_join").join(parts)

    def join(self, parts: list[str]) -> str:
        if len(parts) <= 1:
            return "".join(parts)
        return self.t("list_sep").join(parts[:-1]) + self.t("list_and") + parts[-1]

    def axis(self, axis: str) -> str:
        """The name of a breakdown axis (``segment`` → ``Segment``)."""
        key = f"axis_{axis}"
        return self.t(key) if key in EN else axis

    def metric(self, metric: str, dimension: str | None = None, capital: bool = False) -> str:
        prefix = "Metric_" if capital else "metric_"
        if prefix + metric not in EN:
            return metric.replace("_", " ")
        return self.t(prefix + metric, dimension=self.dimension(dimension), item=dimension)

    # Numbers ---------------------------------------------------------------------------------
    @staticmethod
    def num(value: float | None, digits: int = 2) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return DASH
        text = f"{value:,.{digits}f}"
        if text.lstrip("-").strip("0.,") == "":
            text = text.lstrip("-")  # no "-0.00"
        return text.replace("-", MINUS)

    def signed(self, value: float | None, digits: int = 2) -> str:
        text = self.num(value, digits)
        return text if text.startswith((MINUS, DASH)) or text.strip("0.") == "" else "+" + text

    @staticmethod
    def count(value: int | None) -> str:
        return DASH if value is None else f"{int(value):,}"

    def p(self, value: float | None) -> str:
        """``< 0.001`` or ``= 0.017`` (for sentences)."""
        if value is None:
            return "= " + DASH
        return "< 0.001" if value < 0.001 else f"= {value:.3f}"

    def p_cell(self, value: float | None) -> str:
        """``<0.001`` or ``0.017`` (for tables)."""
        if value is None:
            return DASH
        return "<0.001" if value < 0.001 else f"{value:.3f}"

    def ci(self, low: float | None, high: float | None, digits: int = 2) -> str:
        return f"[{self.num(low, digits)}, {self.num(high, digits)}]"

    def pct(self, value: float | None, digits: int = 1) -> str:
        return DASH if value is None else f"{self.num(value * 100, digits)}%"

    def score(self, name: str, value: float | None) -> str:
        """A headline score as printed: NPS with 1 decimal, CSAT as a percentage, CES 2."""
        if name.startswith("csat"):
            return self.pct(value)
        return self.num(value, 1 if name == "nps" else 2)

    def significant(self, p_adjusted: float | None) -> bool:
        return p_adjusted is not None and p_adjusted < self.alpha
