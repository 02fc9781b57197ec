"""Domain errors: each says what went wrong in the user's terms and where.

Each edge renders them its own way: a page beside the field, an API problem document, a CLI
message with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass


class SurveysError(Exception):
    """Base of every error the domain raises on purpose."""


@dataclass(frozen=True, slots=True)
class InstrumentProblem:
    """One defect in an instrument file, located precisely enough to fix."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        line = self.line if self.line is not None else "?"
        return f"{self.path}:{line}: {self.field}: {self.message}"


class InstrumentError(SurveysError):
    """An instrument file failed to load; ``problems`` lists every defect found at once."""

    def __init__(self, problems: list[InstrumentProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class InstrumentImmutableError(SurveysError):
    """Changed content under a version that already has responses."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad answer: the slot (form field / CSV column / API field) and what is wrong."""

    slot: str
    message: str


class AnswerError(SurveysError):
    """Answers that do not fit the instrument; ``problems`` names each slot."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.slot}: {p.message}" for p in problems))


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad cell or row of an imported file (row 1 is the header line)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportRowsError(SurveysError):
    """An import found bad rows; nothing was imported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class AlreadyAnsweredError(SurveysError):
    """The invitation has been used: one response per invitation."""


class CampaignClosedError(SurveysError):
    """The campaign is not open now (``reason``: not_open_yet | closed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"campaign is {reason.replace('_', ' ')}")


class NotFoundError(SurveysError):
    """An unknown campaign, instrument, invitation or key."""


class IdempotencyConflictError(SurveysError):
    """An idempotency key reused with a different payload."""
