"""A worker of ``cloudcip serve`` does its one-time work before it takes a connection (A1-A8, D3).

The screening index of the in-force lists (seconds of CPU with the real lists) and the romanisers of
the scripts that need a dictionary loaded (Japanese kanji, Thai, the Brahmic scripts: ~0.6 s each)
are built on first use. Left to the first signups a worker decides, that work lands on customers'
requests (a first decision of several seconds) and, with ``--workers 2``, on whichever worker happens
to get a Japanese or Thai name first. The same goes, on a smaller scale, for the stdnum module of a
country's national or registration numbers (5-10 ms on its first use, 36 ms for the first EIN).
``warm_up`` does it while the worker starts, before uvicorn listens; the test client of the test
suite does not call it.

It then moves everything the start built (the index alone is ~1.9 million objects with the real
lists) out of the cyclic garbage collector's reach (``gc.freeze``): a full collection walked all of it,
~0.85 s of CPU in the middle of whichever request triggered it. Those objects live as long as the
process (a rebuilt index after a list change is collected as usual).
"""

from __future__ import annotations

import gc

from cloudcip.identity.national_id import load_schemes
from cloudcip.screening.romanise import readings
from cloudcip.screening.service import ScreeningService

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


def warm_up(screening: ScreeningService) -> None:
    """Build the process's screening index (``screening``: the one the app decides with), load the
    romanisers and the identifier checks' modules (no record read or written), then freeze what the
    start built out of the garbage collector's generations."""
    screening.state()
    for name in SAMPLE_NAMES:
        readings(name)
    load_schemes()  # the stdnum modules of every country's identifiers and registrations
    gc.collect()  # the start's own garbage first: frozen objects are never collected
    gc.freeze()
