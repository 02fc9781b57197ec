"""Scale reliability from cross products: Cronbach's alpha with the Feldt interval, corrected
item-total correlations and alpha-if-deleted (methods.md, "Reliability").

Everything comes from the covariance matrix of the listwise-complete item scores, which the
cross-product matrix, the sums and n give exactly; results match R ``psych::alpha`` (raw alpha,
``r.drop``, ``alpha.drop``) on the listwise-complete data.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.distributions import f_quantile
from analysis.results import ItemReliability, Reliability
from analysis.sufficient import CrossProducts

#: Below these, a warning is given (methods.md).
ALPHA_WARNING = 0.7
ITEM_TOTAL_WARNING = 0.3


def alpha_of(covariance: np.ndarray) -> float | None:
    """``k/(k−1) · (1 − Σ s_i² / s_total²)``; None for fewer than two items or no variance."""
    k = covariance.shape[0]
    total = float(covariance.sum())
    if k < 2 or total <= 0:
        return None
    return k / (k - 1) * (1 - float(np.trace(covariance)) / total)


def feldt_interval(alpha: float, n: int, k: int, *, level: float = 0.05) -> tuple[float, float]:
    """Feldt's interval ``[1 − (1−α) F_{1−level/2}, 1 − (1−α) F_{level/2}]`` with
    ``(n − 1, (n − 1)(k − 1))`` df (as pingouin ``cronbach_alpha``)."""
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * f_quantile(1 - level / 2, df1, df2)
    high = 1 - (1 - alpha) * f_quantile(level / 2, df1, df2)
    return low, high


def cronbach_alpha(
    data: CrossProducts,
    *,
    dimension: str,
    measure: str,
    level: float = 0.05,
) -> Reliability:
    """Cronbach's alpha of the items in ``data`` (listwise-complete n, sums, cross products).

    ``item_total_r`` is the correlation of each item with the sum of the *other* items;
    ``alpha_if_deleted`` the alpha of the remaining items (None when one item would remain).
    Warnings: alpha below 0.7, an item-total correlation below 0.3.
    """
    k, n = len(data.items), data.n
    if k < 2:
        return Reliability(
            dimension, measure, n, k, None, None, None, (), (), ("fewer than 2 items",)
        )
    if n < 2:
        return Reliability(
            dimension,
            measure,
            n,
            k,
            None,
            None,
            None,
            (),
            (),
            ("fewer than 2 complete respondents",),
        )
    covariance = data.covariance()
    alpha = alpha_of(covariance)
    if alpha is None:
        return Reliability(
            dimension, measure, n, k, None, None, None, (), (), ("the items do not vary",)
        )
    low, high = feldt_interval(alpha, n, k, level=level)
    rows = []
    warnings = []
    if alpha < ALPHA_WARNING:
        warnings.append(f"alpha {alpha:.2f} is below {ALPHA_WARNING}")
    for i, item in enumerate(data.items):
        keep = [j for j in range(k) if j != i]
        rest = covariance[np.ix_(keep, keep)]
        rest_var = float(rest.sum())
        item_var = float(covariance[i, i])
        r = None
        if rest_var > 0 and item_var > 0:
            r = float(covariance[i, keep].sum()) / math.sqrt(item_var * rest_var)
            if r < ITEM_TOTAL_WARNING:
                warnings.append(
                    f"{item}: corrected item-total correlation {r:.2f} is below "
                    f"{ITEM_TOTAL_WARNING}"
                )
        rows.append(ItemReliability(item, r, alpha_of(rest) if k > 2 else None))
    return Reliability(dimension, measure, n, k, alpha, low, high, tuple(rows), tuple(warnings))
