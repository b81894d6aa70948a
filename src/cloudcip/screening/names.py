"""Name normalisation for screening against designated-persons lists (D3).

A name in any script becomes a short list of comparable ASCII tokens:

1. validation: empty, huge (> 300 characters) or binary/control-character names are refused with
   ``InvalidNameError`` (a ``ValueError``);
2. NFKC, removal of format characters (Unicode category ``Cf``: zero-width spaces and joiners,
   bidi marks, soft hyphens);
3. Cyrillic and Greek homoglyphs inside otherwise-Latin text are mapped to the Latin letters they
   imitate (``Pаvel`` with a Cyrillic ``а`` is ``Pavel``, not ``Pavel`` transliterated to ``Pavel``
   by accident of ``р`` -> ``r``);
4. every other script is transliterated to ASCII with ``anyascii`` (Han and Hangul one syllable per
   token, so that "王秀英" meets "Wang Xiuying" through the joined-token rule);
5. casefold, punctuation removed (apostrophes join, hyphens split), honorifics and generational
   suffixes dropped for individuals, particles (al, bin, van der, ...) dropped as separate tokens and
   offered as an alternative when joined ("alhassan" also reads "hassan"), legal-form words of
   entities (LLC, OOO, GmbH, ...) kept apart as a weak feature; a query's word in Arabic script also
   reads as Persian, Urdu and Maghreb spellings say its letters (``abjad_readings``).

The word lists of step 5 and the legal-form test are in ``name_words``; the phonetic key, consonant
skeleton and token similarity the index and matcher compare tokens with are in ``similarity``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

from anyascii import anyascii

from cloudcip.errors import FieldIssue, InvalidInput
from cloudcip.screening.abjad_readings import letter_readings
from cloudcip.screening.name_words import (
    ABJAD_PARTICLES,
    COMPOUND_ALTERNATIVES,
    GENERATIONAL_SUFFIXES,
    HONORIFICS,
    ORGANIZATION_STOPWORDS,
    PARTICLES,
    ROMAN_NUMERALS,
    glued_particle_alternative,
    glued_suffix_alternative,
    is_legal_form,
    legal_phrase_positions,
)

MAX_NAME_LENGTH = 300


class InvalidNameError(InvalidInput, ValueError):
    """A name that cannot be screened: empty, too long, or binary/control characters (422 naming
    ``name``; the reason never quotes the name)."""

    def __init__(self, reason: str, field: str = "name") -> None:
        super().__init__(fields=[FieldIssue(field, reason)])


# --- character classes -------------------------------------------------------------------------

# Cyrillic and Greek letters that look like Latin ones (upper and lower case).
HOMOGLYPHS_TO_LATIN: dict[str, str] = {
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y", "ɡ": "g", "ё": "e",
    "ї": "i", "Ё": "E", "Ї": "I", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "α": "a", "ν": "v", "ι": "i",
    "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ϲ": "c", "ε": "e",
}  # fmt: skip

_LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")
_CYR_GREEK = re.compile(r"[\u0370-\u03FF\u0400-\u052F]")
_ABJAD = re.compile(r"[\u0590-\u05FF\u0600-\u06FF\u0700-\u074F\u0750-\u077F\u08A0-\u08FF\uFB1D-\uFB4F"
                    r"\uFB50-\uFDFF\uFE70-\uFEFF]")
# Han ideographs and Hangul syllables: one syllable each, transliterated as separate tokens
_SYLLABIC = re.compile(r"([\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uAC00-\uD7AF])")
_ARABIC_ARTICLE = re.compile(r"^\u0627\u0644(?=\S{2,})")  # "ال" glued to the word it defines
# "عبدال..." (Abd al-...): the servant-of compound glued to its article
_ABD_ARTICLE = re.compile(r"^\u0639\u0628\u062f\u0627\u0644(?=\S{2,})")
# "أبوال..." (Abu al-...): the particle glued to the article and the name ("أبواليزيد", Abu al-Yazid)
_ABU_ARTICLE = re.compile(r"^[\u0627\u0623]\u0628\u0648\u0627\u0644(?=\S{2,})")
# compounds Arabic script writes as two words but Latin lists as one name: "عبد الله" (Abdullah),
# "جلال الدين" (Jalaluddin), "حبيب الله" (Habibullah), "أبو بكر" stays two (Abu is a particle)
_ABJAD_COMPOUNDS = re.compile(
    "(\u0639\u0628\u062f)\\s+(?=\u0627\u0644)"  # عبد + ال...
    "|\\s+(?=(?:\u0627\u0644\u0644\u0647|\u0627\u0644\u0644\u06c1|\u0627\u0644\u062f\u064a\u0646"
    "|\u0627\u0644\u062f\u06cc\u0646)(?:\\s|$))"  # ... الله / اللہ / الدين / الدین
)
_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02BB\u02BC\u02BE\u02BF\u00B4]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ALNUM = re.compile(r"[^\W_]")


# --- scripts -----------------------------------------------------------------------------------

# the first word of a letter's Unicode name, for the scripts whose names start otherwise
_SCRIPT_OF_PREFIX: dict[str, str] = {
    "CJK": "Han", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Hangul",
    "HALFWIDTH": "Japanese", "FULLWIDTH": "Latin",
}  # fmt: skip


@lru_cache(maxsize=4096)
def _letter_script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    if first in _SCRIPT_OF_PREFIX:
        return _SCRIPT_OF_PREFIX[first]
    return first.capitalize() if first else "Unknown"


def script_of(text: str) -> str:
    """The script most of a text's letters are written in ("Latin", "Arabic", "Cyrillic", "Han",
    "Japanese" for kana with or without kanji, "Hangul", "Thai", "Greek", "Hebrew", "Devanagari" ...)."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = _letter_script(ch)
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "Unknown"
    if "Japanese" in counts and "Han" in counts:
        return "Japanese"  # kanji with kana around them
    return max(counts.items(), key=lambda item: item[1])[0]


