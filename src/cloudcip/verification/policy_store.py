"""The CIP policy in force, and changing it only through four eyes (A1, A8, B4).

The policy in force is the newest one **adopted** (``cip_policy_adoption``): a change proposed by
one compliance officer and approved by a second (``approvals``: the ``policy.change`` kind, the
``policy:write`` permission), stored as the YAML text adopted, with its SHA-256, and on the ledger.
Until a first adoption, the policy in force is the operator's bootstrap: the file
``CLOUDCIP_POLICY`` names, else the shipped default. Once a policy is adopted, ``CLOUDCIP_POLICY``
no longer changes anything (a process started with a different file says so in its log), so no
edit of a file or of the environment changes the policy behind the second person's back.

``check_change`` is the check of a proposal when it is made (it parses, validates against the
regulatory profile and differs from the policy in force), naming the ``policy`` field otherwise.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cloudcip import clock
from cloudcip.approvals.schema import pending_change
from cloudcip.errors import FieldIssue, InvalidInput
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.profiles import default_policy_text
from cloudcip.records.roles import Actor
from cloudcip.storage.database import Database
from cloudcip.verification.policy import (
    CipPolicy,
    PolicyError,
    load_policy,
    policy_from_text,
    policy_to_yaml,
)
from cloudcip.verification.profile import RegulatoryProfile, check_policy_against_profile
from cloudcip.verification.schema import cip_policy_adoption

log = logging.getLogger("cloudcip.policy")
MAX_POLICY_BYTES = 200_000


@dataclass(frozen=True)
class PolicyInForce:
    """The policy in force, its YAML text (canonical) and where it comes from (``adopted``, ``file``
    or ``default``)."""

    policy: CipPolicy
    source: str
    text: str
    adopted_at: datetime | None = None
    proposed_by: str | None = None
    approved_by: str | None = None

    @property
    def sha256(self) -> str:
        return text_sha256(self.text)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=16)
def _parsed(text: str, source: str) -> tuple[CipPolicy, str]:
    """A policy's text parsed, and written back canonically (both costly: done once per text)."""
    policy = policy_from_text(text, source)
    return policy, policy_to_yaml(policy)


def policy_in_force(database: Database, policy_path: Path | None) -> PolicyInForce:
    """The newest adopted policy; before any adoption the bootstrap file, else the default."""
    with database.engine.connect() as conn:
        row = conn.execute(select(cip_policy_adoption).order_by(cip_policy_adoption.c.adopted_at.desc(),
                                                                cip_policy_adoption.c.id).limit(1)).first()
    if row is not None:
        if policy_path is not None:
            log.warning("CLOUDCIP_POLICY is ignored: a policy adopted through four eyes is in force")
        policy, text = _parsed(row.policy_yaml, "adopted policy")
        return PolicyInForce(policy, "adopted", text, clock.utc(row.adopted_at), row.proposed_by, row.approved_by)
    if policy_path is None:
        policy, text = _parsed(default_policy_text(), "default-policy.yaml")
        return PolicyInForce(policy, "default", text)
    try:
        raw = Path(policy_path).read_text(encoding="utf-8")
    except OSError:
        load_policy(policy_path)  # raises the loader's own error, naming the file
        raise
    policy, text = _parsed(raw, Path(policy_path).name)
    return PolicyInForce(policy, "file", text)


