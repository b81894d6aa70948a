"""Romanisation of names per script (D3): each scheme's Latin reading kept as a candidate key.

A name written in a non-Latin script is screened under every reading this module gives, beside the
generic transliteration of ``names.fold_text`` (anyascii), and the hit says which path matched:

* **Han** (Chinese): Hanyu Pinyin and Wade-Giles (``pypinyin``), the given name's syllables joined
  (pinyin, "Xiuying") or hyphenated (Wade-Giles, "Hsiu-ying"); a name of four kanji or more also
  gets the Japanese readings;
* **Japanese** (kana, kanji): Hepburn (``pykakasi``) as the dictionary gives it ("Shinzou") and as
  passports write it, long vowels unmarked ("Shinzo");
* **Hangul** (Korean): Revised Romanization (``korean-romanizer``, syllable by syllable, "Gim
  Jeongeun"), the passport spelling (the family name as Koreans usually write it, "Kim Jeongeun")
  and the McCune-Reischauer style of North Korean names (eo/eu as o/u: "Kim Jongun", which meets a
  listed "Kim Jong Un" through the joined-token rule); the given name stays one token, so that one
  syllable in common is not half a name in common;
* **Thai**: RTGS (``pythainlp``'s ``royin`` engine, imported on the first Thai name);
* **Cyrillic**: several schemes for Russian (``iuliia``: Wikipedia, ICAO Doc 9303 as in passports,
  BGN/PCGN, Moscow metro), and the national schemes of Ukrainian, Belarusian, Serbian, Macedonian,
  Bulgarian (``cyrtranslit``) when letters proper to them appear;
* **Hebrew**: consonant for consonant (no maintained romaniser of Hebrew names exists), vav read as
  the vowel carrier (Netanyahu) and as v (David); compared by consonant skeleton like Arabic;
* **Greek**: the letter-for-letter "Greeklish" of ``cyrtranslit`` beside anyascii's ELOT-like reading;
* **Devanagari** and the other Brahmic scripts (Bengali, Gurmukhi, Gujarati, Tamil, Telugu, Kannada,
  Malayalam): IAST (``indic-transliteration``) with and without the final inherent vowel (Hindi
  drops it: "Rahul", not "Rahula"), anusvara as n;
* **Arabic, Persian, Urdu**: no maintained romaniser exists for names, so the generic path does the
  work (consonant skeletons, see ``names``), after the letters proper to Persian and Urdu are folded
  and compounds are joined (``abjad_compounds``: "عبد الله" is one name, Abdullah); a query's word
  also carries the Persian/Urdu and Maghreb readings of its letters (``abjad_readings``: "وثيق"
  Wasiq, "عكاشة" Akkacha) as token alternatives.

Nothing here reaches the network: every library ships its data. A library that fails to import (or
a script with no romaniser) leaves the name to the generic path, which the hit's explanation names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_READINGS = 6
# a name in Han characters only is also read as Japanese from this many characters (Japanese names
# in kanji mostly have four, Chinese names two or three: their Japanese readings would be noise)
JAPANESE_KANJI_NAME = 4


@dataclass(frozen=True, slots=True)
class Reading:
    """One Latin reading of a name: the scheme (``path``) and the text it gives."""

    path: str
    text: str


# --- per-script romanisers: each maps one whitespace-free piece to {path: latin} -----------------


def _han(piece: str) -> dict[str, str]:
    import pypinyin

    out: dict[str, str] = {}
    syllables = pypinyin.lazy_pinyin(piece, errors="ignore")
    wade = pypinyin.lazy_pinyin(piece, style=pypinyin.Style.WADEGILES, errors="ignore")
    if syllables:
        out["pinyin"] = _family_given(syllables, "")
    if wade:
        out["wade-giles"] = _family_given([w.replace("'", "") for w in wade], "")
    return out


def _family_given(syllables: list[str], joiner: str) -> str:
    """A Chinese or Korean name of 2-4 syllables: the first is the family name, the rest the given name."""
    if len(syllables) < 2 or len(syllables) > 4:
        return " ".join(syllables)
    return f"{syllables[0]} {joiner.join(syllables[1:])}"


@lru_cache(maxsize=1)
def _kakasi() -> Any:
    import pykakasi

    make: Any = pykakasi.kakasi
    return make()


_LONG_VOWELS = (("ou", "o"), ("oo", "o"), ("uu", "u"), ("aa", "a"))


def _japanese(piece: str) -> dict[str, str]:
    parts = [p["hepburn"] for p in _kakasi().convert(piece) if p["hepburn"].strip()]
    if not parts:
        return {}
    hepburn = " ".join(parts)
    passport = hepburn
    for long, short in _LONG_VOWELS:
        passport = passport.replace(long, short)
    return {"hepburn": hepburn, "hepburn-passport": passport}


# family names as South Korean passports and the North Korean lists write them (RR differs)
_KOREAN_FAMILY: dict[str, tuple[str, str]] = {
    "김": ("kim", "kim"), "이": ("lee", "ri"), "리": ("lee", "ri"), "박": ("park", "pak"),
    "최": ("choi", "choe"), "정": ("jung", "jong"), "강": ("kang", "kang"), "조": ("cho", "jo"),
    "윤": ("yoon", "yun"), "장": ("jang", "jang"), "임": ("lim", "rim"), "림": ("lim", "rim"),
    "한": ("han", "han"), "오": ("oh", "o"), "서": ("seo", "so"), "신": ("shin", "sin"),
    "권": ("kwon", "kwon"), "황": ("hwang", "hwang"), "안": ("ahn", "an"), "송": ("song", "song"),
    "류": ("ryu", "ryu"), "유": ("yoo", "yu"), "홍": ("hong", "hong"), "전": ("jeon", "jon"),
    "고": ("ko", "ko"), "문": ("moon", "mun"), "양": ("yang", "yang"), "손": ("son", "son"),
    "배": ("bae", "pae"), "백": ("baek", "paek"), "허": ("heo", "ho"), "노": ("noh", "no"),
    "로": ("roh", "ro"), "남": ("nam", "nam"), "심": ("shim", "sim"), "하": ("ha", "ha"),
    "곽": ("kwak", "kwak"), "성": ("sung", "song"), "차": ("cha", "cha"), "주": ("joo", "ju"),
    "우": ("woo", "u"), "구": ("koo", "ku"), "민": ("min", "min"), "지": ("ji", "ji"),
    "엄": ("um", "om"), "채": ("chae", "chae"), "원": ("won", "won"), "천": ("chun", "chon"),
    "방": ("bang", "pang"), "공": ("kong", "kong"), "현": ("hyun", "hyon"), "변": ("byun", "pyon"),
}  # fmt: skip


def _korean_syllables(piece: str) -> list[str]:
    from korean_romanizer.romanizer import Romanizer

    return [Romanizer(ch).romanize() if "\uac00" <= ch <= "\ud7a3" else ch for ch in piece if not ch.isspace()]


def _mr_style(syllable: str) -> str:
    """A Revised-Romanization syllable as McCune-Reischauer writes it without diacritics."""
    return syllable.replace("eo", "o").replace("eu", "u")


def _hangul(piece: str) -> dict[str, str]:
    syllables = _korean_syllables(piece)
    if not syllables:
        return {}
    out = {"revised-romanization": _family_given(syllables, "")}
    if 2 <= len(syllables) <= 4:
        passport, north = _KOREAN_FAMILY.get(piece[0], (syllables[0], _mr_style(syllables[0])))
        given = syllables[1:]
        out["korean-passport"] = f"{passport} {''.join(given)}"
        out["mccune-reischauer"] = f"{north} {''.join(_mr_style(s) for s in given)}"
    return out


def _thai(piece: str) -> dict[str, str]:
    from pythainlp.transliterate import romanize

    text = romanize(piece, engine="royin")
    return {"rtgs": text} if text else {}


_UKRAINIAN = re.compile("[іїєґІЇЄҐ]")
_BELARUSIAN = re.compile("[ўЎ]")
_SERBIAN = re.compile("[јљњћђџЈЉЊЋЂЏ]")
_MACEDONIAN = re.compile("[ѓќѕЃЌЅ]")
_CYRILLIC_SCHEMES = ("WIKIPEDIA", "ICAO_DOC_9303", "BGN_PCGN", "MOSMETRO")
_CARONS = str.maketrans({"č": "ch", "š": "sh", "ž": "zh", "ć": "c", "đ": "dj", "ǵ": "gj", "ḱ": "kj",
                         "Č": "Ch", "Š": "Sh", "Ž": "Zh", "Ć": "C", "Đ": "Dj"})  # fmt: skip


def _cyrillic(piece: str) -> dict[str, str]:
    out: dict[str, str] = {}
    national = None
    if _UKRAINIAN.search(piece):
        national = "ua"
    elif _SERBIAN.search(piece):
        national = "sr"
    elif _MACEDONIAN.search(piece):
        national = "mk"
    elif _BELARUSIAN.search(piece):
        national = "by"
    if national is not None:  # the national scheme first: iuliia's schemes are Russian ones
        import cyrtranslit

        out[f"cyrtranslit-{national}"] = cyrtranslit.to_latin(piece, national).translate(_CARONS)
    import iuliia

    for scheme in _CYRILLIC_SCHEMES:
        out[f"iuliia-{scheme.lower().replace('_', '-')}"] = getattr(iuliia, scheme).translate(piece)
    return out


def _greek(piece: str) -> dict[str, str]:
    import cyrtranslit

    return {"greeklish": cyrtranslit.to_latin(piece, "el")}


# Hebrew, consonant for consonant as names are usually spelt in Latin letters (no maintained Hebrew
# romaniser for names exists): vav read as the vowel carrier w (Netanyahu) and as v (David), bet as b
_HEBREW = str.maketrans({
    "א": "", "ב": "b", "ג": "g", "ד": "d", "ה": "h", "ו": "w", "ז": "z", "ח": "h", "ט": "t", "י": "y",
    "כ": "k", "ך": "kh", "ל": "l", "מ": "m", "ם": "m", "נ": "n", "ן": "n", "ס": "s", "ע": "", "פ": "p",
    "ף": "f", "צ": "tz", "ץ": "tz", "ק": "k", "ר": "r", "ש": "sh", "ת": "t", "׳": "", "״": "",
})  # fmt: skip
_HEBREW_POINTS = re.compile("[\u0591-\u05c7]")  # cantillation and vowel points


def _hebrew(piece: str) -> dict[str, str]:
    bare = _HEBREW_POINTS.sub("", piece)
    vowel = bare.translate(_HEBREW)
    return {"hebrew-consonantal": vowel, "hebrew-consonantal-v": bare.replace("ו", "v").translate(_HEBREW)}


_BRAHMIC = {
    "Devanagari": "DEVANAGARI", "Bengali": "BENGALI", "Gurmukhi": "GURMUKHI", "Gujarati": "GUJARATI",
    "Tamil": "TAMIL", "Telugu": "TELUGU", "Kannada": "KANNADA", "Malayalam": "MALAYALAM", "Oriya": "ORIYA",
}  # fmt: skip
_IAST_VOWELS = "aāiīuūṛṝḷeēoō"
_IAST_ASPIRATES = "kgcjṭḍtdpb"


def _drop_final_schwa(word: str) -> str:
    """Hindi drops a word's final inherent vowel after a single consonant ("rāhula" -> "rāhul"), not
    after a cluster ("narendra")."""
    if len(word) < 3 or not word.endswith("a") or word[-2] in _IAST_VOWELS:
        return word
    consonant_start = len(word) - 2
    if word[-2] == "h" and len(word) >= 4 and word[-3] in _IAST_ASPIRATES:
        consonant_start -= 1
    before = word[consonant_start - 1] if consonant_start >= 1 else ""
    return word[:-1] if before in _IAST_VOWELS or before == "ṃ" or before == "n" else word


def _brahmic(piece: str, script: str) -> dict[str, str]:
    from indic_transliteration import sanscript

    iast = sanscript.transliterate(piece, getattr(sanscript, _BRAHMIC[script]), sanscript.IAST)
    iast = unicodedata.normalize("NFC", iast).replace("ṃ", "n").replace("ṁ", "n")
    # IAST c is the sound English spellings write ch (Bachchan), its aspirate ch is chh
    iast = iast.replace("ch", "\x00").replace("c", "ch").replace("\x00", "chh")
    return {"iast-hindi": " ".join(_drop_final_schwa(w) for w in iast.split()), "iast": iast}


_ROMANISERS: dict[str, Callable[[str], dict[str, str]]] = {
    "Han": _han,
    "Japanese": _japanese,
    "Hangul": _hangul,
    "Thai": _thai,
    "Cyrillic": _cyrillic,
    "Greek": _greek,
    "Hebrew": _hebrew,
}
# scripts that write no short vowels: their readings are compared by consonant skeleton
ABJAD_SCRIPTS: frozenset[str] = frozenset({"Hebrew", "Arabic", "Syriac"})
# scripts whose readings are syllables (and given names of joined syllables): compared strictly
SYLLABIC_SCRIPTS: frozenset[str] = frozenset({"Han", "Hangul"})
for _script in _BRAHMIC:
    _ROMANISERS[_script] = lambda piece, _s=_script: _brahmic(piece, _s)  # type: ignore[misc]

ROMANISED_SCRIPTS: frozenset[str] = frozenset(_ROMANISERS)


@lru_cache(maxsize=20_000)
def _piece_readings(piece: str, script: str) -> tuple[tuple[str, str], ...]:
    romaniser = _ROMANISERS.get(script)
    if romaniser is None:
        return ()
    try:
        found = romaniser(piece)
    except Exception:  # a romaniser that fails leaves the piece to the generic path
        return ()
    extra: dict[str, str] = {}
    if script == "Han" and len(piece) >= JAPANESE_KANJI_NAME:  # kanji only: the Japanese readings too
        try:
            extra = _japanese(piece)
        except Exception:  # the same: the generic path reads it
            extra = {}
    return tuple((path, text) for path, text in {**found, **extra}.items() if text.strip())


def readings(name: str) -> tuple[Reading, ...]:
    """The Latin readings of a name whose letters include a script with a romaniser (else ``()``).

    Each reading romanises every piece of such a script under one scheme and keeps the other pieces
    as written; at most ``MAX_READINGS``.
    """
    from cloudcip.screening.names import script_of

    pieces = name.split()
    scripts = [script_of(p) for p in pieces]
    if not any(s in _ROMANISERS for s in scripts):
        return ()
    per_piece = [_piece_readings(p, s) if s in _ROMANISERS else () for p, s in zip(pieces, scripts, strict=True)]
    paths: list[str] = []
    for options in per_piece:
        for path, _text in options:
            if path not in paths:
                paths.append(path)
    out: list[Reading] = []
    seen: set[str] = set()
    for path in paths:
        words = []
        for piece, options in zip(pieces, per_piece, strict=True):
            chosen = dict(options)
            words.append(chosen.get(path) or (options[0][1] if options else piece))
        text = " ".join(words)
        if text not in seen:
            seen.add(text)
            out.append(Reading(path, text))
        if len(out) >= MAX_READINGS:
            break
    return tuple(out)
