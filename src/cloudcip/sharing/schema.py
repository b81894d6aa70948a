"""Tables of sharing: TAXII collections, peers and their grants, the objects served, POST statuses (G3).

- ``sharing_collection``: a TAXII 2.1 collection.
- ``sharing_peer``: the peer (an organisation's name) an API key of role ``peer`` stands for; a
  TLP:RED object is served only to the peer it names as recipient.
- ``sharing_grant``: per peer key and collection, may it read, may it write.
- ``sharing_object``: one row per version of a STIX object in a collection, with the date it was added
  (microseconds since the epoch), its source (``local`` or the peer it came from), its TLP level and,
  for TLP:RED, its named recipient; ``is_first``/``is_latest`` serve ``match[version]``.
- ``sharing_status``: the status resource of each POSTed envelope, with per-object outcomes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint

from cloudcip.storage.metadata import metadata

sharing_collection = Table(
    "sharing_collection",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sharing_peer = Table(
    "sharing_peer",
    metadata,
    Column("api_key_id", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sharing_grant = Table(
    "sharing_grant",
    metadata,
    Column("api_key_id", String(16), primary_key=True),
    Column("collection_id", String(36), primary_key=True),
    Column("can_read", Boolean, nullable=False),
    Column("can_write", Boolean, nullable=False),
)

sharing_object = Table(
    "sharing_object",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("collection_id", String(36), nullable=False),
    Column("object_id", String(128), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("version", String(32), nullable=False),  # modified (or created), %Y-%m-%dT%H:%M:%S.%fZ
    Column("spec_version", String(8), nullable=False),
    Column("date_added_us", BigInteger, nullable=False),
    Column("source", String(200), nullable=False),  # local | the peer's name
    Column("tlp", String(16)),
    Column("recipient", String(200)),  # TLP:RED: the one peer it may go to
    Column("is_first", Boolean, nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    # an object from a peer as another peer receives it, scrubbed once when stored ("" when nothing of it may
    # go; NULL for local objects, served as they are, and for rows stored before migration 0082)
    Column("peer_body", Text),
    UniqueConstraint("collection_id", "object_id", "version", name="uq_sharing_object_version"),
    Index("ix_sharing_object_added", "collection_id", "date_added_us", "seq"),
    Index("ix_sharing_object_kind_added", "object_type", "source", "date_added_us", "object_id"),  # console (0091)
)

sharing_status = Table(
    "sharing_status",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("collection_id", String(36), nullable=False),
    Column("api_key_id", String(16), nullable=False),
    Column("request_timestamp", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # complete | pending
    Column("detail", Text, nullable=False),  # JSON: successes, failures, pendings
)

# -- taken in from peers (``ingest``) ----------------------------------------------------------------
shared_indicator = Table(
    "shared_indicator",
    metadata,
    Column("id", String(128), primary_key=True),  # the STIX id
    Column("source", String(200), primary_key=True),  # the peer it came from
    Column("version", String(32), nullable=False),
    Column("tlp", String(16)),
    Column("pattern", Text, nullable=False),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("valid_until_ms", BigInteger),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("terms", Text, nullable=False),  # JSON: the observables matched (kind, value) and those not matchable
    Column("revoked", Boolean, nullable=False),
    Index("ix_shared_indicator_received", "received_at", "source", "id"),  # the console's list, newest first (0091)
    Index("ix_shared_indicator_source", "source", "received_at"),
)

shared_indicator_match = Table(
    "shared_indicator_match",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("indicator_id", String(128), nullable=False),
    Column("source", String(200), nullable=False),
    Column("tlp", String(16)),
    Column("subject_type", String(24), nullable=False),  # account | customer | beneficial_owner | sub_lessee
    Column("subject_id", String(36), nullable=False),
    Column("matched_on", String(24), nullable=False),  # access_ip | wallet | email
    Column("first_seen", DateTime(timezone=True)),
    Column("last_seen", DateTime(timezone=True)),
    Column("state", String(16), nullable=False),  # open | confirmed | false_positive
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(64)),
    Column("reason", Text),
    UniqueConstraint("indicator_id", "source", "subject_type", "subject_id", "matched_on",
                     name="uq_shared_indicator_match_subject"),
    Index("ix_shared_indicator_match_state", "state", "created_at"),
    Index("ix_shared_indicator_match_subject", "subject_type", "subject_id"),
)

sharing_pull_state = Table(
    "sharing_pull_state",
    metadata,
    Column("collection_url", String(500), primary_key=True),
    Column("peer", String(200), nullable=False),
    Column("added_after", String(32)),  # the peer's X-TAXII-Date-Added-Last of the last page taken
    Column("pulled_at", DateTime(timezone=True), nullable=False),
)

# the matchable observables of each stored indicator (e-mail, wallet) as the linkage graph's blind-index
# token, so a subject that arrives later (a signup, a sub-lessee) is matched against the indicators
# already stored without reading them all (``ingest.match_new_subject``)
shared_indicator_term = Table(
    "shared_indicator_term",
    metadata,
    Column("indicator_id", String(128), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("kind", String(16), primary_key=True),  # email | wallet
    Column("token", String(64), primary_key=True),
    Index("ix_shared_indicator_term_token", "token", "kind"),
)
