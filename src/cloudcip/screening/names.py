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
   entities (LLC, OOO, GmbH, ...) kept apart as a weak feature.

Each token also has a *phonetic key* (romanisation variants folded: kh/h, ph/f, w/v, y/i, doubled
letters, ...) and a *consonant skeleton* (vowels dropped), used by the candidate index for blocking
and by the matcher for names written in abjad scripts (Arabic, Hebrew, Syriac) whose transliteration
carries no short vowels.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import OSA, JaroWinkler

from cloudcip.errors import FieldIssue, InvalidInput
from cloudcip.screening.variants import (
    GENDERED_FORM,
    MIN_LOOSE_KEY,
    VOWEL_VARIANT,
    gendered_forms,
    loose_key,
    variant_similarity,
)

MAX_NAME_LENGTH = 300


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


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

HONORIFICS: frozenset[str] = frozenset(
    _wordset("""mr mrs ms miss mister madam madame mme mlle dr doctor prof professor sir dame lord lady
    sheikh shaikh sheik shaykh cheikh haji hajji hadji haj hajj alhaji alhaj mullah mulla maulana
    maulvi mawlawi mufti ayatollah hojatoleslam
    herr frau senor senora sr sra don dona gen general col colonel maj major capt captain lt
    lieutenant brig brigadier adm admiral cmdr commander sgt sergeant hon honourable honorable rev
    reverend fr father pastor bishop prince princess eng engr engineer""")
)
GENERATIONAL_SUFFIXES: frozenset[str] = _wordset("jr jnr snr ii iii iv")

PARTICLES: frozenset[str] = frozenset(
    _wordset("""al el ul ad ar as at az bin ibn bint binti abu abou bou ould walad
    van von der den de del della dei degli di da das do dos du la le ter ten vom zu zum zur""")
)
# the same particles written in Arabic script, as anyascii gives them: ال, بن/ابن, بنت, ابو
ABJAD_PARTICLES: frozenset[str] = _wordset("l al bn ibn bnt bw abw")
# particles that appear glued to the following word ("alhassan", "binladen", "vandermeer")
_GLUED_PARTICLES: tuple[str, ...] = (
    "vander", "vanden", "vonder", "bint", "abu", "abou", "bin", "ibn", "van", "von", "der",
    "al", "el", "ul",
)  # fmt: skip

LEGAL_FORMS: frozenset[str] = frozenset(
    _wordset("""llc ltd lc limited inc incorporated corp corporation co company cos plc lp llp lllp pllc
    ooo oao zao pao ao tov pat prat tdv dp ip chp
    gmbh mbh ag kg ohg ug ev eg se sa sas sarl eurl sasu snc sca sc sci srl spa sapa snc
    bv nv vof cv sl slu sau sll
    ab oy oyj asa as aps a/s hf
    kft zrt nyrt rt sro as doo dd ad ood eood jsc ojsc cjsc pjsc ojs cjs ooo tzov
    kk yk gk liability joint stock sociedad anonima limitada
    pte pty pvt private sdn bhd tbk pt cv fze fzco fzc fzllc fz llc est establishment
    ltda eirl sac saa sa de rl
    jv""")
)
_GLUED_SUFFIX_PARTICLES: tuple[str, ...] = (
    "bin", "ibn", "abu", "van", "von", "der", "del", "al", "ul", "de",
)  # fmt: skip
_GLUED_LEGAL_FORMS: tuple[str, ...] = tuple(
    sorted((f for f in LEGAL_FORMS if len(f) >= 2 and f.isalpha()), key=len, reverse=True)
)
# legal forms written out in words ("Limited Liability Company", "Joint Stock Company")
LEGAL_PHRASES: tuple[tuple[str, ...], ...] = (
    ("limited", "liability", "company"),
    ("limited", "liability", "partnership"),
    ("closed", "joint", "stock", "company"),
    ("open", "joint", "stock", "company"),
    ("public", "joint", "stock", "company"),
    ("joint", "stock", "company"),
    ("public", "limited", "company"),
    ("private", "limited", "company"),
    ("societe", "anonyme"),
    ("sociedad", "anonima"),
    ("sociedad", "limitada"),
    ("societa", "per", "azioni"),
    ("obshchestvo", "s", "ogranichennoi", "otvetstvennostiu"),
    ("obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"),
    ("aktsionernoe", "obshchestvo"),
    ("tovarystvo", "z", "obmezhenoiu", "vidpovidalnistiu"),
)
ROMAN_NUMERALS: dict[str, int] = {
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10,
    "xi": 11, "xii": 12,
}  # fmt: skip
# legal forms that contradict each other: a limited-liability company (no shares) is not a
# joint-stock company; the others (Ltd, Inc, Co, Corp ...) may be either
LIMITED_LIABILITY_FORMS: frozenset[str] = _wordset(
    "llc ooo tov gmbh mbh sarl srl sro kft doo ood eood ltda eirl sl slu sll sp tzov pllc bhd")
