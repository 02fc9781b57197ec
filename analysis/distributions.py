"""The few distribution functions the statistics need, as the ``scipy.special`` kernels that
``scipy.stats`` itself calls (``t.ppf`` is ``stdtrit``, ``t.sf`` is ``stdtr`` of −x, ...).

The results are bit-for-bit those of ``scipy.stats`` (tests/analysis/test_distributions.py);
what is skipped is its per-call argument handling, about 0.1 ms a call. An assessment with a
breakdown makes thousands of such calls (an interval and a p-value per item, dimension, score
and group), so that overhead alone would cost most of a second.
"""

from __future__ import annotations

from scipy import special


def t_quantile(level: float, df: float) -> float:
    """The ``level`` quantile of Student's t with ``df`` degrees of freedom (``t.ppf``)."""
    return float(special.stdtrit(df, level))


def t_sf(x: float, df: float) -> float:
    """P(T_df > x) (``t.sf``)."""
    return float(special.stdtr(df, -x))


def normal_sf(x: float) -> float:
    """P(Z > x) for a standard normal Z (``norm.sf``)."""
    return float(special.ndtr(-x))


def f_quantile(level: float, df1: float, df2: float) -> float:
    """The ``level`` quantile of F(df1, df2) (``f.ppf``)."""
    return float(special.fdtri(df1, df2, level))


def f_sf(x: float, df1: float, df2: float) -> float:
    """P(F_{df1, df2} > x) (``f.sf``)."""
    return float(special.fdtrc(df1, df2, x))