# --- validation and folding --------------------------------------------------------------------


def validate_name(raw: object) -> str:
    """Return the name if it can be screened, else raise ``InvalidNameError`` saying why."""
    if not isinstance(raw, str):
        if isinstance(raw, bytes | bytearray):
            raise InvalidNameError("name is binary data, not text")
        raise InvalidNameError(f"name must be text, not {type(raw).__name__}")
    if len(raw) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"name is too long ({len(raw)} characters; at most {MAX_NAME_LENGTH})")
    if raw.isprintable() and "\ufffd" not in raw and _ALNUM.search(raw):
        return raw  # the common case: printable text with a letter or digit
    for ch in raw:
        cat = unicodedata.category(ch)
        if cat == "Cc" and ch not in "\t\n\r":
            raise InvalidNameError(f"name contains a control character (U+{ord(ch):04X})")
        if cat in ("Cs", "Co", "Cn") or ch == "\ufffd":
            raise InvalidNameError(f"name contains a non-text character (U+{ord(ch):04X})")
    if not raw.strip() or not any(unicodedata.category(c)[0] in "LN" for c in raw):
        raise InvalidNameError("name is empty (no letters or digits)")
    return raw


def _strip_format_chars(text: str) -> str:
    if text.isascii():  # no format character (category Cf) is ASCII
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _map_homoglyphs(token: str) -> str:
    """Map Cyrillic/Greek lookalikes to Latin when the token also holds Latin letters."""
    if _CYR_GREEK.search(token) and _LATIN_LETTER.search(token):
        return "".join(HOMOGLYPHS_TO_LATIN.get(ch, ch) for ch in token)
    return token


def _only_homoglyphs(token: str) -> bool:
    return bool(token) and all(ch in HOMOGLYPHS_TO_LATIN or not ch.isalpha() for ch in token)


def fold_text(raw: str) -> str:
    """NFKC, drop format characters, undo homoglyphs, transliterate to ASCII, casefold.

    Punctuation is kept (the tokeniser decides what it means); the result is ASCII lower case.
    """
    text = _strip_format_chars(unicodedata.normalize("NFKC", raw))
    pieces = text.split()
    has_latin = any(_LATIN_LETTER.search(p) for p in pieces)
    folded: list[str] = []
    for piece in pieces:
        piece = _map_homoglyphs(piece)
        if has_latin and _CYR_GREEK.search(piece) and _only_homoglyphs(piece):
            piece = "".join(HOMOGLYPHS_TO_LATIN.get(ch, ch) for ch in piece)
        piece = _SYLLABIC.sub(r" \1 ", piece)
        folded.append(anyascii(piece))
    return " ".join(folded).casefold()


