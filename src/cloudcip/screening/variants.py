"""Transliteration variants of one name written in Latin letters (D3).

Names from Arabic, Persian, Pashto and the Slavic languages reach the lists in many Latin spellings
of the same sounds: the short vowels Arabic script does not write come out as any vowel of their
class ("Omar" / "Umar", "Reza" / "Riza", "Mohammad" / "Mohammed"), and a few consonants have
several conventional spellings (ذ/ض/ظ as d, dh, th or z: "Gadhafi" / "Ghathafi" / "Qaddafi"; ق as
q, k, g or gh; خ as kh; ج as j or dj). The spellings of one name then share

* a **loose consonant key** (``loose_key``): the consonants with those alternations folded, vowels,
  w and y dropped, doubled letters collapsed;
* **compatible vowels** (``vowels_compatible``): as many vowel groups, each of the same class or of
  a neighbouring one (a~e, e~i, o~u), so that "Said" (ai) and "Saad" (aa), or "Hassan" and
  "Hussein", stay different names.

``variant_similarity`` gives the similarity two such spellings earn (``gendered_forms`` caps the
feminine and masculine forms of one name: "Julia" is not "Julio"); the candidate index keys its
vocabulary by ``loose_key`` too, so a query reaches spellings more than one edit away.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache


def first_group(match: re.Match[str]) -> str:
    """The replacement of a run of one letter by the letter (the pattern ``(.)\\1+``): what the template
    ``\\1`` gives, without ``re`` expanding a template in Python on every ``sub`` (~1 us each)."""
    return match.group(1)


# the same consonants spelled with or without a digraph, then vowels (and the glides w, y) dropped
_FOLDS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(?<=[aeiou])h$", ""),  # "Fatimah" / "Fatima"
        (r"dzh|dj|j", "J"),
        (r"tch|tsh|ch", "C"),  # ch before h is folded away
        (r"sch|sh|zh", "S"),
        (r"x", "ks"),
        (r"ph", "f"),
        (r"dh|th|dz|d|z|t", "D"),  # ذ ض ظ ط ت
        (r"kh|gh|q|ck|c|k|g", "K"),  # ق, غ, خ (a bare h stays: ح and ه are never k)
        (r"v|w|f", "F"),
        (r"p", "b"),  # Korean p/b (McCune-Reischauer / Revised), Arabic script has no p
        (r"[aeiouy]+", ""),
        (r"(.)\1+", first_group),
    )
)
# ``_FOLDS`` as ``loose_key`` applies them, in the same order: a rule whose alternatives are letters with no
# alternative ending in what another begins (so no two occurrences overlap, and a longer one is replaced
# before one it holds, as the regular expression tries it first) as ``str.replace`` of each alternative in
# turn, done only where the text holds it; the last single-letter rules, whose results no later rule of the
# three reads, with one ``translate``. "kh|gh|q|ck|c|k|g" stays a regular expression: "ck" ends in what "kh"
# begins ("ckh" is "Kh", not "KK"). (The same keys: a test compares them on the index's tokens and random
# strings.)
_FOLD_BY_PATTERN = {regex.pattern: (regex, replacement) for regex, replacement in _FOLDS}
_FINAL_H = _FOLD_BY_PATTERN[r"(?<=[aeiou])h$"][0]
_FOLD_LITERALS: tuple[tuple[str, str], ...] = tuple(
    (literal, str(_FOLD_BY_PATTERN[pattern][1]))
    for pattern in ("dzh|dj|j", "tch|tsh|ch", "sch|sh|zh", "x", "ph", "dh|th|dz|d|z|t")
    for literal in pattern.split("|")
)
_FOLD_K = _FOLD_BY_PATTERN["kh|gh|q|ck|c|k|g"][0]
_FOLD_LAST = str.maketrans({"v": "F", "w": "F", "f": "F", "p": "b", **dict.fromkeys("aeiouy")})
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_VOWEL_CLASS = str.maketrans("aeiouy", "AEIUUI")
_NEIGHBOURS = frozenset({("A", "E"), ("E", "A"), ("E", "I"), ("I", "E")})
_DOUBLES = re.compile(r"(.)\1+")
_GLIDE = re.compile(r"^y(?=[aeiou])")

VOWEL_VARIANT = 0.88  # same consonants exactly, compatible vowels ("omar" / "umar")
CONSONANT_VARIANT = 0.85  # same consonants once folded, compatible vowels ("ghathafi" / "gadhafi")
CONSONANT_SPELLING_FLOOR = 0.75
MIN_LOOSE_KEY = 3  # loose keys shorter than this are shared by too many names to say anything
GENDERED_FORM = 0.74  # "Julia" / "Julio": below the pair floor, another name


@lru_cache(maxsize=200_000)
def loose_key(token: str) -> str:
    """The consonants of an ASCII token with the common transliteration alternations folded."""
    key = _FINAL_H.sub("", token) if "h" in token else token
    for literal, replacement in _FOLD_LITERALS:
        if literal in key:
            key = key.replace(literal, replacement)
    return _DOUBLES.sub(first_group, _FOLD_K.sub("K", key).translate(_FOLD_LAST))


@lru_cache(maxsize=4_096)
def _vowel_classes(group: str) -> str:
    group = _GLIDE.sub("", group)  # "ye", "ya", "yu": the Cyrillic е, я, ю after a consonant
    return _DOUBLES.sub(first_group, group.translate(_VOWEL_CLASS))


def vowel_signature(token: str) -> tuple[str, ...]:
    """The vowel groups of a token as classes (a, e, i/y, o/u), doubled classes collapsed ("ee" is e,
    "ou" is u), an initial vowel marked "^": what ``vowels_compatible`` compares. (The candidate index
    keeps its listed tokens' at build, ``similarity.ListedForms``; the few distinct groups are cached.)"""
    # "w" and "y" between consonants are written vowels ("Husayn"), so they count as vowels here
    groups = _VOWEL_GROUPS.findall(token[1:]) if token[:1] in "yw" else _VOWEL_GROUPS.findall(token)
    signature = list(map(_vowel_classes, groups))
    if token[:1] in "aeiou":
        signature[0] = "^" + signature[0]  # an initial vowel is a vowel, not silence ("Omar", "Umar")
    return tuple(signature)


_vowel_signature = lru_cache(maxsize=200_000)(vowel_signature)  # the query side's tokens


def vowels_compatible(a: str, b: str, b_signature: tuple[str, ...] | None = None) -> bool:
    """Whether two spellings write the same vowels, up to one class apart each (a~e, e~i, o~u).

    Each token's vowel groups are read as classes (``vowel_signature``); the groups must be as many,
    and each pair equal or neighbours. ``b_signature``: ``b``'s, if known.
    """
    sa = _vowel_signature(a)
    sb = _vowel_signature(b) if b_signature is None else b_signature
    if sa == sb:
        return True  # the same groups: nothing below can fail
    if len(sa) != len(sb):
        return False
    for ga, gb in zip(sa, sb, strict=True):
        if ga.startswith("^") != gb.startswith("^"):
            return False
        ga, gb = ga.lstrip("^"), gb.lstrip("^")
        if len(ga) != len(gb):
            return False
        if any(x != y and (x, y) not in _NEIGHBOURS for x, y in zip(ga, gb, strict=True)):
            return False
    return True


def variant_similarity(a: str, b: str, skeleton_equal: bool, spelled: float,
                       b_signature: tuple[str, ...] | None = None) -> float:
    """The similarity two spellings of one name earn as transliteration variants (0 if they are not).

    ``skeleton_equal``: their consonant skeletons (``names.skeleton_key``) are the same; ``spelled``:
    their similarity as spelled; ``b_signature``: ``b``'s ``vowel_signature``, if known.
    """
    if min(len(a), len(b)) < 3 or a.isdigit() or b.isdigit():
        return 0.0
    key = loose_key(a)
    # the skeleton drops w, the loose key does not: "Raden" is not "Radwan" (the cheaper test first)
    if key != loose_key(b) or not vowels_compatible(a, b, b_signature):
        return 0.0
    if skeleton_equal:
        return VOWEL_VARIANT
    # folded consonants say less: long tokens only, spelled alike ("Calik" is not "Galic")
    if len(key) >= MIN_LOOSE_KEY and min(len(a), len(b)) >= 5 and spelled >= CONSONANT_SPELLING_FLOOR:
        return CONSONANT_VARIANT
    return 0.0


def gendered_forms(a: str, b: str) -> bool:
    """Whether two tokens are the feminine and masculine forms of one given name ("Julia" / "Julio",
    "Lucia" / "Lucio"): names of different people, not spellings of one. (The lists do give a
    surname's feminine form as an alias, "Kalashova" for "Kalashov", so an added "a" is not one.)"""
    return len(a) == len(b) >= 4 and a[:-1] == b[:-1] and {a[-1], b[-1]} == {"a", "o"}
