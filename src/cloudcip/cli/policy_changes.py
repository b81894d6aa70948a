"""``cloudcip policy propose | pending | approve | reject | withdraw``: changing the CIP policy in force
only through four eyes, from the terminal as from the console (A1, A8, B4).

The terminal is no way around the second person: each command names the console user acting
(``--as USERNAME``) and asks for that person's password (and authenticator code, when they have
one), checked as the console's sign-in checks it; the proposal and the approval are the same
``approvals`` changes as the console's, so nobody approves their own and a proposal made here can be
approved in the console (and the other way round). ``CLOUDCIP_POLICY`` no longer changes a policy
adopted this way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudcip.approvals.service import FourEyes
from cloudcip.cli.context import console, emit, fail, services_of
from cloudcip.records.roles import Actor
from cloudcip.services import Services

AS_PERSON = typer.Option("--as", help="The console user acting (a compliance officer); their password is asked.")


def _person(services: Services, username: str) -> Actor:
    """The console user ``username``, once their password (and code) check out; the check leaves no session."""
    from cloudcip.console.app import console_users
    from cloudcip.console.users import SignInRefused

    users = console_users(services)
    password = typer.prompt(f"password of {username}", hide_input=True)
    code = None
    try:
        has_code = users.get(username).totp
    except Exception:
        has_code = False
    if has_code:
        code = typer.prompt("authenticator code")
    try:
        token, session = users.sign_in(username, password, code)
    except SignInRefused:
        raise fail("username, password or code not accepted", 3) from None
    users.end(token)
    return session.user.actor


def _four_eyes(services: Services) -> FourEyes:
    from cloudcip.verification.policy_store import change_executor

    return FourEyes(services.database, services.ledger,
                    {"policy.change": change_executor(services.database, services.ledger)})


def register(policy_app: typer.Typer) -> None:
    policy_app.command("propose")(propose)
    policy_app.command("pending")(pending)
    policy_app.command("approve")(approve)
    policy_app.command("reject")(reject)
    policy_app.command("withdraw")(withdraw)


def propose(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False)],
    username: Annotated[str, AS_PERSON],
    reason: Annotated[str, typer.Option(help="Why, for the second person.")],
) -> None:
    """Propose FILE as the policy in force; a second compliance officer must approve it. Prints its id."""
    from cloudcip.profiles import notice_versions
    from cloudcip.runtime import regulatory_profile
    from cloudcip.verification import policy_store

    text = path.read_text(encoding="utf-8")
    with services_of(ctx) as services:
        actor = _person(services, username)
        current = policy_store.policy_in_force(services.database, services.settings.policy_path)
        proposed = policy_store.check_change(text, regulatory_profile(services), current, notice_versions())
        four_eyes = _four_eyes(services)
        change = four_eyes.propose(
            "policy.change", f"put CIP policy {proposed.policy_id} version {proposed.version} in force "
                             f"(in force: {current.policy.policy_id} version {current.policy.version})",
            {"policy_yaml": text, "sha256": policy_store.text_sha256(text)}, reason, actor, subject="cip_policy")
        console.print(policy_store.policy_diff(current, text))
    console.print("proposed: a second compliance officer approves it with `cloudcip policy approve ID --as NAME`")
    emit(change.id)


def pending(ctx: typer.Context) -> None:
    """The policy changes waiting for a second person: id, who proposed it, what and why."""

    with services_of(ctx) as services:
        four_eyes = _four_eyes(services)
        for change in four_eyes.changes():
            if change.kind == "policy.change":
                emit(f"{change.id}\t{change.proposed_by}\t{change.summary}\t{change.reason}")


def approve(
    ctx: typer.Context,
    change_id: Annotated[str, typer.Argument(metavar="CHANGE_ID")],
    username: Annotated[str, AS_PERSON],
    note: Annotated[str | None, typer.Option(help="An optional note.")] = None,
) -> None:
    """Approve a proposed policy (not your own): it is in force from now, and on the ledger."""

    with services_of(ctx) as services:
        actor = _person(services, username)
        four_eyes = _four_eyes(services)
        _policy_change(four_eyes, change_id)
        change = four_eyes.approve(change_id, actor, note)
    emit(f"approved: {change.result_ref} is in force (a running `cloudcip serve` takes it up within "
         "two seconds)")


def reject(
    ctx: typer.Context,
    change_id: Annotated[str, typer.Argument(metavar="CHANGE_ID")],
    username: Annotated[str, AS_PERSON],
    reason: Annotated[str, typer.Option(help="Why it is rejected.")],
) -> None:
    """Reject a proposed policy (not your own), with a reason."""

    with services_of(ctx) as services:
        actor = _person(services, username)
        four_eyes = _four_eyes(services)
        _policy_change(four_eyes, change_id)
        four_eyes.reject(change_id, actor, reason)
    emit("rejected")


def withdraw(
    ctx: typer.Context,
    change_id: Annotated[str, typer.Argument(metavar="CHANGE_ID")],
    username: Annotated[str, AS_PERSON],
) -> None:
    """Withdraw your own proposal."""

    with services_of(ctx) as services:
        actor = _person(services, username)
        four_eyes = _four_eyes(services)
        _policy_change(four_eyes, change_id)
        four_eyes.withdraw(change_id, actor)
    emit("withdrawn")


def _policy_change(four_eyes: FourEyes, change_id: str) -> None:
    from cloudcip.errors import NotFound

    if four_eyes.get(change_id).kind != "policy.change":
        raise NotFound("no such policy change")
