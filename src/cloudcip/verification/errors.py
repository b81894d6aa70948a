"""What can go wrong with an application, as the API and CLI report it (A4, A6)."""

from __future__ import annotations


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different request body."""


class ApplicationNotFound(LookupError):
    pass


class EvidenceRefused(ValueError):
    """The evidence cannot be taken now (case closed, code expired, too many attempts ...)."""
