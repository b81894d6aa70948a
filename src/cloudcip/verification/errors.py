"""What can go wrong with an application, as the API and CLI report it (A4, A6).

Each error is a kind of :mod:`cloudcip.errors`, mapped once by the API and the CLI; the public
detail never names the applicant or the id asked for.
"""

from __future__ import annotations

from cloudcip.errors import Conflict, NotFound


class IdempotencyConflict(Conflict):
    """The idempotency key was used before with a different request body (409)."""


class ApplicationNotFound(NotFound, LookupError):
    """No application with that id (404; the detail does not repeat the id)."""

    def __init__(self, application_id: str = "") -> None:
        super().__init__("no such application")
        self.application_id = application_id


class EvidenceRefused(Conflict, ValueError):
    """The evidence cannot be taken now (case closed, code expired, too many attempts ...) (409)."""


class CaseStateConflict(Conflict):
    """The case is not in a state that allows this (409); the detail names the state, never personal data."""
