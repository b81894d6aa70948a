"""One base for every error cloudcip raises on purpose, mapped once for the API and once for the CLI.

Each kind carries the HTTP status the API answers with, the exit code the ``cloudcip`` command ends
with, and a **public detail**: text that may go into a response, a log line or a terminal. A public
detail never holds personal data (a name, a number, an address, an e-mail, an IP address); it names
fields and states, never their values (B2, B4).

Capability packages raise subclasses of these kinds (``ApplicationNotFound(NotFound)``,
``MeasureRefused(Refused)``); ``api.errors.install_error_handlers`` turns any of them into
``{"error": title, "detail": detail}`` (plus ``fields`` for field problems) and
``cli.context.run_command`` into a red ``error:`` line and the kind's exit code. Nothing else maps
them.

Exit codes: 1 a general failure (and :class:`Internal`), 2 invalid input, 3 not found,
4 forbidden (and unauthenticated), 5 conflict, 6 gone, 7 a service cloudcip depends on is unavailable.

A capability's error keeps the builtin parent its callers may rely on
(``class CustomerNotFound(NotFound, LookupError)``) and may carry attributes of its own (the id it
did not find, the problems it found); those never reach the public detail. Every error pickles
whatever its constructor, so errors raised in worker processes reach the parent whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

_E = TypeVar("_E", bound="CloudcipError")
_I = TypeVar("_I", bound="InvalidInput")


@dataclass(frozen=True)
class FieldIssue:
    """One input field at fault (its dotted path) and why, without its value."""

    field: str
    message: str


class CloudcipError(Exception):
    """Base of cloudcip's errors: an HTTP status, a CLI exit code and a public detail."""

    status: ClassVar[int] = 400
    exit_code: ClassVar[int] = 1
    title: ClassVar[str] = "bad request"

    def __init__(self, detail: str = "", *, fields: Iterable[FieldIssue] = ()) -> None:
        self.fields: list[FieldIssue] = list(fields)
        self.public_detail = detail or "; ".join(f"{f.field}: {f.message}" for f in self.fields) or self.title
        super().__init__(self.public_detail)

    def body(self) -> dict[str, Any]:
        """The JSON body of the API's answer."""
        if self.fields:
            return {"error": self.title,
                    "detail": [f"{f.field}: {f.message}" for f in self.fields],
                    "fields": [{"field": f.field, "message": f.message} for f in self.fields]}
        return {"error": self.title, "detail": self.public_detail}

    def headers(self) -> dict[str, str] | None:
        """Extra response headers (e.g. ``WWW-Authenticate``); none by default."""
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt without calling ``__init__`` (subclasses take other arguments), state and all
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(kind: type[_E], args: tuple[Any, ...], state: dict[str, Any]) -> _E:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidInput(CloudcipError):
    """A request or file that cannot be taken as stated; names the fields at fault (422)."""

    status = 422
    exit_code = 2
    title = "invalid request"

    @classmethod
    def field(cls: type[_I], field: str, message: str) -> _I:
        """The error naming one field and what is wrong with it (never its value)."""
        return cls(fields=[FieldIssue(field, message)])


class Refused(InvalidInput):
    """Well-formed, but a rule of cloudcip or of the CIP refuses it (422, naming the field where one is at fault)."""

    title = "refused"


class Unauthenticated(CloudcipError):
    """No credential, or one cloudcip does not know or has revoked (401)."""

    status = 401
    exit_code = 4
    title = "unauthorized"

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(CloudcipError):
    """The actor's role, purpose or legal basis does not allow this (403)."""

    status = 403
    exit_code = 4
    title = "forbidden"


class NotFound(CloudcipError):
    """No such thing (404). The detail names the kind of thing, never the id asked for."""

    status = 404
    exit_code = 3
    title = "not found"


class Conflict(CloudcipError):
    """The thing is not in a state that allows this (409); the detail says which state it is in."""

    status = 409
    exit_code = 5
    title = "conflict"


class Gone(CloudcipError):
    """It existed and was destroyed, e.g. a purged record (410)."""

    status = 410
    exit_code = 6
    title = "gone"


class Unavailable(CloudcipError):
    """A service cloudcip depends on (a broker, a peer) does not answer (503)."""

    status = 503
    exit_code = 7
    title = "unavailable"


class Internal(CloudcipError):
    """cloudcip's own state is not as it must be (a sealed value that does not open, a keyring without
    the key asked for): nothing the caller can change, an operator must look (500)."""

    status = 500
    exit_code = 1
    title = "internal error"