JOINT_STOCK_FORMS: frozenset[str] = _wordset(
    "jsc ojsc cjsc pjsc ao oao zao pao pat prat ag sa nv spa sapa asa oyj zrt nyrt sas sau dd ad tbk kk")
# Arabic theophoric compounds written glued: "Abdul" is "Abd" + article
COMPOUND_ALTERNATIVES: dict[str, str] = {
    "abdul": "abd", "abdel": "abd", "abdal": "abd", "abdoul": "abd", "abdol": "abd", "abdoel": "abd",
}  # fmt: skip
# connecting words of organisation names that carry no identity of their own
ORGANIZATION_STOPWORDS: frozenset[str] = _wordset("the and of for und et y e")


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


# --- phonetic key and skeleton -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Rewrite:
    """One rewriting rule: literal alternatives (fast ``str.replace``) or a regular expression."""

    pattern: str
    replacement: str
    literals: tuple[str, ...] | None
    regex: re.Pattern[str] | None

    @classmethod
    def of(cls, pattern: str, replacement: str) -> _Rewrite:
        alternatives = tuple(pattern.split("|"))
        if all(re.escape(a) == a for a in alternatives):
            return cls(pattern, replacement, alternatives, None)
        return cls(pattern, replacement, None, re.compile(pattern))

    def apply(self, text: str) -> str:
        if self.literals is None:
            assert self.regex is not None
            return self.regex.sub(self.replacement, text)
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, self.replacement)
        return text


_PHONETIC_RULES: tuple[_Rewrite, ...] = tuple(
    _Rewrite.of(p, r)
    for p, r in (
        (r"x", "ks"),
        (r"shch", "sh"),
        (r"sch", "sh"),
        (r"dzh|dj|zh", "j"),
        (r"kh", "h"),
        (r"gh", "g"),
        (r"ph", "f"),
        (r"th", "t"),
        (r"dh", "d"),
        (r"ck", "k"),
        (r"ch", "\x01"),  # protect "ch" from c -> k
        (r"tz|ts", "c"),
        (r"c", "k"),
        ("\x01", "ch"),
        (r"q", "k"),
        (r"w", "v"),
        (r"y", "i"),
        (r"ee|ie", "i"),
        (r"oo|ou|ow", "u"),
        (r"ei|ey|ai|ay", "ai"),
        (r"(.)\1+", r"\1"),
        (r"(?<=[aeiou])h$", ""),
    )
)
_ABJAD_FOLD = str.maketrans("pvg", "bfj")


@lru_cache(maxsize=200_000)
def phonetic_key(token: str) -> str:
    """Fold common romanisation variants of one ASCII token (kh/h, ph/f, w/v, y/i, doubles...)."""
    key = token
    for rule in _PHONETIC_RULES:
        key = rule.apply(key)
    return key


_SKELETON_RULES: tuple[_Rewrite, ...] = tuple(
    _Rewrite.of(p, r)
    for p, r in (
        (r"tsh", "ch"),  # Arabic script writes "ch" as t + sh
        (r"w", ""),  # w is also the long-vowel carrier of abjads
        (r"x", "ks"),
        (r"ph", "f"),
        (r"ch", "\x01"),
        (r"ck|c|q", "k"),
        ("\x01", "ch"),
        (r"[aeiouy]+", ""),
    )
)


@lru_cache(maxsize=200_000)
def skeleton_key(token: str) -> str:
    """Consonant skeleton of one ASCII token: vowels, w and a final h dropped, doubles collapsed.

    "Mohammed", "Muhammad" and the transliteration of Arabic "محمد" ("mhmd") all give ``mhmd``.
    Letters Arabic script lacks are folded to the ones it writes them with (p -> b, v -> f, g -> j).
    """
    key = token
    for rule in _SKELETON_RULES:
        key = rule.apply(key)
    key = _DOUBLES.sub(r"\1", key.translate(_ABJAD_FOLD))
    if len(key) > 1 and key.endswith("h"):
        key = key[:-1]
    return key or token[:1]


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


