"""The scipy.special kernels in ``analysis.distributions`` give exactly what scipy.stats gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.distributions import f_quantile, f_sf, normal_sf, t_quantile, t_sf

LEVELS = (1e-12, 0.001, 0.025, 0.3, 0.5, 0.9, 0.975, 0.999999)
DFS = (1, 2, 3.7, 9, 30, 154.28, 1999, 250_000)
XS = (-40.0, -3.1, -0.2, 0.0, 0.7, 2.5, 9.0, 60.0)


@pytest.mark.parametrize("df", DFS)
def test_t_is_bit_for_bit_scipy(df: float) -> None:
    for level in LEVELS:
        assert t_quantile(level, df) == float(stats.t.ppf(level, df))
    for x in XS:
        assert t_sf(x, df) == float(stats.t.sf(x, df))


def test_normal_is_bit_for_bit_scipy() -> None:
    for x in (*XS, 1e-9, 37.5):
        assert normal_sf(x) == float(stats.norm.sf(x))


@pytest.mark.parametrize(("df1", "df2"), [(1, 1), (2, 154.28), (4, 30), (239, 956), (5000, 20000)])
def test_f_is_bit_for_bit_scipy(df1: float, df2: float) -> None:
    for level in LEVELS:
        assert f_quantile(level, df1, df2) == float(stats.f.ppf(level, df1, df2))
    for x in np.abs(XS):
        assert f_sf(float(x), df1, df2) == float(stats.f.sf(x, df1, df2))