class PolicyWatch:
    """The policy in force as seen by one process, following adoptions made anywhere: by another API
    worker, another node, the console or the terminal (A8, B4). The newest adoption's id is read at
    most every ``check_interval`` seconds (one indexed row); a new one is parsed once and returned."""

    def __init__(self, database: Database, policy_path: Path | None, *, check_interval: float = 2.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.policy_path = policy_path
        self.check_interval = check_interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._adoption = self._newest()
        self._checked_at = monotonic()

    def _newest(self) -> str | None:
        with self.database.engine.connect() as conn:
            found = conn.execute(select(cip_policy_adoption.c.id).order_by(
                cip_policy_adoption.c.adopted_at.desc(), cip_policy_adoption.c.id).limit(1)).scalar()
        return None if found is None else str(found)

    def changed(self) -> CipPolicy | None:
        """The policy adopted since the last look, or None (nothing new, or looked too recently)."""
        with self._lock:
            moment = self._monotonic()
            if moment - self._checked_at < self.check_interval:
                return None
            self._checked_at = moment
            newest = self._newest()
            if newest == self._adoption:
                return None
            self._adoption = newest
        policy = policy_in_force(self.database, self.policy_path).policy
        log.info("CIP policy in force changed", extra={"policy_id": policy.policy_id, "version": policy.version})
        return policy


def check_change(text: str, profile: RegulatoryProfile, current: PolicyInForce,
                 known_notices: list[str] | None = None) -> CipPolicy:
    """The proposed policy, parsed and checked; ``InvalidInput`` naming ``policy`` when it does not
    parse, falls outside the profile or changes nothing."""
    if not text.strip():
        raise InvalidInput.field("policy", "the policy's YAML text is required")
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise InvalidInput.field("policy", f"at most {MAX_POLICY_BYTES} bytes")
    try:
        policy = policy_from_text(text, "proposed policy")
    except PolicyError as error:
        raise InvalidInput(fields=[FieldIssue("policy", p) for p in error.problems[:20]]) from None
    problems = check_policy_against_profile(policy, profile, known_notices)
    if problems:
        raise InvalidInput(fields=[FieldIssue("policy", p) for p in problems[:20]])
    if policy_to_yaml(policy) == current.text:
        raise InvalidInput.field("policy", "the same as the policy in force: nothing to change")
    if policy.policy_id == current.policy.policy_id and policy.version == current.policy.version:
        raise InvalidInput.field("policy", f"give the changed policy a new version (in force: {policy.version})")
    return policy


def policy_diff(current: PolicyInForce, text: str) -> str:
    """What a proposal changes, as a unified diff of the policies' YAML."""
    try:
        proposed = _parsed(text, "proposed policy")[1]
    except PolicyError:
        proposed = text
    return "".join(difflib.unified_diff(current.text.splitlines(keepends=True), proposed.splitlines(keepends=True),
                                        fromfile="in force", tofile="proposed"))


def adopt(database: Database, ledger: Ledger, text: str, actor: Actor, maker: str, change_id: str) -> CipPolicy:
    """Put an approved policy in force (called by four eyes once a second person approves)."""
    policy, canonical = _parsed(text, "approved policy")
    adoption_id = str(uuid.uuid4())
    digest = text_sha256(canonical)
    with ledger.unit_of_work() as work:
        work.conn.execute(cip_policy_adoption.insert().values(
            id=adoption_id, policy_id=policy.policy_id, version=policy.version, sha256=digest,
            policy_yaml=canonical, adopted_at=clock.now(), proposed_by=maker, approved_by=actor.name,
            change_id=change_id))
        work.log(LedgerAction(actor.name, actor.role, "adopt_policy", "cip_policy", adoption_id,
                              purpose="CIP policy changed through four eyes",
                              detail={"policy_id": policy.policy_id, "version": policy.version, "sha256": digest,
                                      "proposed_by": maker, "change": change_id}))
    return policy


def change_executor(database: Database, ledger: Ledger,
                    adopted: Callable[[CipPolicy], None] | None = None) -> Callable[[dict[str, Any], Actor, str], str]:
    """What four eyes calls once a second person approves a ``policy.change``: adopt the policy."""

    def execute(payload: dict[str, Any], actor: Actor, maker: str) -> str:
        with database.engine.connect() as conn:  # the change being carried out (one pending policy change)
            change_id = str(conn.execute(select(pending_change.c.id).where(
                pending_change.c.kind == "policy.change", pending_change.c.state == "executing")
                .order_by(pending_change.c.decided_at.desc()).limit(1)).scalar_one())
        policy = adopt(database, ledger, str(payload["policy_yaml"]), actor, maker, change_id)
        if adopted is not None:
            adopted(policy)
        return f"{policy.policy_id} {policy.version}"

    return execute


def adoptions(database: Database, limit: int = 20) -> list[dict[str, object]]:
    with database.engine.connect() as conn:
        rows = conn.execute(select(cip_policy_adoption.c.id, cip_policy_adoption.c.policy_id,
                                   cip_policy_adoption.c.version, cip_policy_adoption.c.sha256,
                                   cip_policy_adoption.c.adopted_at, cip_policy_adoption.c.proposed_by,
                                   cip_policy_adoption.c.approved_by)
                            .order_by(cip_policy_adoption.c.adopted_at.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