def _legal_phrase_positions(texts: list[str]) -> set[int]:
    """Positions of tokens that belong to a legal form written out in words (also transliterated)."""
    keys = tuple(phonetic_key(t) for t in texts)
    found: set[int] = set()
    for phrase in _LEGAL_PHRASE_KEYS:
        n = len(phrase)
        for start in range(len(keys) - n + 1):
            if keys[start : start + n] == phrase:
                found.update(range(start, start + n))
    return found


@lru_cache(maxsize=100_000)
def _glued_suffix_alternative(token: str, entity: bool) -> str | None:
    """"husainal" -> "husain", "developersinc" -> "developers" (entities only for legal forms)."""
    for suffix in _GLUED_SUFFIX_PARTICLES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    if entity:
        for word in ("and", "for", "the", "of"):
            if token.startswith(word) and len(token) - len(word) >= 4:
                return token[len(word) :]
            if token.endswith(word) and len(token) - len(word) >= 4:
                return token[: -len(word)]
        for suffix in _GLUED_LEGAL_FORMS:
            if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                return token[: -len(suffix)]
    return None


@lru_cache(maxsize=100_000)
def _glued_particle_alternative(token: str) -> str | None:
    for particle in _GLUED_PARTICLES:
        if token.startswith(particle) and len(token) - len(particle) >= 3:
            rest = token[len(particle) :]
            deeper = _glued_particle_alternative(rest)
            return deeper or rest
    return None


_DOTTED = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.)+[^\W\d_])\.?(?![^\W\d_])")


def _join_dotted_legal_form(match: re.Match[str]) -> str:
    letters = match.group(1).replace(".", "")
    return letters if is_legal_form(anyascii(letters).casefold()) else match.group(0)


@lru_cache(maxsize=50_000)
def is_legal_form(token: str, abjad: bool = False) -> bool:
    """Whether an ASCII token is a legal-form word of an entity (also as transliterated back, or
    mistyped by one letter when it is a long word such as "company" or "limited")."""
    if token in LEGAL_FORMS or (len(token) > 1 and phonetic_key(token) in _LEGAL_FORM_KEYS):
        return True
    if abjad:
        return skeleton_key(token) in _LEGAL_FORM_SKELETONS
    return len(token) >= 5 and any(OSA.distance(token, word) <= 1 for word in _LONG_LEGAL_WORDS)


def _join_dotted(match: re.Match[str]) -> str:
    return match.group(1).replace(".", "")


def _split_raw(text: str, entity: bool = False) -> list[str]:
    # hyphens, slashes, dots and commas separate tokens; apostrophes join; "S.A." is one token, and
    # so is an entity's dotted acronym ("D.E.S. INTERNATIONAL" is "DES INTERNATIONAL")
    join = _join_dotted if entity else _join_dotted_legal_form
    text = _DOTTED.sub(join, _APOSTROPHES.sub("", text))
    return [p for p in re.split(r"[\s\-\u2010-\u2015/,.;:()\[\]{}\"+&|_]+", text) if p]


@lru_cache(maxsize=100_000)
def _piece_tokens(piece: str, has_latin: bool, entity: bool) -> tuple[NameToken, ...]:
    """The tokens of one whitespace/punctuation-separated piece of a name (cached: names repeat)."""
    piece = _map_homoglyphs(piece)
    if has_latin and _CYR_GREEK.search(piece) and _only_homoglyphs(piece):
        piece = "".join(HOMOGLYPHS_TO_LATIN.get(ch, ch) for ch in piece)
    abjad = bool(_ABJAD.search(piece))
    article_free: str | None = None
    if abjad and _ABD_ARTICLE.match(piece):  # "عبدالرحيم": also "bd" + "rhym" without the article
        rest = _NON_ALNUM.sub("", anyascii(_ABD_ARTICLE.sub("", piece)).casefold())
        article_free = "bd" + rest
    elif abjad and _ARABIC_ARTICLE.match(piece):
        article_free = _NON_ALNUM.sub("", anyascii(_ARABIC_ARTICLE.sub("", piece)).casefold())
    syllabic = bool(_SYLLABIC.search(piece))
    if abjad:  # Persian zhe: Latin spellings write it j (Ahmadinejad) more often than zh
        piece = piece.replace("\u0698", "j")
    ascii_piece = _APOSTROPHES.sub("", anyascii(_SYLLABIC.sub(r" \1 ", piece))).casefold()
    tokens: list[NameToken] = []
    for sub in _NON_ALNUM.split(ascii_piece):
        if not sub:
            continue
        alternatives: list[str] = []
        if article_free and article_free != sub:
            alternatives.append(article_free)
        else:
            glued = COMPOUND_ALTERNATIVES.get(sub) or _glued_particle_alternative(sub)
            if glued:
                alternatives.append(glued)
            suffix_free = _glued_suffix_alternative(sub, entity)
            if suffix_free and suffix_free not in alternatives:
                alternatives.append(suffix_free)
        tokens.append(NameToken(sub, tuple(alternatives), abjad, syllabic))
    return tuple(tokens)


def _join_syllables(tokens: tuple[NameToken, ...]) -> NameToken:
    return NameToken("".join(t.text for t in tokens), (), False, True)


def normalise_name(raw: str, schema: str | None = None) -> NormalisedName:
    """Normalise one name (see the module docstring). ``schema`` is "Person", "Organization" or None.

    Raises ``InvalidNameError`` for empty, huge or binary names.
    """
    validate_name(raw)
    text = _strip_format_chars(unicodedata.normalize("NFKC", raw))
    if _ABJAD.search(text):
        text = _ABJAD_COMPOUNDS.sub(lambda m: m.group(1) or "", text)
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
    for piece in raw_pieces:
        piece_tokens = _piece_tokens(piece, has_latin, entity)
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
        in_phrase = _legal_phrase_positions([t.text for t in tokens])
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
        # honorifics in front, generational suffixes at the end
        while len(tokens) > 1 and tokens[0].text in HONORIFICS:
            tokens = tokens[1:]
        while len(tokens) > 1 and tokens[-1].text in GENERATIONAL_SUFFIXES:
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
    # a single letter written in an abjad is an abbreviation ("س.ا." for S.A.), not an initial
    without_letters = [t for t in tokens if not (t.abjad and len(t.text) == 1)]
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


# --- token similarity ---------------------------------------------------------------------------

SKELETON_MATCH = 0.88  # consonant skeletons equal: the best an abjad transliteration can prove
LOOSE_SKELETON_MATCH = 0.85  # equal once the consonants' Latin conventions are folded (``variants``)
PHONETIC_MATCH = 0.96  # same phonetic key, different spelling ("Mokhammed" / "Mohammed")


ABJAD_VOWEL_CONFLICT = 0.13  # the abjad spelling writes a long vowel the Latin one lacks


_FRONT_VOWELS = re.compile(r"[eiy]+")
_BACK_VOWELS = re.compile(r"[ouw]+")
_DOUBLES = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def _abjad_form(token: str) -> str:
    """How a token would look written in an abjad: consonants, long-vowel carriers y and w."""
    key = token
    for rule in _SKELETON_RULES[:-1]:  # all but the vowel removal
        if rule.pattern != "w":
            key = rule.apply(key)
    key = _FRONT_VOWELS.sub("y", _BACK_VOWELS.sub("w", key.replace("a", "")))
    key = _DOUBLES.sub(r"\1", key.translate(_ABJAD_FOLD))
    return key[:-1] if len(key) > 1 and key.endswith("h") else key


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


@lru_cache(maxsize=200_000)
def _vowel_letters(token: str) -> int:
    return sum(token.count(v) for v in "aeiou")


def _long_vowels_agree(a: str, b: str) -> bool:
    """Every long vowel (y, w) the abjad-written token shows has a vowel in the other token.

    "hsyn" (حسين) agrees with "hussein" but not with "hassan" (حسن) nor "ehsan".
    """
    abjad, other = (a, b) if _vowel_letters(a) * len(b) <= _vowel_letters(b) * len(a) else (b, a)
    return _is_subsequence(_abjad_form(abjad), _abjad_form(other))


SHORT_SWAP = 0.86  # "eirc" / "eric"
SHORT_INNER_INDEL = 0.79  # "fud" / "fund"
SHORT_EXTENSION = 0.78  # "chen" / "cheng", "davi" / "david", "ali" / "mali"
SHORT_SUBSTITUTION = 0.70  # "wang" / "kang"


