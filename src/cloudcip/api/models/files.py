"""How a route answering a file or text (PDF, HTML, CSV, Parquet, ZIP) declares it in ``/openapi.json``:
each media type with its schema, a string of text or of bytes (B4)."""

from __future__ import annotations

from typing import Any

_TEXT = ("text/",)


def file_content(*media_types: str) -> dict[str, Any]:
    """``content`` of a 2xx response answering one of ``media_types``."""
    return {media: {"schema": {"type": "string"} if media.startswith(_TEXT)
                    else {"type": "string", "format": "binary"}}
            for media in media_types}


def file_response(description: str, *media_types: str) -> dict[str, Any]:
    """A 2xx response of ``responses=`` answering a file or text of one of ``media_types``."""
    return {"description": description, "content": file_content(*media_types)}
