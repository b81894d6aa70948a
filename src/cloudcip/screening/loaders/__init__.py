"""Loaders for the designated-persons lists, in the formats the lists are published in (D3, D4).

``load_publication(format, paths)`` reads one publication of a list (OFAC legacy CSV, UN Security
Council XML, BIS Denied Persons List, FollowTheMoney JSON lines, the provider's own CSV) into
normalised ``DesignatedParty`` values, with a SHA-256 over the input bytes so the re-screening job
(D4) can tell whether a list changed. A malformed file raises ``ListFormatError`` naming the file and
the line or element; a loader never returns part of a publication.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cloudcip.domain.designated import DesignatedParty
from cloudcip.errors import InvalidInput

FORMATS = ("ofac-csv", "un-xml", "bis-dpl", "ftm-json", "own-csv")

Progress = Callable[[int, int], None]


class ListFormatError(InvalidInput, ValueError):
    """A list file that cannot be read; names the file, where (``line 17``, ``element INDIVIDUAL #12``) and why.

    The reason never quotes the entry itself (no personal data in errors).
    """

    def __init__(self, file: str, location: str, reason: str) -> None:
        self.file = file
        self.location = location
        self.reason = reason
        super().__init__(f"{file}: {location}: {reason}")


@dataclass(slots=True)
class ListPublication:
    """One publication of a list, as loaded: its parties and where they came from."""

    format: str
    source: str
    parties: list[DesignatedParty]
    files: list[str] = field(default_factory=list)  # basenames, in the order given
    sha256: str = ""  # over the input files' bytes, in order
    published: str | None = None  # publication date or timestamp when the file says so
    missing_parts: list[str] = field(default_factory=list)  # files of the publication not given (OFAC)


def read_list_text(path: Path) -> str:
    """The text of a list file: UTF-8 (a BOM and a trailing DOS end-of-file byte are dropped).

    A binary file or bytes that are not UTF-8 raise ``ListFormatError`` with the line they are on.
    """
    data = path.read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ListFormatError(path.name, f"line {line}", "binary content (NUL byte)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ListFormatError(path.name, f"line {line}", "bytes that are not UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.rstrip("\x1a")


def files_sha256(paths: Sequence[Path]) -> str:
    """SHA-256 over the bytes of ``paths``, in order."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def load_publication(
    format: str,
    paths: Sequence[Path | str],
    *,
    source: str | None = None,
    progress: Progress | None = None,
) -> ListPublication:
    """Load one publication of a list from ``paths`` in ``format`` (one of ``FORMATS``).

    ``source`` names the list in each party (defaults: ``ofac-sdn``/``ofac-cons``/``ofac``, ``un-sc``,
    ``bis-dpl``, ``ftm``, ``own``); ``progress(done, total)`` is called as entries are read.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise ListFormatError("-", "arguments", "no input files")
    for path in files:
        if not path.is_file():
            raise ListFormatError(path.name, "file", "not found or not a regular file")
    missing: list[str] = []
    if format == "ofac-csv":
        from cloudcip.screening.loaders.ofac import load_parts as load_ofac

        parties, src, published, missing = load_ofac(files, source=source, progress=progress)
    elif format == "un-xml":
        from cloudcip.screening.loaders.un import load as load_un

        parties, src, published = load_un(files, source=source, progress=progress)
    elif format == "bis-dpl":
        from cloudcip.screening.loaders.bis import load as load_bis

        parties, src, published = load_bis(files, source=source, progress=progress)
    elif format == "ftm-json":
        from cloudcip.screening.loaders.ftm import load as load_ftm

        parties, src, published = load_ftm(files, source=source, progress=progress)
    elif format == "own-csv":
        from cloudcip.screening.loaders.own import load as load_own

        parties, src, published = load_own(files, source=source, progress=progress)
    else:
        raise ValueError(f"unknown list format {format!r}; expected one of {', '.join(FORMATS)}")
    if not parties:
        raise ListFormatError(", ".join(p.name for p in files), "file", "no entries")
    return ListPublication(
        format=format,
        source=src,
        parties=parties,
        files=[p.name for p in files],
        sha256=files_sha256(files),
        published=published,
        missing_parts=missing,
    )


__all__ = ["FORMATS", "ListFormatError", "ListPublication", "Progress", "load_publication", "read_list_text"]
