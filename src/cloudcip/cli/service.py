"""``cloudcip init``, ``serve`` and ``demo``: set up a data directory, run the service (B1, B2, B3)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from cloudcip import clock
from cloudcip.cli.context import console, emit, fail, services_of, settings_of
from cloudcip.records.roles import ROLES, Actor, create_api_key
from cloudcip.runtime import (
    application_service,
    default_tasks,
    gate_applications,
    initialise,
    screening_service,
    sub_lessee_rescreen,
)
from cloudcip.runtime_access import service_signal_policy, signup_ip_lookup

if TYPE_CHECKING:
    import uvicorn

#: seconds a worker of ``serve --workers N`` has to answer its supervisor's health check before it is
#: killed and replaced. Uvicorn's default (5 s) is shorter than a worker's start on a busy machine: a
#: spawned worker first re-imports the command line (the parent's ``__main__``) before it can answer,
#: and under load that took 6-14 s here, so a worker was killed and restarted every few seconds,
#: each restart paying the app's import and its screening index again.
WORKER_HEALTHCHECK_S = 60


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)


def init(ctx: typer.Context) -> None:
    """Create the data directory, keyring (0600), ledger signing key and database. Safe to run twice."""
    settings = settings_of(ctx)
    report = initialise(settings)
    console.print(f"data directory: {settings.data_dir}")
    console.print(f"keyring: {'created' if report.created_keyring else 'kept'} ({settings.keyring_path.name}, 0600)")
    console.print(f"ledger signing key: {'created' if report.created_signing_key else 'kept'}")
    after = ", ".join(sorted(report.migrated_to))
    if report.migrated_from != report.migrated_to:
        console.print(f"database migrated {', '.join(sorted(report.migrated_from)) or 'empty'} → {after}")
    else:
        console.print(f"database up to date at {after}")
    emit("initialised")


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="API worker processes (background jobs run once, here).")] = 1,
) -> None:
    """Run the API and its background jobs. The address is bound first: a port in use is an error
    before anything starts, and "listening" is said only once it is true."""
    import uvicorn

    from cloudcip.access.history import access_history_by_customer
    from cloudcip.api.app import create_app
    from cloudcip.jobs.runner import JobRunner, PeriodicTask
    from cloudcip.jobs.webhooks import webhook_settings_from_env
    from cloudcip.screening.rescreen import rescreen_if_changed

    with services_of(ctx) as services:
        if webhook_settings_from_env(services.settings.data_dir).url is None:
            console.print("[yellow]warning:[/yellow] CLOUDCIP_WEBHOOK_URL is not set: decision webhooks and one-time "
                          "codes (event otp.deliver) stay in the outbox and reach no one until it is")
        listener = _listen(host, port)
        applications = gate_applications(services, application_service(
            services, ip_lookup=signup_ip_lookup(services.database)))
        tasks = [*default_tasks(),
                 PeriodicTask("verification-deadlines", every_seconds=60.0,
                              run=lambda _services, now: applications.enforce_deadlines(now)),
                 PeriodicTask("periodic-reverification", every_seconds=3600.0,
                              run=lambda _services, now: applications.reverify_due_cases(now)),
                 # the process's one screening index, shared with the decisions
                 PeriodicTask("rescreen", every_seconds=300.0,
                              run=lambda services_, now: rescreen_if_changed(
                                  services_, now, applications.screening, access_history=access_history_by_customer,
                                  account_effect=applications.measure_acted, then=sub_lessee_rescreen(services_)))]
        from cloudcip.cli.links import scheduled_links_task
        from cloudcip.cli.sharing import scheduled_tasks as sharing_tasks

        tasks.append(scheduled_links_task())  # G1: records stored outside the signup join the graph
        from cloudcip.cli.risk import scheduled_risk_task

        tasks.append(scheduled_risk_task())  # G2: scores follow evidence, links, signals, hits, matches
        tasks += sharing_tasks(services)  # G3: peers' indicators pulled and matched again, on a schedule
        # several nodes on one PostgreSQL: the jobs and the follower run on the one holding the lock
        from cloudcip.jobs.leadership import JobLeadership

        leadership = JobLeadership(services.database)
        runner = JobRunner(services, tasks, leadership=leadership)
        runner.start()
        # C4: one signal follower, here in the main process, apart from the API workers
        from cloudcip.access.follower import SignalFollower

        screening = applications.screening or screening_service(services)
        follower = SignalFollower(services.database, service_signal_policy(services, screening),
                                  may_run=leadership.held)
        follower.start()
        from cloudcip.storage.database import WalCheckpointer

        checkpointer = WalCheckpointer(services.database)  # SQLite: the log is copied outside the writes
        checkpointer.start()
        console.print(f"cloudcip listening on http://{host}:{port} (OpenAPI at /docs)")
        console.print(f"data directory: {services.settings.data_dir}")
        try:
            if workers > 1:
                os.environ["CLOUDCIP_DATA_DIR"] = str(services.settings.data_dir)
                os.environ["CLOUDCIP_DATABASE_URL"] = services.settings.database_url
                run_server(listener, uvicorn.Config("cloudcip.api.app:create_app_from_environment", factory=True,
                                                    workers=workers, log_level="warning", access_log=False))
            else:
                from cloudcip.api.warmup import warm_up

                api = create_app(services, applications)
                warm_up(api.state.screening)
                run_server(listener, uvicorn.Config(api, log_level="warning", access_log=False))
        finally:
            checkpointer.stop()
            follower.stop()
            runner.stop()
            leadership.release()
            listener.close()


def run_server(listener: socket.socket, config: uvicorn.Config) -> None:
    """Serve ``config``'s app on the bound ``listener`` itself, in ``config.workers`` processes.

    The socket object is handed over, never its file descriptor: uvicorn rebuilds a socket from a bare
    descriptor as a Unix-domain one, and asyncio then leaves Nagle's algorithm on for every TCP
    connection (it sets TCP_NODELAY on TCP sockets only), so each answer written in two parts waited
    for the client's delayed acknowledgement: about 40 ms per request. Workers get
    ``WORKER_HEALTHCHECK_S`` to answer their supervisor (see there)."""
    import uvicorn

    if config.workers > 1:
        from uvicorn.supervisors import Multiprocess

        config.timeout_worker_healthcheck = max(config.timeout_worker_healthcheck, WORKER_HEALTHCHECK_S)
        Multiprocess(config, sockets=[listener]).run()
    else:
        server = uvicorn.Server(config)
        server.run(sockets=[listener])
        if not server.started and not server.should_exit:  # as uvicorn.run: a failed start is an error
            raise fail("the API did not start (see the error above)", code=3)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket of ``serve``, bound before anything starts; a clear error when it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, protocol, _name, address = infos[0]
        listener = socket.socket(family, kind, protocol)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(2048)
        except OSError:
            listener.close()
            raise
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.set_inheritable(True)
    return listener


def demo(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(help="How many generated account openings to decide.")] = 200,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after loading the demo data.")] = False,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8080,
) -> None:
    """Initialise, import a made-up designated-persons list, decide N generated account openings
    from many locales (some of them listed people), make demo API keys (one per role), then serve."""
    from pydantic import TypeAdapter

    from cloudcip.domain.application import ApplicationRequest
    from cloudcip.records.synthetic import SyntheticCustomers
    from cloudcip.screening.snapshots import generate_demo_list, import_publication

    initialise(settings_of(ctx))
    signup = Actor(name="demo:signup-service", role="signup-service")
    adapter: TypeAdapter[ApplicationRequest] = TypeAdapter(ApplicationRequest)
    with services_of(ctx) as services:
        designated = generate_demo_list()
        import_publication(services, designated, Actor("demo:admin", "admin"))
        applications = gate_applications(services, application_service(services))
        generator = SyntheticCustomers()
        decisions: dict[str, int] = {}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("deciding demo account openings", total=customers)
            for number in range(customers):
                body = generator.application_json()
                if number % 25 == 7 and body["kind"] == "individual":  # now and then, a listed person applies
                    listed = designated.parties[number % len(designated.parties)]
                    if listed.schema == "Person" and listed.names[0].given and listed.names[0].family:
                        body["name"] = {"given": listed.names[0].given, "family": listed.names[0].family}
                answer = applications.submit(adapter.validate_python(body), signup, idempotency_key=f"demo-{number}")
                decisions[answer["decision"]] = decisions.get(answer["decision"], 0) + 1
                progress.advance(task)
        now = clock.now()
        keys = {}
        with services.database.engine.begin() as conn:
            for role in ROLES:
                keys[role] = create_api_key(conn, role, "demo", now)
        summary = ", ".join(f"{count} {decision}" for decision, count in sorted(decisions.items()))
        console.print(f"decided {customers} demo account openings ({summary}); ledger size {services.ledger.size()}")
        keys_file = services.settings.data_dir / "demo-api-keys.txt"
        keys_file.touch(mode=0o600)
        keys_file.write_text("".join(f"{role}\t{key}\n" for role, key in keys.items()))
        console.print(f"demo API keys (one per role) written to {keys_file}")
        import secrets

        from cloudcip.console.app import console_users
        from cloudcip.console.users import CONSOLE_ROLES
        from cloudcip.errors import Conflict

        people = console_users(services)
        passwords: dict[str, str] = {}
        for role in CONSOLE_ROLES:
            username, password = f"demo-{role}", secrets.token_urlsafe(12)
            try:
                people.add(username, password, role, Actor("demo:admin", "admin"))
            except Conflict:
                continue  # kept from an earlier demo run
            passwords[username] = password
        users_file = services.settings.data_dir / "demo-console-users.txt"
        users_file.touch(mode=0o600)
        with users_file.open("a") as out:
            out.write("".join(f"{name}\t{password}\n" for name, password in passwords.items()))
        console.print(f"demo console users (one per role, sign in at /console/login) written to {users_file}")
    if not no_serve:
        serve(ctx, host=host, port=port)
