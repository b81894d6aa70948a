"""Other readings of the letters of a word written in Arabic script, for screening (D3).

anyascii reads each Arabic letter with its Arabic value. Latin lists spell a name as it is said where
the person comes from, and Persian, Urdu, Pashto and Dari say several Arabic letters otherwise; the
French spellings of the Maghreb write others otherwise again. Each convention is one reading of the
word, kept beside the Arabic one as a token alternative (``names``), never in its place:

* **Persian values** (also Urdu, Pashto, Dari): tha is s ("وثيق" Wasiq), dhal, dad and za are z
  ("عوض" Ewaz, "اعظم" Azam, "فیض الله" Faizullah), as in the Persian and Urdu romanisations
  (BGN/PCGN Persian, ALA-LC Persian and Urdu);
* **Maghreb (French) spelling**: shin is ch ("عكاشة" Akkacha, "علوش" Alouche).

A final Persian ye read as the alif maqsura it also writes ("عیسی" Isa) was tried and left out: it
reads the far commoner -i of Persian surnames away too ("احمدی" Ahmadi as Ahmad).

Each reading is given as Arabic letters (the letters that read as the convention says in anyascii:
س for s, ز for z, چ for ch, ى for a), so the reading goes through the same normalisation as the word.
"""

from __future__ import annotations

_PERSIAN_VALUES = str.maketrans({"\u062b": "\u0633", "\u0630": "\u0632", "\u0636": "\u0632", "\u0638": "\u0632"})
_MAGHREB_VALUES = str.maketrans({"\u0634": "\u0686"})


def letter_readings(piece: str) -> list[str]:
    """The word ``piece`` (Arabic script) as each convention above reads it, those that differ from it
    and from each other, in a fixed order (Persian values, then Maghreb spelling)."""
    out: list[str] = []
    for table in (_PERSIAN_VALUES, _MAGHREB_VALUES):
        other = piece.translate(table)
        if other != piece and other not in out:
            out.append(other)
    return out
