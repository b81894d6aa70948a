"""``cloudcip policy check FILE | show`` and ``cloudcip cip render``: the CIP as a policy file, and the
written CIP examiners read, generated from that same file (A1, A8)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudcip.cli.context import console, emit, fail, services_of, settings_of
from cloudcip.profiles import notice_versions
from cloudcip.reports.written_cip import render_written_cip
from cloudcip.verification.policy import CipPolicy, default_policy, load_policy, policy_summary
from cloudcip.verification.profile import check_policy_against_profile, load_profile

policy_app = typer.Typer(help="The CIP policy (a YAML file).", no_args_is_help=True)
cip_app = typer.Typer(help="The written CIP.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from cloudcip.cli import policy_changes

    policy_changes.register(policy_app)
    app.add_typer(policy_app, name="policy")
    app.add_typer(cip_app, name="cip")


def _policy_in_force(ctx: typer.Context) -> CipPolicy:
    """The newest policy adopted through four eyes; before any (or without a data directory) the
    bootstrap: CLOUDCIP_POLICY, else the default."""
    from cloudcip.runtime import NotInitialised
    from cloudcip.verification.policy_store import policy_in_force

    path = settings_of(ctx).policy_path
    try:
        with services_of(ctx) as services:
            return policy_in_force(services.database, path).policy
    except NotInitialised:
        return load_policy(path) if path else default_policy()


@policy_app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False)],
) -> None:
    """Validate a policy file and check it against the regulatory profile; every problem is listed."""
    policy = load_policy(path)
    profile = load_profile(settings_of(ctx).profile)
    problems = check_policy_against_profile(policy, profile, notice_versions())
    for problem in problems:
        console.print(f"[red]{problem}[/red]")
    if problems:
        raise fail(f"{path.name}: {len(problems)} problem(s) against profile {profile.id}")
    emit(f"OK {path.name}: {len(policy.rules)} rules, consistent with profile {profile.id}")


@policy_app.command("show")
def show(ctx: typer.Context) -> None:
    """Summarise the policy in force (adopted through four eyes; before that CLOUDCIP_POLICY, else the default)."""
    emit(policy_summary(_policy_in_force(ctx)))


@policy_app.command("notice")
def notice(
    ctx: typer.Context,
    version: Annotated[str | None, typer.Argument(metavar="[VERSION]", help="Default: the policy's.")] = None,
    list_versions: Annotated[bool, typer.Option("--list", help="List the versions instead.")] = False,
) -> None:
    """A8: the customer notice the policy in force shows (or VERSION), as the customer reads it."""
    from cloudcip.verification import notices

    policy = _policy_in_force(ctx)
    if list_versions:
        for known in notices.versions():
            emit(f"{known}{'  (current)' if known == policy.notice_version else ''}")
        return
    emit(notices.notice(policy, version).text)


@cip_app.command("render")
def render(
    ctx: typer.Context,
    output_format: Annotated[str, typer.Option("--format", help="md or html")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """The written CIP, generated from the policy in force and the regulatory profile."""
    if output_format not in ("md", "html"):
        raise fail("--format is md or html")
    settings = settings_of(ctx)
    profile = load_profile(settings.profile)
    document = render_written_cip(_policy_in_force(ctx), profile, format=output_format,  # type: ignore[arg-type]
                                  settings=settings)
    if output is not None:
        output.write_text(document, encoding="utf-8")
        console.print(f"written CIP ({output_format}) saved to {output}")
    else:
        emit(document)
