"""Field problems raised by identity validation (A3, A4).

Every validator in :mod:`cloudcip.identity` takes the dotted path of the field it checks
(``national_id.number``, ``payment_means.0.number``, ``beneficial_owners.1.birth_date``) and,
when the value is wrong, raises :class:`IdentityFieldError` carrying one or more
:class:`FieldProblem`. A problem says what is wrong with the field; it never repeats the value,
so problems can go into API responses and logs without leaking personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloudcip.errors import FieldIssue, InvalidInput


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field: its dotted path and a reason free of personal data."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class IdentityFieldError(InvalidInput, ValueError):
    """One or more identity fields failed validation; ``problems`` lists them, and they are the error's
    ``fields`` (422 naming every field, never a value)."""

    problems: list[FieldProblem]

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = list(problems)
        if not self.problems:
            raise ValueError("IdentityFieldError needs at least one problem")
        super().__init__(fields=[FieldIssue(problem.field, problem.reason) for problem in self.problems])

    @classmethod
    def single(cls, field: str, reason: str) -> IdentityFieldError:
        """An error with exactly one problem."""
        return cls([FieldProblem(field, reason)])


def fail(field: str, reason: str) -> IdentityFieldError:
    """Build the error for one problem; used as ``raise fail(field, "...")``."""
    return IdentityFieldError.single(field, reason)


def require_text(value: object, field: str) -> str:
    """Return ``value`` stripped if it is a non-empty string, else raise a field problem."""
    if not isinstance(value, str):
        raise fail(field, "must be a string")
    stripped = value.strip()
    if not stripped:
        raise fail(field, "is empty")
    return stripped


class ProblemCollector:
    """Gathers problems from several validators so one response can name every bad field."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def add(self, field: str, reason: str) -> None:
        """Record one problem."""
        self.problems.append(FieldProblem(field, reason))

    def absorb(self, error: IdentityFieldError) -> None:
        """Record every problem of an error raised by a validator."""
        self.problems.extend(error.problems)

    def raise_if_any(self) -> None:
        """Raise one :class:`IdentityFieldError` with every recorded problem, if there are any."""
        if self.problems:
            raise IdentityFieldError(self.problems)
