"""``cloudcip sharing pull``: take the indicators peers publish on their TAXII 2.1 servers (G3).

A peer is a TAXII 2.1 collection URL with HTTP Basic credentials (the password read from an
environment variable, never a file of ours or the command line). Pages are read with the OASIS
``taxii2-client`` (``as_pages``), from the ``X-TAXII-Date-Added-Last`` of the last page taken
(``sharing_pull_state``), so each pull takes only what was added since. Every page is checked
(``envelope.check_objects``), and its indicators are stored and matched (``ingest``).

Peers come from ``CLOUDCIP_SHARING_PEERS``, a YAML file::

    peers:
      - name: Peer Cloud B            # the source recorded with each indicator
        collection_url: https://taxii.peer.example/api1/collections/4e0f.../
        user: cloudcip
        password_env: PEER_B_TAXII_PASSWORD
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select, update

from cloudcip import clock
from cloudcip.errors import InvalidInput, Unavailable
from cloudcip.records.roles import Actor
from cloudcip.sharing.envelope import check_objects
from cloudcip.sharing.ingest import IndicatorIntake
from cloudcip.sharing.schema import sharing_pull_state

PULL_ACTOR = Actor("job:sharing-pull", "compliance-officer")
PAGE_SIZE = 500


@dataclass(frozen=True)
class PeerSource:
    name: str
    collection_url: str
    user: str | None = None
    password_env: str | None = None

    def password(self) -> str | None:
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise InvalidInput.field("password_env", "the environment variable it names is not set")
        return value


def load_peers(path: Path) -> list[PeerSource]:
    """The peers of a ``CLOUDCIP_SHARING_PEERS`` file."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        raise InvalidInput.field("CLOUDCIP_SHARING_PEERS", "not a readable YAML file") from None
    peers = []
    for position, item in enumerate(document.get("peers") or []):
        if not isinstance(item, dict) or not item.get("name") or not item.get("collection_url"):
            raise InvalidInput.field(f"peers.{position}", "needs a name and a collection_url")
        peers.append(PeerSource(str(item["name"]), str(item["collection_url"]), item.get("user"),
                                item.get("password_env")))
    return peers


@dataclass
class PullReport:
    peer: str
    objects: int = 0
    failures: int = 0
    indicators: int = 0
    matches: int = 0
    added_after: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def pull_peer(intake: IndicatorIntake, peer: PeerSource, actor: Actor = PULL_ACTOR) -> PullReport:
    """One pull from one peer, from where the last one stopped."""
    import requests
    from taxii2client.v21 import Collection, as_pages

    database = intake.database
    with database.engine.connect() as conn:
        row = conn.execute(select(sharing_pull_state.c.added_after)
                           .where(sharing_pull_state.c.collection_url == peer.collection_url)).first()
    added_after = row.added_after if row is not None else None
    report = PullReport(peer.name, added_after=added_after)
    last_seen: list[str] = []

    def remember(response: Any, *_args: Any, **_kwargs: Any) -> Any:
        value = response.headers.get("X-TAXII-Date-Added-Last")
        if value:
            last_seen.append(value)
        return response

    try:
        collection = Collection(peer.collection_url, user=peer.user, password=peer.password())
        collection._conn.session.hooks["response"].append(remember)  # the page's date-added header
        filters = {"added_after": added_after} if added_after else {}
        for page in as_pages(collection.get_objects, per_request=PAGE_SIZE, **filters):
            objects = page.get("objects", []) if isinstance(page, dict) else []
            checked = check_objects(objects)
            report.objects += len(objects)
            report.failures += len(checked.failures)
            taken = intake.take(checked.valid, checked.tlp_of, peer.name, actor, checked.terms)
            report.indicators += taken.indicators
            report.matches += taken.matches
    except requests.RequestException as exc:
        raise Unavailable(f"the peer's TAXII server did not answer as expected ({type(exc).__name__})") from None
    if last_seen:
        report.added_after = max(last_seen)
    with database.write_gate(), database.engine.begin() as conn:
        values = {"peer": peer.name[:200], "added_after": report.added_after, "pulled_at": clock.now()}
        if row is None:
            conn.execute(insert(sharing_pull_state).values(collection_url=peer.collection_url, **values))
        else:
            conn.execute(update(sharing_pull_state)
                         .where(sharing_pull_state.c.collection_url == peer.collection_url).values(**values))
    return report
