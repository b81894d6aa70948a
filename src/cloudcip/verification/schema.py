"""Tables of the verification workflow: applications, case transitions, U.S./foreign determinations,
one-time codes (A2, A4, A5, A6, A7, A8).

An application is the verification case of one account opening; its ``response_json`` is the last
answer given (decision, restrictions, deadline, evidence still owed, reasons) and holds no personal data.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, text

from cloudcip.storage.metadata import metadata

application = Table(
    "application",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customer.id"), nullable=False, index=True),
    # read through ix_application_account_created below (its own index dropped by 0100)
    Column("account_id", String(36), ForeignKey("account.id"), nullable=False),
    Column("idempotency_key", String(128), unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("account_type", String(16), nullable=False),
    Column("channel", String(24), nullable=False),
    Column("risk_tier", String(16), nullable=False),
    Column("state", String(24), nullable=False),  # the case's state machine
    Column("decision", String(24), nullable=False),  # approved | pending_evidence | in_review | refused
    Column("policy_rule", String(64), nullable=False),
    Column("failure_action", String(16)),
    Column("notice_version", String(32)),
    Column("deadline", DateTime(timezone=True)),
    Column("reverify_due", DateTime(timezone=True)),
    Column("resolution", Text),  # A6: how an unverifiable case was resolved
    Column("signup_ip_sealed", LargeBinary),
    Column("response_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # F1: the exemption applied at the decision and the steps it exempts ({step: exemption id}, JSON);
    # cleared when the exemption ends and the account is flagged for re-verification (migration 0031)
    Column("exemption_id", String(36)),
    Column("exempted_steps", Text),
    Index("ix_application_state_deadline", "state", "deadline"),
    # the cases due for re-verification: only those with a date are in it (0107)
    Index("ix_application_reverify_due", "reverify_due", sqlite_where=text("reverify_due IS NOT NULL"),
          postgresql_where=text("reverify_due IS NOT NULL")),
    Index("ix_application_account_created", "account_id", "created_at"),  # H1, H3: the newest case (0061)
)

case_transition = Table(
    "case_transition",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(36), ForeignKey("application.id"), nullable=False, index=True),
    Column("from_state", String(24)),
    Column("to_state", String(24), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

person_determination = Table(
    "person_determination",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # read through ix_person_determination_subject below, which begins with it (its own index dropped by 0106)
    Column("application_id", String(36), ForeignKey("application.id"), nullable=False),
    Column("subject", String(64), nullable=False),  # "customer" or "beneficial_owner:<id>"
    Column("status", String(16), nullable=False),  # us_person | foreign_person
    Column("basis", String(24), nullable=False),
    Column("evidence_json", Text, nullable=False),  # evidence kinds only, no values
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_person_determination_subject", "application_id", "subject", "status"),  # H1: from the index (0090)
)

otp_challenge = Table(
    "otp_challenge",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("application_id", String(36), ForeignKey("application.id"), nullable=False, index=True),
    Column("channel", String(8), nullable=False),  # email | phone
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("verified_at", DateTime(timezone=True)),
)

#: A8, B4: each CIP policy adopted through four eyes (the newest is in force); the YAML text as adopted,
#: its SHA-256, the person who proposed it and the second person who approved it
cip_policy_adoption = Table(
    "cip_policy_adoption",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("policy_id", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("policy_yaml", Text, nullable=False),
    Column("adopted_at", DateTime(timezone=True), nullable=False, index=True),
    Column("proposed_by", String(64), nullable=False),
    Column("approved_by", String(64), nullable=False),
    Column("change_id", String(36), nullable=False),
)
