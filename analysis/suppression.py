"""The minimum reporting size, applied in one place (methods.md, "Groups").

A group, item, dimension, reliability block, trend period or target scope with fewer than
``min_cell`` respondents shows no statistics; it is listed, with its n, in ``suppressed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.results import AnalysisError, GroupKey, Suppressed

MIN_CELL = 5


def check_min_cell(min_cell: int) -> int:
    if min_cell < 1:
        raise AnalysisError(f"the minimum cell size must be at least 1, not {min_cell}")
    return min_cell


def reason(n: int, min_cell: int) -> str:
    """Why a value is not shown."""
    if n == 0:
        return "no respondents"
    return f"fewer than {min_cell} respondents (n = {n}): suppressed"


@dataclass
class Suppression:
    """Decides what is shown and keeps the list of what is not."""

    min_cell: int = MIN_CELL
    entries: list[Suppressed] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_min_cell(self.min_cell)

    def hides(self, n: int) -> bool:
        return n < self.min_cell

    def check(self, n: int, group: GroupKey, **what: str | None) -> bool:
        """True when shown; otherwise records the suppression (``what`` names the part)."""
        if n >= self.min_cell:
            return True
        self.entries.append(Suppressed(group, n, **what))
        return False

    def listed(self) -> tuple[Suppressed, ...]:
        return tuple(self.entries)
