"""A worker of ``cloudcip serve`` does its one-time work before it takes a connection (A1-A8, D3).

The screening index of the in-force lists (seconds of CPU with the real lists) and the romanisers of
the scripts that need a dictionary loaded (Japanese kanji, Thai, the Brahmic scripts: ~0.6 s each)
are built on first use. Left to the first signups a worker decides, that work lands on customers'
requests (a first decision of several seconds) and, with ``--workers 2``, on whichever worker happens
to get a Japanese or Thai name first. ``warm_up`` does it while the worker starts, before uvicorn
listens; the test client of the test suite does not call it.
"""

from __future__ import annotations

from fastapi import FastAPI

from cloudcip.screening.romanise import readings

#: one name per romanised script whose romaniser loads something on first use (made-up names)
SAMPLE_NAMES: tuple[str, ...] = (
    "山田太郎",  # Han of four characters: pinyin and the Japanese readings (pykakasi's dictionaries)
    "やまだ たろう",  # Japanese kana
    "김민준",  # Hangul
    "สมชาย ใจดี",  # Thai (pythainlp's RTGS engine)
    "राम शर्मा",  # Devanagari (the Brahmic schemes)
    "Иван Петров",  # Cyrillic
    "Ελένη Παπαδοπούλου",  # Greek
    "דוד כהן",  # Hebrew
)


def warm_up(app: FastAPI) -> None:
    """Build the process's screening index and load the romanisers (no record read or written)."""
    app.state.screening.state()
    for name in SAMPLE_NAMES:
        readings(name)
