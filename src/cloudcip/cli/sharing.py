"""``cloudcip sharing``: STIX 2.1 bundles out, TAXII 2.1 collections and peers, indicators in (G3, G4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cloudcip.cli.context import console, emit, services_of
from cloudcip.cli.incidents import incident_service
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services, indicator_intake
from cloudcip.sharing.export import export_incident
from cloudcip.sharing.tlp import parse_level

if TYPE_CHECKING:
    from cloudcip.jobs.runner import PeriodicTask

app = typer.Typer(help="Sharing with peers: STIX 2.1 over TAXII 2.1, marked with TLP 2.0.", no_args_is_help=True)

OPERATOR_OFFICER = Actor("cli:operator", "compliance-officer")


@app.command("export")
def export(
    ctx: typer.Context,
    incident: Annotated[str, typer.Option("--incident", help="Incident id.")],
    tlp: Annotated[str, typer.Option("--tlp", help="clear|green|amber|amber+strict|red")],
    recipient: Annotated[str, typer.Option(help="To whom the bundle goes (recorded with the export).")] = "export",
) -> None:
    """Print one STIX 2.1 bundle of the incident, marked with TLP 2.0 and scrubbed of personal data
    not directly related to the threat; the export is recorded (to whom, when, hash)."""
    level = parse_level(tlp, "--tlp")
    with services_of(ctx) as services:
        text = export_incident(incident_service(services), incident, level, OPERATOR_OFFICER,
                               provider_name=services.settings.sharing_provider_name, recipient=recipient,
                               purpose="sharing export (CLI)")
    console.print(f"bundle at TLP:{level.upper()} recorded as disclosed to {recipient}")
    emit(text)


collections_app = typer.Typer(help="TAXII 2.1 collections served at /taxii2/.", no_args_is_help=True)
peers_app = typer.Typer(help="Peers: API keys of role peer, each with its grants per collection.",
                        no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(peers_app, name="peers")


@collections_app.command("add")
def collections_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="The collection's title.")],
    description: Annotated[str | None, typer.Option(help="What it holds.")] = None,
) -> None:
    """Add a TAXII collection; its id is the last line of stdout."""
    from cloudcip.sharing.store import SharingStore

    with services_of(ctx) as services:
        emit(SharingStore(services.database).add_collection(title, description))


@peers_app.command("add")
def peers_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The peer organisation's name (named recipient of TLP:RED).")],
) -> None:
    """Make an API key of role peer for a peer provider or agency; the key is the last line of stdout."""
    from cloudcip.ledger.store import LedgerAction
    from cloudcip.records.roles import create_api_key
    from cloudcip.sharing.store import SharingStore

    with services_of(ctx) as services, services.ledger.unit_of_work() as work:
        key = create_api_key(work.conn, "peer", f"peer {name}"[:200], datetime.now(UTC))
        SharingStore(services.database).add_peer(work.conn, key.split("_")[1], name)
        work.log(LedgerAction("cli:operator", "admin", "create_api_key", "api_key", key.split("_")[1],
                              detail={"role": "peer"}))
    console.print(f"peer key {key.split('_')[1]} for {name}; grant it collections with `sharing peers grant`")
    emit(key)


@peers_app.command("grant")
def peers_grant(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Option("--key-id", help="The peer key's id (the part after ccip_).")],
    collection: Annotated[str, typer.Option(help="Collection id.")],
    read: Annotated[bool, typer.Option("--read/--no-read")] = True,
    write: Annotated[bool, typer.Option("--write/--no-write")] = False,
) -> None:
    """What one peer key may do in one collection (replaces its earlier grant there)."""
    from cloudcip.sharing.store import SharingStore

    with services_of(ctx) as services:
        SharingStore(services.database).grant(key_id, collection, read=read, write=write)
    emit("granted")


@app.command("publish")
def publish(
    ctx: typer.Context,
    incident: Annotated[str, typer.Option("--incident", help="Incident id.")],
    tlp: Annotated[str, typer.Option("--tlp", help="clear|green|amber|amber+strict|red")],
    collection: Annotated[str, typer.Option(help="The TAXII collection to add the objects to.")],
    recipient: Annotated[str | None, typer.Option(help="TLP:RED: the one peer (by name) it may go to.")] = None,
) -> None:
    """Add the incident's scrubbed STIX objects to a TAXII collection, served to the peers granted it
    (TLP:RED only to the named recipient); recorded as a disclosure."""
    import json as json_module

    from cloudcip.errors import InvalidInput
    from cloudcip.sharing.store import SharingStore

    level = parse_level(tlp, "--tlp")
    if level == "red" and not recipient:
        raise InvalidInput.field("--recipient", "TLP:RED needs the one peer it goes to")
    with services_of(ctx) as services:
        text = export_incident(incident_service(services), incident, level, OPERATOR_OFFICER,
                               provider_name=services.settings.sharing_provider_name,
                               recipient=recipient or f"collection {collection}", channel="taxii",
                               purpose="sharing publish (CLI)")
        objects = json_module.loads(text)["objects"]
        store = SharingStore(services.database)
        with services.database.write_gate(), services.database.engine.begin() as conn:
            store.collection_row(conn, collection)
            from cloudcip.sharing.envelope import check_objects

            checked = check_objects(objects)
            outcomes = store.add_objects(conn, collection, checked.valid, source="local", tlp_of=checked.tlp_of,
                                         recipient=recipient)
    emit(f"published {sum(1 for o in outcomes if o['stored'])} objects")


@app.command("pull")
def pull(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="A peer's TAXII 2.1 collection URL (else CLOUDCIP_SHARING_PEERS).")]
    = None,
    peer: Annotated[str | None, typer.Option(help="The peer's name, recorded as the source.")] = None,
    user: Annotated[str | None, typer.Option(help="HTTP Basic user at the peer.")] = None,
    password_env: Annotated[str | None, typer.Option(help="Environment variable holding the password.")] = None,
) -> None:
    """Take what peers added since the last pull: indicators are validated, stored with their source
    and TLP, and matched against the customers and the access ledger (one JSON line per peer)."""
    import json as json_module

    from cloudcip.errors import InvalidInput
    from cloudcip.sharing.pull import PeerSource, load_peers, pull_peer

    with services_of(ctx) as services:
        if url:
            if not peer:
                raise InvalidInput.field("--peer", "name the peer the indicators come from")
            peers = [PeerSource(peer, url, user, password_env)]
        elif services.settings.sharing_peers_path is not None:
            peers = load_peers(services.settings.sharing_peers_path)
        else:
            raise InvalidInput.field("--url", "give a collection URL or set CLOUDCIP_SHARING_PEERS")
        intake = indicator_intake(services)
        for source in peers:
            emit(json_module.dumps(pull_peer(intake, source).as_json()))


@app.command("rematch")
def rematch(ctx: typer.Context) -> None:
    """Match every stored, unrevoked indicator again against what is on record now (customers and
    sub-lessees that arrived since, access events inside its window); new matches only, for a person to
    adjudicate. Signups and shared sub-lessees are matched on arrival; this catches the rest (JSON)."""
    import json as json_module

    with services_of(ctx) as services:
        report = indicator_intake(services).rematch_stored(OPERATOR_OFFICER)
    emit(json_module.dumps({"indicators": report.indicators, "new_matches": report.matches}))


matches_app = typer.Typer(help="Matches of shared indicators, for a person to adjudicate.", no_args_is_help=True)
app.add_typer(matches_app, name="matches")
OPERATOR_ANALYST = Actor("cli:operator", "analyst")


@matches_app.command("list")
def matches_list(
    ctx: typer.Context,
    state: Annotated[str, typer.Option(help="open, confirmed, false_positive or all.")] = "open",
) -> None:
    """Accounts and customers flagged by shared indicators: JSON lines, newest first."""
    import json as json_module

    from cloudcip.sharing.ingest import list_matches

    with services_of(ctx) as services:
        for row in list_matches(services.database, OPERATOR_ANALYST, state=None if state == "all" else state):
            emit(json_module.dumps(row))


@matches_app.command("decide")
def matches_decide(
    ctx: typer.Context,
    match_id: Annotated[str, typer.Argument(help="Match id.")],
    decision: Annotated[str, typer.Option(help="confirmed or false_positive.")],
    reason: Annotated[str, typer.Option(help="Why (no personal data needed).")],
) -> None:
    """A person's adjudication of one match, on the ledger."""
    import json as json_module

    from cloudcip.sharing.ingest import decide_match

    with services_of(ctx) as services:
        emit(json_module.dumps(decide_match(services.ledger, match_id, decision, reason, OPERATOR_ANALYST)))