# --- tokens and names --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameToken:
    """One token of a normalised name.

    ``alternatives`` are other readings of the same token (a glued particle removed, an Arabic
    article removed); ``abjad`` says it was written in a script without short vowels.
    """

    text: str
    alternatives: tuple[str, ...] = ()
    abjad: bool = False
    syllable: bool = False  # one Han or Hangul syllable

    @property
    def is_initial(self) -> bool:
        return len(self.text) == 1 and self.text.isalpha() and not self.abjad


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """A name reduced to comparable tokens, with the legal-form words of an entity kept apart."""

    original: str
    tokens: tuple[NameToken, ...]
    legal_forms: tuple[str, ...] = ()

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.tokens)

    @property
    def key(self) -> str:
        """Order-free key of the name: its sorted token texts joined by a space."""
        return " ".join(sorted(self.texts))

    @property
    def joined(self) -> str:
        return " ".join(self.texts)


_DOTTED = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.)+[^\W\d_])\.?(?![^\W\d_])")


# a web address given as a name: an optional scheme and "www.", labels, an optional path
_WEB_ADDRESS = re.compile(r"^(?:https?://)?(?:www\.)?((?:[\w-]+\.)+[a-z]{2,6})/?$", re.IGNORECASE)


def _site_name(host: str) -> str:
    """The name in a host name: the labels before its top-level (and short second-level) domain."""
    labels = host.split(".")
    while len(labels) > 1 and len(labels[-1]) <= 3:
        labels.pop()  # "com", "pe", "co.uk": no part of the name
    return " ".join(labels)


def _join_dotted_legal_form(match: re.Match[str]) -> str:
    letters = match.group(1).replace(".", "")
    return letters if is_legal_form(anyascii(letters).casefold()) else match.group(0)


def _join_dotted(match: re.Match[str]) -> str:
    return match.group(1).replace(".", "")


_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015/,.;:()\[\]{}\"+&|_]+")


def _split_raw(text: str, entity: bool = False) -> list[str]:
    # hyphens, slashes, dots and commas separate tokens; apostrophes join; "S.A." is one token, and
    # so is an entity's dotted acronym ("D.E.S. INTERNATIONAL" is "DES INTERNATIONAL")
    join = _join_dotted if entity else _join_dotted_legal_form
    text = _DOTTED.sub(join, _APOSTROPHES.sub("", text))
    return [p for p in _SEPARATORS.split(text) if p]


@lru_cache(maxsize=100_000)
def _piece_tokens(piece: str, has_latin: bool, entity: bool) -> tuple[NameToken, ...]:
    """The tokens of one whitespace/punctuation-separated piece of a name (cached: names repeat)."""
    piece = _map_homoglyphs(piece)
    if has_latin and _CYR_GREEK.search(piece) and _only_homoglyphs(piece):
        piece = "".join(HOMOGLYPHS_TO_LATIN.get(ch, ch) for ch in piece)
    abjad = bool(_ABJAD.search(piece))
    article_free = _article_free(piece) if abjad else None
    syllabic = bool(_SYLLABIC.search(piece))
    if abjad:  # Persian zhe: Latin spellings write it j (Ahmadinejad) more often than zh
        piece = piece.replace("\u0698", "j")
    spaced = _SYLLABIC.sub(r" \1 ", piece) if syllabic else piece  # (re expands the template even for none)
    ascii_piece = _APOSTROPHES.sub("", anyascii(spaced)).casefold()
    tokens: list[NameToken] = []
    for sub in _NON_ALNUM.split(ascii_piece):
        if not sub:
            continue
        alternatives: list[str] = []
        if article_free and article_free != sub:
            alternatives.append(article_free)
        else:
            glued = COMPOUND_ALTERNATIVES.get(sub) or glued_particle_alternative(sub)
            if glued:
                alternatives.append(glued)
            suffix_free = glued_suffix_alternative(sub, entity)
            if suffix_free and suffix_free not in alternatives:
                alternatives.append(suffix_free)
        if abjad:
            alternatives.extend(a for a in _abjad_alternatives(piece, sub) if a not in alternatives)
        tokens.append(NameToken(sub, tuple(alternatives), abjad, syllabic))
    return tuple(tokens)


def _article_free(piece: str) -> str | None:
    """A word in Arabic script without its article, as ASCII ("عبدالرحيم": "bd" + "rhym"), or None."""
    if _ABD_ARTICLE.match(piece):
        return "bd" + _NON_ALNUM.sub("", anyascii(_ABD_ARTICLE.sub("", piece)).casefold())
    if _ABU_ARTICLE.match(piece):  # the particle and the article are no part of the name
        return _NON_ALNUM.sub("", anyascii(_ABU_ARTICLE.sub("", piece)).casefold())
    if _ARABIC_ARTICLE.match(piece):
        return _NON_ALNUM.sub("", anyascii(_ARABIC_ARTICLE.sub("", piece)).casefold())
    return None


@lru_cache(maxsize=20_000)
def _with_letter_readings(token: NameToken, piece: str) -> NameToken:
    """The token of a one-token word in Arabic script with the word's other letter readings
    (``abjad_readings``: Persian and Urdu values, Maghreb spelling) as more alternatives (cached)."""
    alternatives = list(token.alternatives)
    for other in letter_readings(piece):
        text = _NON_ALNUM.sub("", _APOSTROPHES.sub("", anyascii(other.replace("\u0698", "j"))).casefold())
        found = [text, _article_free(other), *_abjad_alternatives(other, text)]
        alternatives.extend(a for a in found if a and a != token.text and a not in alternatives)
    return token if len(alternatives) == len(token.alternatives) else replace(token, alternatives=tuple(alternatives))


_TA_MARBUTA = "\u0629"
# "... الدين" glued to the name before it (``_ABJAD_COMPOUNDS``): its article assimilates to the d
# in Latin spellings ("Nasiruddin", "Noureddine", "Saduddin"), so the l is not written
_DIN_COMPOUND = re.compile(r"(?<=\w)\u0627\u0644\u062f(?:\u064a|\u06cc)\u0646$")


def _abjad_alternatives(piece: str, token: str) -> list[str]:
    """Other readings of a token written in Arabic script: a final ta marbuta read t (the construct
    state: "عصبة الأنصار" is "Asbat al-Ansar"), and a "-ud-din" compound without the article's l."""
    out: list[str] = []
    if piece.endswith(_TA_MARBUTA) and token.endswith("h") and len(token) > 2:
        out.append(token[:-1] + "t")
    if _DIN_COMPOUND.search(piece) and token.endswith("ldyn"):
        out.append(token[:-4] + "dyn")
    return out


def _join_syllables(tokens: tuple[NameToken, ...]) -> NameToken:
    return NameToken("".join(t.text for t in tokens), (), False, True)


def normalise_name(raw: str, schema: str | None = None, *, query: bool = False) -> NormalisedName:
    """Normalise one name (see the module docstring). ``schema`` is "Person", "Organization" or None.

    ``query``: a name being screened (D3). A word of it written in an abjad that reads as one consonant
    ("دعاء", Du'a: its other letters are ayn, hamza and a long vowel) is kept, as a word the customer
    wrote that the listed name must account for; a listed name drops it with the abbreviations (in the
    index's vocabulary its letter would stand for a Latin initial too).

    Raises ``InvalidNameError`` for empty, huge or binary names.
    """
    validate_name(raw)
    text = _strip_format_chars(unicodedata.normalize("NFKC", raw))
    if _ABJAD.search(text):
        text = _ABJAD_COMPOUNDS.sub(lambda m: m.group(1) or "", text)
    if schema != "Person" and (site := _WEB_ADDRESS.match(text.strip())):
        text = _site_name(site.group(1))  # "WWW.SERCUBA.COM" is SERCUBA
    if schema != "Organization" and text.count(",") == 1:
        # "TURAB, Abu" is "Abu Turab": the list's surname-first form put back in reading order, so a
        # particle leads the name it belongs to
        family, _, given = text.partition(",")
        if family.strip() and given.strip():
            text = f"{given} {family}"
    raw_pieces = _split_raw(text, schema == "Organization")
    has_latin = any(_LATIN_LETTER.search(p) for p in raw_pieces)

    entity = schema != "Person"
    tokens: list[NameToken] = []
    # by ``id``: single letters written in an abjad ("س.ا." for S.A.), or two (a Latin abbreviation or
    # word in Arabic letters: "اد" for AD, "او" for OY)
    abbreviations: set[int] = set()
    for piece in raw_pieces:
        piece_tokens = _piece_tokens(piece, has_latin, entity)
        if query and len(piece_tokens) == 1 and piece_tokens[0].abjad:
            piece_tokens = (_with_letter_readings(piece_tokens[0], piece),)
        if len(piece) <= 2 and piece_tokens and piece_tokens[0].abjad:
            abbreviations.add(id(piece_tokens[0]))
        if len(piece_tokens) >= 2 and all(t.syllable for t in piece_tokens):
            # Han/Hangul: a given name's syllables are one name ("秀英" is Xiuying, not Xiu + Ying);
            # a piece of three or more syllables starts with the family name
            if len(piece_tokens) >= 3:
                piece_tokens = (piece_tokens[0], _join_syllables(piece_tokens[1:]))
            elif len(raw_pieces) > 1:
                piece_tokens = (_join_syllables(piece_tokens),)
        tokens.extend(piece_tokens)

    texts = [t.text for t in tokens]
    legal: list[str] = []
    if schema != "Person":
        in_phrase = legal_phrase_positions([t.text for t in tokens])
        is_legal = [i in in_phrase or is_legal_form(t.text, t.abjad) for i, t in enumerate(tokens)]
        kept = [t for t, flag in zip(tokens, is_legal, strict=True) if not flag]
        if kept and len(kept) < len(tokens):
            legal = [t.text for t, flag in zip(tokens, is_legal, strict=True) if flag]
            tokens = kept
        if schema == "Organization":
            kept = [t for t in tokens if t.text not in ORGANIZATION_STOPWORDS]
            tokens = kept or tokens
    if entity and len(tokens) > 1 and tokens[-1].text in ROMAN_NUMERALS:
        # "MARIE DE LOURDES V": the number of a vessel or company in a series, not an initial
        tokens = [*tokens[:-1], NameToken(str(ROMAN_NUMERALS[tokens[-1].text]))]
    if schema != "Organization":
        # honorifics in front, generational suffixes at the end (Latin words: an abjad word's consonants
        # may spell one, "عامر" is "mr" and "فارع" "fr", and are a name)
        while len(tokens) > 1 and tokens[0].text in HONORIFICS and not tokens[0].abjad:
            tokens = tokens[1:]
        while len(tokens) > 1 and tokens[-1].text in GENERATIONAL_SUFFIXES and not tokens[-1].abjad:
            tokens = tokens[:-1]
    # separate particles carry no identity ("Osama bin Laden" ~ "Osama Laden" ~ "Osama Binladen")
    # (a particle leads the name it belongs to: a last token is a name, e.g. the Vietnamese "Lê")
    last = len(tokens) - 1
    without_particles = [
        t
        for i, t in enumerate(tokens)
        if i == last or t.syllable or t.text not in (ABJAD_PARTICLES if t.abjad else PARTICLES)
    ]
    if without_particles:
        tokens = without_particles
    # a single letter written in an abjad is an abbreviation ("س.ا." for S.A.), not an initial; in a
    # query, a word of three letters or more whose others are ayn, hamza or long vowels ("دعاء", Du'a:
    # "d") is a name all the same
    without_letters = [
        t for t in tokens if not (t.abjad and len(t.text) == 1 and (not query or id(t) in abbreviations))
    ]
    if without_letters:
        tokens = without_letters
    if not tokens:  # only punctuation-like words: keep what there was
        tokens = [NameToken(t) for t in texts]
    return NormalisedName(original=raw, tokens=tuple(tokens), legal_forms=tuple(legal))


def normalise_identifier(value: str) -> str:
    """Document numbers: upper-case letters and digits only ("AB 123-456" -> "AB123456")."""
    return re.sub(r"[^0-9A-Z]", "", anyascii(unicodedata.normalize("NFKC", value)).upper())


def normalise_email(value: str) -> str:
    return value.strip().casefold()


def normalise_wallet(value: str) -> str:
    """Wallet addresses: trimmed; hex (0x...) and bech32 (bc1..., ltc1...) forms lower-cased."""
    v = value.strip()
    low = v.lower()
    if low.startswith("0x") or re.match(r"^[a-z]{1,4}1[02-9ac-hj-np-z]{6,}$", low):
        return low
    return v
