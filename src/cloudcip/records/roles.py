"""Roles, permissions and purposes: who may do what to a record, and what must be stated (B4).

The signup service writes; the event-ingest service posts access events; analysts see masked data;
compliance officers unmask with a stated purpose; legal staff read only against a recorded legal
basis; administrators purge, manage API keys and may break the glass, loudly; auditors read the
ledger and nothing else; a peer provider or agency reaches only the TAXII collections its grants
name. Nobody reads without being on the
ledger.

``GRANTS`` is the one source: the API's ``require(...)`` dependency, the services' own checks and the
README's role table (``role_table_markdown``, checked by ``tests/records/test_roles_table.py``) all
come from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cloudcip.errors import Forbidden

Role = Literal["signup-service", "event-ingest", "analyst", "compliance-officer", "legal", "auditor", "admin", "peer"]
ROLES: tuple[Role, ...] = (
    "signup-service",
    "event-ingest",
    "analyst",
    "compliance-officer",
    "legal",
    "auditor",
    "admin",
    "peer",
)

Permission = Literal[
    "customer:create",
    "customer:read",
    "customer:unmask",
    "customer:search",
    "customer:purge",
    "ledger:read",
    "break_glass",
    "screening:read",
    "screening:adjudicate",
    "measures:write",
    "application:submit",
    "application:read",
    "application:decide",
    "application:redress",
    "access:ingest",
    "access:read",
    "sub_lessee:share",
    "sub_lessee:read",
    "apikeys:manage",
    "metrics:read",
    "incident:create",
    "incident:read",
    "incident:disclose",
    "sharing:export",
    "sharing:manage",
    "sharing:adjudicate",
    "taxii:read",
    "taxii:write",
    "links:read",
    "account:close",
    "account:read",
    "retention:read",
    "retention:run",
    "legal_process:write",
    "legal_process:read",
    "legal_hold:place",
    "legal_hold:release",
    "production:create",
    "certification:read",
    "certification:file",
    "reporting:write",
    "roster:export",
    "risk:read",
    "reseller:read",
    "reseller:write",
    "policy:write",
    "exemption:read",
    "exemption:write",
]

PURPOSE_HEADER = "X-Access-Purpose"
LEGAL_BASIS_HEADER = "X-Legal-Basis"
BREAK_GLASS_HEADER = "X-Break-Glass"


@dataclass(frozen=True)
class Grant:
    """One permission: the roles that hold it, what it lets them do (the README's words), and the
    roles that must state a purpose, or a purpose and a legal basis, each time they use it."""

    roles: frozenset[Role]
    does: str
    purpose: frozenset[Role] = frozenset()
    legal_basis: frozenset[Role] = frozenset()


def _roles(*names: Role) -> frozenset[Role]:
    return frozenset(names)


# In the order the README's table lists them for each role.
GRANTS: dict[Permission, Grant] = {
    "customer:create": Grant(_roles("signup-service"), "create customer records"),
    "application:submit": Grant(_roles("signup-service"),
                                "submit applications, evidence, beneficial owners and one-time codes"),
    "application:read": Grant(_roles("signup-service", "analyst", "compliance-officer"),
                              "read applications and their decisions"),
    "sub_lessee:share": Grant(_roles("signup-service"), "share and remove sub-lessees"),
    "access:ingest": Grant(_roles("event-ingest"), "post access events"),
    "customer:read": Grant(_roles("analyst", "compliance-officer", "legal"), "read customer records masked",
                           legal_basis=_roles("legal")),
    "customer:search": Grant(_roles("analyst", "compliance-officer", "legal"), "find customers by exact identifier",
                             legal_basis=_roles("legal")),
    "customer:unmask": Grant(_roles("compliance-officer", "legal"),
                             "read customer records and hit explanations unmasked",
                             purpose=_roles("compliance-officer"), legal_basis=_roles("legal")),
    "sub_lessee:read": Grant(_roles("analyst", "compliance-officer"), "read sub-lessees masked"),
    # E1, E3: the reseller register, its oversight and the termination clock
    "reseller:read": Grant(_roles("analyst", "compliance-officer"),
                           "read the reseller register, its CIPs on file, reviews, findings and termination clocks"),
    "reseller:write": Grant(_roles("compliance-officer"),
                            "register resellers, file their CIPs and certifications, review them, record findings, "
                            "remediate or terminate"),
    "access:read": Grant(_roles("analyst", "compliance-officer", "legal"),
                         "read an account's access history and signals, and the accounts seen from an IP",
                         purpose=_roles("analyst", "compliance-officer"), legal_basis=_roles("legal")),
    "screening:read": Grant(_roles("analyst", "compliance-officer"),
                            "read lists, measures and hits (masked); screen a name"),
    "screening:adjudicate": Grant(_roles("analyst", "compliance-officer"), "adjudicate hits"),
    "application:decide": Grant(_roles("analyst", "compliance-officer"), "decide cases in review"),
    "application:redress": Grant(_roles("compliance-officer"),
                                 "re-open a refused, closed or restricted case on redress"),
    "measures:write": Grant(_roles("compliance-officer"), "record, extend and revoke special measures"),
    "policy:write": Grant(_roles("compliance-officer"),
                          "propose and approve a change of the CIP policy in force (four eyes: never one's own)"),
    "ledger:read": Grant(_roles("compliance-officer", "auditor"), "read the ledger: tree heads, proofs, public key"),
    "customer:purge": Grant(_roles("admin"), "purge customer records (before their retention ends only with "
                            "`X-Legal-Basis` naming a registered court order or statutory deletion)",
                            purpose=_roles("admin")),
    "break_glass": Grant(_roles("admin"),
                         f"break-glass read of a record (`{BREAK_GLASS_HEADER}: reason`), always on the ledger, "
                         "sent as a `record.break_glass` webhook notice and counted in `/metrics`"),
    "apikeys:manage": Grant(_roles("admin"), "list, create and revoke API keys"),
    "metrics:read": Grant(_roles("admin", "auditor"),
                          "read the service's metrics (`GET /metrics`: counts and latencies, no personal data)"),
    # G1, G3, G4: incident reports, the linkage graph, sharing with peers (a peer's key reaches only
    # the TAXII collections its grants name)
    "incident:create": Grant(_roles("analyst", "compliance-officer"), "make incident reports"),
    "incident:read": Grant(_roles("analyst", "compliance-officer", "legal"), "read incident reports",
                           legal_basis=_roles("legal")),
    "incident:disclose": Grant(_roles("compliance-officer"), "disclose incident reports"),
    "links:read": Grant(_roles("analyst", "compliance-officer", "legal"), "read the linkage graph",
                        legal_basis=_roles("legal")),
    "risk:read": Grant(_roles("analyst", "compliance-officer"), "read an account's risk score and its factors"),
    "sharing:export": Grant(_roles("compliance-officer"), "export and share STIX bundles"),
    "sharing:manage": Grant(_roles("compliance-officer", "admin"), "manage the sharing peers and their grants"),
    "sharing:adjudicate": Grant(_roles("analyst", "compliance-officer"), "adjudicate indicators peers share"),
    "taxii:read": Grant(_roles("peer", "compliance-officer", "analyst"),
                        "read the TAXII 2.1 collections (`/taxii2/`; a peer only those its grants name)"),
    "taxii:write": Grant(_roles("peer", "compliance-officer"),
                         "write to the TAXII 2.1 collections (a peer only those its grants name)"),
    # B1, B4, B5: the records lifecycle, legal processes, holds and productions
    "account:close": Grant(_roles("signup-service", "admin"), "close accounts (the retention clock starts)"),
    "account:read": Grant(_roles("analyst", "compliance-officer", "legal"),
                          "read an account's lifecycle: closure, last access, retention end, holds"),
    "retention:read": Grant(_roles("compliance-officer", "admin"), "read the retention plan"),
    "retention:run": Grant(_roles("admin"), "run the retention purge"),
    "legal_process:write": Grant(_roles("legal"), "register and close legal processes"),
    "legal_process:read": Grant(_roles("legal", "compliance-officer"), "read legal processes and holds"),
    "legal_hold:place": Grant(_roles("legal", "compliance-officer"), "place preservation holds"),
    "legal_hold:release": Grant(_roles("legal"), "release preservation holds, with a reason"),
    "production:create": Grant(_roles("legal"), "make signed productions to a registered legal process"),
    # H1, H2, H3: reporting to Commerce
    "certification:read": Grant(_roles("compliance-officer"),
                                "render the certification (JSON, HTML, PDF) and the attestation; see what reporting "
                                "is due and the open CIP copy requests"),
    "certification:file": Grant(_roles("compliance-officer"), "file the certification and the attestation"),
    "reporting:write": Grant(_roles("compliance-officer"), "set the CIP contact; log and answer CIP copy requests"),
    "roster:export": Grant(_roles("compliance-officer"), "export the examiner's roster"),
    # F1, F2: exemptions and the abuse-deterrence evidence
    "exemption:read": Grant(_roles("compliance-officer", "auditor"),
                            "read the exemption register and the abuse-deterrence evidence pack"),
    "exemption:write": Grant(_roles("compliance-officer"),
                             "grant and revoke exemptions, record notices of significant change"),
}

PERMISSIONS: dict[Permission, frozenset[Role]] = {permission: grant.roles for permission, grant in GRANTS.items()}


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key's id (never a person's name) and its role."""

    name: str
    role: Role


def may(role: str, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]


class AccessRefused(Forbidden, PermissionError):
    """The actor's role, or a purpose or legal basis it did not state, does not allow the access (403)."""


def needs_purpose(role: str, permission: Permission) -> bool:
    grant = GRANTS[permission]
    return role in grant.purpose or role in grant.legal_basis


def needs_legal_basis(role: str, permission: Permission) -> bool:
    return role in GRANTS[permission].legal_basis


def check(actor: Actor, permission: Permission, *, purpose: str | None = None,
          legal_basis: str | None = None) -> None:
    """Refuse (``AccessRefused``) unless ``actor``'s role holds ``permission`` and has stated what
    the role must state for it: a purpose (``X-Access-Purpose``), and for legal staff a legal basis
    (``X-Legal-Basis``)."""
    if not may(actor.role, permission):
        raise AccessRefused(f"role {actor.role} may not do this ({permission})")
    if needs_purpose(actor.role, permission) and not purpose:
        raise AccessRefused(f"role {actor.role} must state a purpose for this ({PURPOSE_HEADER})")
    if needs_legal_basis(actor.role, permission) and not legal_basis:
        raise AccessRefused(f"role {actor.role} must state a recorded legal basis for this ({LEGAL_BASIS_HEADER})")


def role_table_markdown() -> str:
    """The README's role table, generated from ``GRANTS``."""
    lines = ["| role | may |", "|---|---|"]
    for role in ROLES:
        doings = []
        for grant in GRANTS.values():
            if role not in grant.roles:
                continue
            text = grant.does
            if role in grant.legal_basis:
                text += f" (with a purpose and `{LEGAL_BASIS_HEADER}`)"
            elif role in grant.purpose:
                text += f" (with `{PURPOSE_HEADER}`)"
            doings.append(text)
        lines.append(f"| `{role}` | {'; '.join(doings)} |")
    return "\n".join(lines) + "\n"


# API keys are stored and checked in ``records.api_keys``; these names stay importable from here.
from cloudcip.records.api_keys import authenticate, create_api_key  # noqa: E402

__all__ = [
    "GRANTS", "PERMISSIONS", "ROLES", "AccessRefused", "Actor", "Grant", "Permission", "Role", "authenticate",
    "check", "create_api_key", "may", "needs_legal_basis", "needs_purpose", "role_table_markdown",
]
