"""The webhook outbox table (A4, A6, D4: decision and measure notices to the provider's systems).

``webhook_outbox`` holds one row per notice, inserted in the same transaction as the change it
announces (the outbox pattern), and delivered later by ``cloudcip.jobs.webhooks.deliver_due``.

- ``id``: the Standard Webhooks ``webhook-id``; the same on every delivery attempt, so receivers
  dedupe on it.
- ``payload_json``: ids and states only, never personal data.
- ``attempts``, ``next_attempt_at``: the retry schedule; ``last_status`` is the HTTP status of the
  last attempt (null when no answer came) and ``last_error`` a short, non-personal reason.
- A row is *pending* while ``delivered_at`` is null and ``next_attempt_at`` is set; *delivered*
  once ``delivered_at`` is set; *dead* (given up, kept for inspection) when ``delivered_at`` and
  ``next_attempt_at`` are both null.

The index on ``(delivered_at, next_attempt_at)`` serves the due-row scan.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from cloudcip.storage.metadata import metadata

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", String(200)),
    Column("last_status", Integer),
    Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),
)
