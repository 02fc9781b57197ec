"""Multiplicity adjustment of one family of tests (methods.md, "Multiplicity")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from analysis.results import AnalysisError

#: ``--correction`` choices: Holm (default), Benjamini–Hochberg, or none.
CORRECTIONS = ("holm", "fdr_bh", "none")


def adjust_pvalues(p_values: Sequence[float | None], method: str = "holm") -> list[float | None]:
    """Adjusted p-values of one family; ``None`` (a test that could not be run) stays ``None``
    and is not counted in the family.

    ``holm``: Holm's step-down, ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))``
    (R ``p.adjust(p, "holm")``); ``fdr_bh``: Benjamini–Hochberg (R ``p.adjust(p, "BH")``,
    scipy ``false_discovery_control``); ``none`` returns the p-values unchanged. Tests check
    both against ``statsmodels.stats.multitest.multipletests``, which is not called here because
    its Holm branch runs ``gc.collect()`` on every call (about 0.2 s each, twice per group).
    """
    if method not in CORRECTIONS:
        raise AnalysisError(
            f"unknown correction {method!r}; choose one of {', '.join(CORRECTIONS)}"
        )
    present = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if not present:
        return adjusted
    raw = np.array([p_values[i] for i in present], dtype=float)
    if method == "none":
        values = raw
    elif method == "holm":
        values = _holm(raw)
    else:
        values = stats.false_discovery_control(raw, method="bh")
    for i, value in zip(present, values, strict=True):
        adjusted[i] = float(value)
    return adjusted


def _holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted
