"""The one error base (mapped once for the API, once for the CLI) and the one clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.api.errors import install_error_handlers
from cloudcip.cli.context import CloudcipGroup
from cloudcip.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, Refused, Unavailable

KINDS = [
    (InvalidInput.field("birth_date", "in the future"), 422, 2),
    (Refused("the policy requires a notice"), 422, 2),
    (Forbidden("role analyst may not unmask"), 403, 4),
    (NotFound("no such measure"), 404, 3),
    (Conflict("the case is approved"), 409, 5),
    (Gone("this customer record was purged"), 410, 6),
    (Unavailable("NATS at 127.0.0.1:4222 does not answer"), 503, 7),
]


@pytest.mark.parametrize(("error", "status", "exit_code"), KINDS)
def test_each_kind_maps_once_for_the_api_and_the_cli(error: Exception, status: int, exit_code: int) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == type(error).title
    if isinstance(error, InvalidInput) and error.fields:
        assert body["fields"] == [{"field": "birth_date", "message": "in the future"}]
    else:
        assert body["detail"] == str(error)

    cli = typer.Typer(cls=CloudcipGroup)

    @cli.command()
    def fails() -> None:
        raise error

    @cli.command()
    def other() -> None:
        pass

    result = CliRunner().invoke(cli, ["fails"])
    assert result.exit_code == exit_code
    assert "error:" in result.output and "Traceback" not in result.output


def test_the_clock_is_injectable_and_instants_read_as_utc() -> None:
    with clock.frozen(date(2027, 1, 31)) as at:
        assert clock.now() == at == datetime(2027, 1, 31, tzinfo=UTC)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    assert clock.parse_instant("2026-01-01", "from") == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.parse_instant("2026-01-01T10:00", "from") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert clock.parse_instant("2026-01-01T10:00:00Z", "from") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert clock.parse_instant("2026-01-01T12:00+02:00", "to") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert clock.iso(datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-01T10:00:00Z"
    assert clock.iso(datetime(2026, 1, 1)) == "2026-01-01T00:00:00Z"
    with pytest.raises(InvalidInput) as raised:
        clock.parse_instant("yesterday", "from")
    assert raised.value.fields[0].field == "from" and "yesterday" not in str(raised.value)