def _short_token_similarity(a: str, b: str) -> float:
    """Short tokens: one edit is often already another name ("Wang"/"Kang", "Chen"/"Cheng").

    A swap of two letters is a typo; a letter missing inside a token is likely one; a letter
    substituted or a letter added at the end more likely another name.
    """
    if OSA.distance(a, b) != 1:
        return OSA.normalized_similarity(a, b) - 0.04
    if len(a) == len(b):
        return SHORT_SWAP if sorted(a) == sorted(b) else SHORT_SUBSTITUTION
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    extended = longer.startswith(shorter) or longer.endswith(shorter)
    return SHORT_EXTENSION if extended else SHORT_INNER_INDEL


def spelled_similarity(a: str, b: str) -> float:
    """Similarity of two spellings only (no phonetic folding): Jaro-Winkler and OSA, averaged."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) <= 4:
        return _short_token_similarity(a, b)
    return 0.5 * (JaroWinkler.normalized_similarity(a, b) + OSA.normalized_similarity(a, b))


def token_similarity(query: str, listed: str, abjad: bool = False) -> float:
    """Similarity in [0, 1] of two ASCII tokens.

    Mix of Jaro-Winkler (prefix-friendly, forgiving of one typo in a long token) and OSA
    (edit distance with adjacent transposition, strict on short tokens), on the spelling and on the
    phonetic key. ``abjad`` (either token came from Arabic/Hebrew script) compares consonant
    skeletons instead, as the vowels are not written there.
    """
    if query == listed:
        return 1.0
    if query.isdigit() or listed.isdigit():
        return 0.0  # numbers ("HORMUZ 2" / "HORMUZ 22", "TONG HUNG 1" / "5") match only exactly
    if abjad:
        sq, sl = skeleton_key(query), skeleton_key(listed)
        if sq == sl:
            # a skeleton written with one or two letters ("ly" for Ali) is shared by many names
            best = SKELETON_MATCH - 0.07 * max(0, 3 - min(len(query), len(listed)))
            if not _long_vowels_agree(query, listed):
                best -= ABJAD_VOWEL_CONFLICT
            return best
        if len(loose := loose_key(query)) >= MIN_LOOSE_KEY and loose == loose_key(listed):
            # the same consonants in another convention ("فضل" read fdl / "Fazal", "جمال" jml / "Djamel")
            return LOOSE_SKELETON_MATCH - (0.0 if _long_vowels_agree(query, listed) else ABJAD_VOWEL_CONFLICT)
        return SKELETON_MATCH * 0.5 * (
            JaroWinkler.normalized_similarity(sq, sl) + OSA.normalized_similarity(sq, sl)
        )
    pq, pl = phonetic_key(query), phonetic_key(listed)
    if pq == pl:
        return PHONETIC_MATCH
    if min(len(query), len(listed)) <= 4:
        spelled = _short_token_similarity(query, listed)
    else:
        spelled = 0.5 * (
            JaroWinkler.normalized_similarity(query, listed) + OSA.normalized_similarity(query, listed)
        )
        sounded = 0.5 * (JaroWinkler.normalized_similarity(pq, pl) + OSA.normalized_similarity(pq, pl))
        spelled = max(spelled, PHONETIC_MATCH * sounded)
    if spelled < VOWEL_VARIANT:  # transliteration variants ("Omar" / "Umar", "Gadhafi" / "Ghathafi")
        spelled = max(spelled, variant_similarity(query, listed, skeleton_key(query) == skeleton_key(listed),
                                                  spelled))
    if spelled > GENDERED_FORM and gendered_forms(query, listed):
        spelled = GENDERED_FORM
    return spelled


_LEGAL_FORM_KEYS: frozenset[str] = frozenset(phonetic_key(f) for f in LEGAL_FORMS if len(f) > 1)
_LONG_LEGAL_WORDS: tuple[str, ...] = tuple(sorted(f for f in LEGAL_FORMS if len(f) >= 5 and f.isalpha()))
_LEGAL_PHRASE_KEYS: tuple[tuple[str, ...], ...] = tuple(
    tuple(phonetic_key(w) for w in phrase) for phrase in LEGAL_PHRASES
)
_LEGAL_FORM_SKELETONS: frozenset[str] = frozenset(
    k for k in (skeleton_key(f) for f in LEGAL_FORMS if f.isalpha()) if len(k) >= 3
)