SCHEDULED = Actor("job:sharing", "compliance-officer")


def scheduled_tasks(services: Services) -> list[PeriodicTask]:
    """``cloudcip serve``'s sharing jobs (G3), at the periods of the settings:

    - ``sharing-pull``: from the peers of ``CLOUDCIP_SHARING_PEERS`` every
      ``CLOUDCIP_SHARING_PULL_EVERY_SECONDS`` (900; none when no peers are configured);
    - ``sharing-rematch``: every stored, unrevoked indicator matched again every
      ``CLOUDCIP_SHARING_REMATCH_EVERY_SECONDS`` (3600) against what arrived since: access events
      inside its window (an address seen after the indicator came in), customers and sub-lessees; new
      matches only, each open for a person."""
    from cloudcip.jobs.runner import PeriodicTask
    from cloudcip.sharing.pull import load_peers, pull_peer

    settings = services.settings
    tasks = [PeriodicTask("sharing-rematch", every_seconds=settings.sharing_rematch_every_seconds,
                          run=lambda services_, now: _rematch(services_, now))]
    path = settings.sharing_peers_path
    if path is not None:
        def run(services_: Services, _now: object) -> list[dict[str, object]]:
            intake = indicator_intake(services_)
            return [pull_peer(intake, peer).as_json() for peer in load_peers(path)]

        tasks.insert(0, PeriodicTask("sharing-pull", every_seconds=settings.sharing_pull_every_seconds, run=run))
    return tasks


def _rematch(services: Services, now: datetime) -> dict[str, int]:
    report = indicator_intake(services).rematch_stored(SCHEDULED, reindex=False, now=now)
    return {"indicators": report.indicators, "new_matches": report.matches}
