"""Perturbation classes of the screening benchmark (D3): how a listed name may reach a signup form.

Each class is a function ``(name, rng) -> str | None`` (None: the class does not apply to this
name, e.g. token drop on a two-token name). The letter maps below are the benchmark's own small
romanisation tables (Latin -> Cyrillic, Latin -> Arabic script); the matcher never sees them and
relies on generic transliteration (anyascii) instead.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

Perturbation = Callable[[str, random.Random], "str | None"]

_WORD = re.compile(r"[A-Za-z]+")

PARTICLE_WORDS = {"al", "el", "bin", "ibn", "abu", "van", "der", "von", "de", "la", "bint"}


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", name) if w]


def typo(name: str, rng: random.Random) -> str | None:
    """One keyboard-style substitution, insertion or deletion inside a token of >= 4 letters."""
    words = _words(name)
    spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not spots:
        return None
    i = rng.choice(spots)
    w = words[i]
    pos = rng.randrange(1, len(w))  # first letters are rarely mistyped
    op = rng.choice(("sub", "ins", "del"))
    letter = rng.choice("aeioulnrstmkdh")
    if op == "sub":
        w = w[:pos] + letter + w[pos + 1 :]
    elif op == "ins":
        w = w[:pos] + letter + w[pos:]
    else:
        w = w[:pos] + w[pos + 1 :]
    words[i] = w
    return " ".join(words)


def transposition(name: str, rng: random.Random) -> str | None:
    """Two adjacent letters swapped inside a token of >= 4 letters."""
    words = _words(name)
    spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not spots:
        return None
    i = rng.choice(spots)
    w = words[i]
    pos = rng.randrange(1, len(w) - 1)
    if w[pos] == w[pos + 1]:
        return None
    words[i] = w[:pos] + w[pos + 1] + w[pos] + w[pos + 2 :]
    return " ".join(words)


_ACCENTS = {"a": "áàâäã", "e": "éèêë", "i": "íìîï", "o": "óòôöõ", "u": "úùûü", "c": "ç", "n": "ñ",
            "s": "şš", "z": "ž", "g": "ğ", "y": "ý"}  # fmt: skip


def diacritics(name: str, rng: random.Random) -> str | None:
    """Accents added to about half of the accentable letters."""
    out = []
    changed = False
    for ch in name:
        low = ch.lower()
        if low in _ACCENTS and rng.random() < 0.5:
            acc = rng.choice(_ACCENTS[low])
            out.append(acc.upper() if ch.isupper() else acc)
            changed = True
        else:
            out.append(ch)
    return "".join(out) if changed else None


_CYRILLIC_DIGRAPHS = [("shch", "щ"), ("kh", "х"), ("zh", "ж"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
                      ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ph", "ф"), ("th", "т")]  # fmt: skip
_CYRILLIC = {"a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и",
             "j": "дж", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р",
             "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "кс", "y": "й", "z": "з"}  # fmt: skip


def to_cyrillic(name: str, rng: random.Random) -> str | None:
    """Latin -> Cyrillic with a common Russian-style romanisation table."""
    del rng

    def word(w: str) -> str:
        low = w.lower()
        out = ""
        i = 0
        while i < len(low):
            for lat, cyr in _CYRILLIC_DIGRAPHS:
                if low.startswith(lat, i):
                    out += cyr
                    i += len(lat)
                    break
            else:
                out += _CYRILLIC.get(low[i], low[i])
                i += 1
        return out.capitalize()

    return _WORD.sub(lambda m: word(m.group(0)), name)


_ARABIC_DIGRAPHS = [("sh", "ش"), ("kh", "خ"), ("th", "ث"), ("dh", "ذ"), ("gh", "غ"), ("ou", "و"),
                    ("oo", "و"), ("ee", "ي"), ("ph", "ف"), ("ch", "تش")]  # fmt: skip
_ARABIC = {"b": "ب", "c": "ك", "d": "د", "f": "ف", "g": "ج", "h": "ه", "j": "ج", "k": "ك", "l": "ل",
           "m": "م", "n": "ن", "p": "ب", "q": "ق", "r": "ر", "s": "س", "t": "ت", "v": "ف", "w": "و",
           "x": "كس", "y": "ي", "z": "ز", "u": "و", "i": "ي"}  # fmt: skip


_ARABIC_PARTICLES = {"bin": "بن", "ben": "بن", "ibn": "ابن", "bint": "بنت", "abu": "ابو", "abou": "ابو",
                     "abd": "عبد", "abdul": "عبد", "abdel": "عبد"}  # fmt: skip
_ARTICLE = re.compile(r"(?i)\b(?:al|el)[- ]+(?=[A-Za-z])")


def to_arabic(name: str, rng: random.Random) -> str | None:
    """Latin -> Arabic script: consonants written, short vowels dropped, long/initial vowels kept.

    Particles take their Arabic spelling (bin -> بن, abu -> ابو) and the article al-/el- is glued
    to its word (العراقي), as Arabic writes them.
    """
    del rng
    name = _ARTICLE.sub("\u0627\u0644", name)

    def word(w: str) -> str:
        low = w.lower()
        if low in _ARABIC_PARTICLES:
            return _ARABIC_PARTICLES[low]
        out = ""
        i = 0
        while i < len(low):
            if i == 0 and low[0] in "aeiou":
                out += "ا"
                i += 1
                continue
            for lat, ar in _ARABIC_DIGRAPHS:
                if low.startswith(lat, i):
                    out += ar
                    i += len(lat)
                    break
            else:
                ch = low[i]
                # a, e, o: short vowels, not written; i, u: written as the long vowels ي, و
                out += _ARABIC.get(ch, "")
                i += 1
        return out

    return _WORD.sub(lambda m: word(m.group(0)), name)


def name_order(name: str, rng: random.Random) -> str | None:
    """"LAST, First Middle" <-> "First Middle LAST", or the first and last token swapped."""
    if "," in name:
        last, _, rest = name.partition(",")
        return f"{rest.strip()} {last.strip()}"
    words = _words(name)
    if len(words) < 2:
        return None
    words[0], words[-1] = words[-1], words[0]
    return " ".join(words)


def token_drop(name: str, rng: random.Random) -> str | None:
    """A middle name dropped, only for names of three tokens or more (persons)."""
    if "," in name:
        last, _, rest = name.partition(",")
        given = _words(rest)
        family = _words(last)
        if len(given) < 2 or len(given) + len(family) < 3:
            return None
        i = rng.randrange(1, len(given))
        return f"{last.strip()}, " + " ".join(given[:i] + given[i + 1 :])
    words = _words(name)
    if len(words) < 3:
        return None
    i = rng.randrange(1, len(words) - 1)
    if words[i].lower().rstrip("-") in PARTICLE_WORDS:
        return None
    return " ".join(words[:i] + words[i + 1 :])


def initials(name: str, rng: random.Random) -> str | None:
    """Given names reduced to initials ("BIN LADEN, Osama" -> "O. BIN LADEN"); particles kept out."""
    del rng
    if "," in name:
        last, _, rest = name.partition(",")
        given = _words(rest)
        family = last.strip()
    else:
        words = _words(name)
        if len(words) < 2:
            return None
        given, family = words[:-1], words[-1]
    given = [g for g in given if g.lower().split("-")[0] not in PARTICLE_WORDS and g[:1].isalpha()]
    if not given:
        return None
    return " ".join(f"{g[0]}." for g in given) + " " + family


_LEGAL_WORDS = {"company", "co", "ltd", "llc", "limited", "inc", "corp", "corporation", "sa", "sas", "sac",
                "cv", "de", "rl", "srl", "sarl", "gmbh", "ag", "kg", "zao", "ooo", "oao", "pao", "ao", "jsc",
                "pjsc", "ojsc", "cjsc", "bv", "nv", "plc", "fze", "fzco", "ltda", "cia", "eood", "doo",
                "pte"}  # fmt: skip


def particles(name: str, rng: random.Random) -> str | None:
    """Remove the particles a name has, or insert one (al-, bin, van der) where it has none."""
    words = _words(name)
    kept = [w for w in words if w.lower().rstrip("-") not in PARTICLE_WORDS]
    if len(kept) < len(words) and kept:
        return " ".join(kept)
    glued = [w for w in words if re.match(r"(?i)^(al|el)-", w)]
    if glued:
        return " ".join(re.sub(r"(?i)^(al|el)-", "", w) for w in words)
    # a particle goes before a name, never before an entity's legal form ("X bin LLC" is no name)
    spots = [i for i in range(1, len(words)) if re.sub(r"[^a-z]", "", words[i].lower()) not in _LEGAL_WORDS]
    if not spots:
        return None
    i = rng.choice(spots)
    particle = rng.choice(("al-", "bin ", "van der "))
    words[i] = particle + words[i]
    return " ".join(words)


_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і",
               "A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "O": "О", "P": "Р",
               "C": "С", "T": "Т", "X": "Х"}  # fmt: skip


def homoglyph(name: str, rng: random.Random) -> str | None:
    """Some Latin letters replaced by their Cyrillic lookalikes."""
    spots = [i for i, ch in enumerate(name) if ch in _HOMOGLYPHS]
    if not spots:
        return None
    chosen = set(rng.sample(spots, max(1, len(spots) // 3)))
    return "".join(_HOMOGLYPHS[ch] if i in chosen else ch for i, ch in enumerate(name))


_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def zero_width(name: str, rng: random.Random) -> str | None:
    """Invisible characters inserted inside the name."""
    if len(name) < 2:
        return None
    chars = list(name)
    for _ in range(rng.randint(1, 3)):
        chars.insert(rng.randrange(1, len(chars)), rng.choice(_ZERO_WIDTH))
    return "".join(chars)


def joined_tokens(name: str, rng: random.Random) -> str | None:
    """Two adjacent tokens written as one."""
    words = _words(name.replace(",", " "))
    if len(words) < 2:
        return None
    i = rng.randrange(0, len(words) - 1)
    return " ".join([*words[:i], words[i] + words[i + 1].lower(), *words[i + 2 :]])


# classes about given and middle names: applied to listed individuals only
PERSON_ONLY: frozenset[str] = frozenset({"token_drop", "initials"})

PERTURBATIONS: dict[str, Perturbation] = {
    "typo": typo,
    "transposition": transposition,
    "diacritics": diacritics,
    "cyrillic": to_cyrillic,
    "arabic": to_arabic,
    "name_order": name_order,
    "token_drop": token_drop,
    "initials": initials,
    "particles": particles,
    "homoglyph": homoglyph,
    "zero_width": zero_width,
    "joined_tokens": joined_tokens,
}
