"""Token similarity for screening against designated-persons lists (D3).

How alike two ASCII tokens of normalised names are (``token_similarity``), and the keys the candidate
index blocks on: the *phonetic key* of a token (romanisation variants folded: kh/h, ph/f, w/v, y/i,
doubled letters, ...) and its *consonant skeleton* (vowels dropped), which is also what tokens written
in abjad scripts (Arabic, Hebrew, Syriac) are compared on, as their transliteration carries no short
vowels. Spelling variants of transliteration conventions come from ``variants``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA, JaroWinkler

from cloudcip.screening.variants import (
    CONSONANT_SPELLING_FLOOR,
    GENDERED_FORM,
    MIN_LOOSE_KEY,
    VOWEL_VARIANT,
    first_group,
    gendered_forms,
    loose_key,
    variant_similarity,
    vowel_signature,
)

# --- phonetic key and skeleton -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Rewrite:
    """One rewriting rule: literal alternatives (fast ``str.replace``) or a regular expression."""

    pattern: str
    replacement: str
    literals: tuple[str, ...] | None
    regex: re.Pattern[str] | None
    # what ``regex.sub`` is given: ``replacement``, or ``first_group`` for the template ``\1``
    expand: str | Callable[[re.Match[str]], str] = ""

    @classmethod
    def of(cls, pattern: str, replacement: str) -> _Rewrite:
        alternatives = tuple(pattern.split("|"))
        if all(re.escape(a) == a for a in alternatives):
            return cls(pattern, replacement, alternatives, None)
        expand = first_group if replacement == r"\1" else replacement
        return cls(pattern, replacement, None, re.compile(pattern), expand)

    def apply(self, text: str) -> str:
        """The rule's meaning: the keys run the rules as flat steps (``_steps``, ``_rewrite``), which
        tests/screening/test_similar_search.py holds to this, rule by rule."""
        if self.literals is None:
            assert self.regex is not None
            return self.regex.sub(self.expand, text)
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, self.replacement)
        return text


# a rule list as steps of ``_rewrite``: each literal alternative of a rule (in the rule's order) as
# ``(literal, replacement, None, "")``, each regular expression as ``(needed, "", regex, expand)``, where
# ``needed`` is a letter any match holds ("" for none known: the expression is always run)
_Step = tuple[str, str, re.Pattern[str] | None, str | Callable[[re.Match[str]], str]]
_NEEDED = {r"(?<=[aeiou])h$": "h"}


def _steps(rules: Iterable[_Rewrite]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for rule in rules:
        if rule.literals is None:
            steps.append((_NEEDED.get(rule.pattern, ""), "", rule.regex, rule.expand))
        else:
            steps.extend((literal, rule.replacement, None, "") for literal in rule.literals)
    return tuple(steps)


def _rewrite(steps: tuple[_Step, ...], text: str) -> str:
    """``text`` with the rules applied in turn: what applying each ``_Rewrite`` gives, without a method
    call a rule (a new token's keys go through ~40 steps)."""
    for literal, replacement, regex, expand in steps:
        if literal in text:
            text = text.replace(literal, replacement) if regex is None else regex.sub(expand, text)
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
_PHONETIC_STEPS = _steps(_PHONETIC_RULES)
_ABJAD_FOLD = str.maketrans("pvg", "bfj")


@lru_cache(maxsize=200_000)
def phonetic_key(token: str) -> str:
    """Fold common romanisation variants of one ASCII token (kh/h, ph/f, w/v, y/i, doubles...)."""
    return _rewrite(_PHONETIC_STEPS, token)


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


# the rules but the last (vowels dropped), which ``skeleton_key`` applies with the Arabic letters' folding
# in one ``translate`` (what the folding gives, b, f and j, is no vowel)
_SKELETON_STEPS = _steps(_SKELETON_RULES[:-1])
_SKELETON_FOLD = str.maketrans("pvg", "bfj", "aeiouy")


@lru_cache(maxsize=200_000)
def skeleton_key(token: str) -> str:
    """Consonant skeleton of one ASCII token: vowels, w and a final h dropped, doubles collapsed.

    "Mohammed", "Muhammad" and the transliteration of Arabic "محمد" ("mhmd") all give ``mhmd``.
    Letters Arabic script lacks are folded to the ones it writes them with (p -> b, v -> f, g -> j).
    """
    key = _DOUBLES.sub(first_group, _rewrite(_SKELETON_STEPS, token).translate(_SKELETON_FOLD))
    if len(key) > 1 and key.endswith("h"):
        key = key[:-1]
    return key or token[:1]



# --- token similarity ---------------------------------------------------------------------------

SKELETON_MATCH = 0.88  # consonant skeletons equal: the best an abjad transliteration can prove
LOOSE_SKELETON_MATCH = 0.85  # equal once the consonants' Latin conventions are folded (``variants``)
PHONETIC_MATCH = 0.96  # same phonetic key, different spelling ("Mokhammed" / "Mohammed")


ABJAD_VOWEL_CONFLICT = 0.13  # the abjad spelling writes a long vowel the Latin one lacks


_FRONT_VOWELS = re.compile(r"[eiy]+")
_BACK_VOWELS = re.compile(r"[ouw]+")
_DOUBLES = re.compile(r"(.)\1+")


# the skeleton's rules but the vowel removal and the w's (``_abjad_form``)
_ABJAD_FORM_RULES: tuple[_Rewrite, ...] = tuple(rule for rule in _SKELETON_RULES[:-1] if rule.pattern != "w")
_ABJAD_FORM_STEPS = _steps(_ABJAD_FORM_RULES)
_NO_VOWELS = str.maketrans("", "", "aeiou")


def _abjad_forms(tokens: Sequence[str]) -> list[str]:
    """How each token would look written in an abjad: consonants, long-vowel carriers y and w.

    The rules rewrite the tokens joined by newlines, which none of them reads or writes: a whole
    vocabulary at once (``ListedForms``) costs a third of the tokens one by one."""
    if not tokens:
        return []
    key = _rewrite(_ABJAD_FORM_STEPS, "\n".join(tokens))
    key = _FRONT_VOWELS.sub("y", _BACK_VOWELS.sub("w", key.replace("a", "")))
    key = _DOUBLES.sub(first_group, key.translate(_ABJAD_FOLD))
    return [form[:-1] if len(form) > 1 and form.endswith("h") else form for form in key.split("\n")]


@lru_cache(maxsize=200_000)
def _abjad_form(token: str) -> str:
    return _abjad_forms((token,))[0]


def _is_subsequence(short: str, long: str) -> bool:
    at = 0  # where the next letter of ``short`` is looked for in ``long``
    for ch in short:
        at = long.find(ch, at) + 1
        if not at:
            return False
    return True


def _vowel_letters(token: str) -> int:
    return len(token) - len(token.translate(_NO_VOWELS))


_cached_vowel_letters = lru_cache(maxsize=200_000)(_vowel_letters)


def _long_vowels_agree(a: str, b: str, b_vowels: int, b_form: str, loose: bool = False) -> bool:
    """Every long vowel (y, w) the abjad-written token shows has a vowel in the other token.

    "hsyn" (حسين) agrees with "hussein" but not with "hassan" (حسن) nor "ehsan". ``b_vowels``,
    ``b_form``: ``b``'s ``_vowel_letters`` and ``_abjad_form``; ``a``'s come from the caches.
    """
    a_form = _abjad_form(a)
    if _cached_vowel_letters(a) * len(b) <= b_vowels * len(a):
        written, spoken = a_form, b_form
    else:
        written, spoken = b_form, a_form
    if loose:  # the consonants in another convention ("fdl" / "fazl"): compared once folded
        written, spoken = _loose_consonants(written), _loose_consonants(spoken)
    return _is_subsequence(written, spoken)


_LOOSE_CONSONANTS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"dzh|dj|j", "J"), (r"tch|tsh|ch|sch|sh|zh", "S"), (r"dh|th|dz|d|z|t", "D"),
        (r"kh|gh|q|ck|c|k|g", "K"), (r"v|f", "F"), (r"p", "b"), (r"(.)\1+", first_group),
    )
)  # fmt: skip


@lru_cache(maxsize=200_000)
def _loose_consonants(form: str) -> str:
    """An abjad form with the consonants' transliteration conventions folded (as ``loose_key``),
    the long-vowel carriers y and w kept."""
    for pattern, replacement in _LOOSE_CONSONANTS:
        form = pattern.sub(replacement, form)
    return form


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
        return _skeleton_similarity(query, listed, skeleton_key(listed), loose_key(listed),
                                    _cached_vowel_letters(listed), _abjad_form(listed))
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


def _skeleton_similarity(query: str, listed: str, listed_skeleton: str, listed_loose: str, listed_vowels: int,
                         listed_form: str) -> float:
    """``token_similarity`` of two different tokens, not numbers, compared as abjad tokens are (the
    listed token's skeleton and loose keys, ``_vowel_letters`` and ``_abjad_form`` given)."""
    sq, sl = skeleton_key(query), listed_skeleton
    if sq == sl:
        # a skeleton written with one or two letters ("ly" for Ali) is shared by many names
        best = SKELETON_MATCH - 0.07 * max(0, 3 - min(len(query), len(listed)))
        if not _long_vowels_agree(query, listed, listed_vowels, listed_form):
            best -= ABJAD_VOWEL_CONFLICT
        return best
    if len(loose := loose_key(query)) >= MIN_LOOSE_KEY and loose == listed_loose:
        # the same consonants in another convention ("فضل" read fdl / "Fazal", "جمال" jml / "Djamel")
        agree = _long_vowels_agree(query, listed, listed_vowels, listed_form, loose=True)
        return LOOSE_SKELETON_MATCH - (0.0 if agree else ABJAD_VOWEL_CONFLICT)
    return SKELETON_MATCH * 0.5 * (
        JaroWinkler.normalized_similarity(sq, sl) + OSA.normalized_similarity(sq, sl)
    )


@dataclass(frozen=True, slots=True)
class ListedForms:
    """What comparing a query token with the listed tokens of an index reads of each listed token
    besides its keys, by vocabulary id: computed for the whole vocabulary when the index is built,
    not on a token's first comparison during a screen, where most listed tokens a query meets are
    met for the first time (D3)."""

    vowel_letters: list[int]  # ``_vowel_letters`` (abjad comparisons)
    abjad_forms: list[str]  # ``_abjad_form`` (abjad comparisons)
    vowel_signatures: list[tuple[str, ...]]  # ``variants.vowel_signature`` (transliteration variants)

    @classmethod
    def of(cls, texts: Sequence[str]) -> ListedForms:
        """The forms of ``texts`` (~0.13 s and ~6 MB for the 55k tokens of the real lists)."""
        signatures: dict[tuple[str, ...], tuple[str, ...]] = {}  # one of each (~16k of the 55k are distinct)
        return cls([_vowel_letters(text) for text in texts], _abjad_forms(texts),
                   [signatures.setdefault(sig, sig) for sig in map(vowel_signature, texts)])


# _SPELLED_BOUND: a floor of ``PHONETIC_MATCH`` or more (a syllable's ``CLOSE_MATCH``) is out of reach of two
# different tokens of different phonetic keys unless both are longer than four letters and the longer has
# 13 letters or more; ``similar_listed`` then gives them up without comparing them. Below the floor are
# * ``_short_token_similarity`` (a token of four letters or fewer): ``SHORT_SWAP`` or less for one edit,
#   else the OSA similarity (1 - d / n with d >= 2 edits, n the longer length) less 0.04: under 0.96;
# * the phonetic keys' ``PHONETIC_MATCH * sounded``: the keys differ, so their OSA similarity and hence
#   ``sounded`` is under 1;
# * the spellings' ``0.5 * (Jaro-Winkler + OSA)``: Jaro-Winkler is at most 1 and OSA at most 1 - 1 / n for
#   different tokens, so at most 1 - 0.5 / n (0.9583 for 12 letters);
# * ``variant_similarity``: ``VOWEL_VARIANT`` at most; ``GENDERED_FORM`` only lowers.
# ``_MARGIN`` keeps the comparison of the bound with the floor clear of rounding.
_MARGIN = 1e-9


def similar_listed(
    query: str,
    listed_ids: Iterable[int],
    texts: Sequence[str],
    abjads: Sequence[bool],
    keys: Sequence[tuple[str, str, str]],
    forms: ListedForms,
    abjad: bool,
    floor: float,
) -> list[tuple[int, float]]:
    """The listed tokens (ids into ``texts``) at least ``floor`` similar to ``query``, with their
    ``token_similarity``, in the order of ``listed_ids`` (``abjads``: a listed token came from an
    abjad script; ``keys``: its phonetic, skeleton and loose keys; ``forms``: the rest). What the candidate index's
    blocking computes for every token it gathered: the same values as ``token_similarity`` pair by
    pair, with the query's keys computed once, the listed tokens' read from ``keys``, and a pair
    below ``floor`` as spelled given up without the transliteration-variant test when that test
    could only give it 0 (see ``variant_similarity``)."""
    found: list[tuple[int, float]] = []
    query_digit = query.isdigit()
    query_phonetic = phonetic_key(query)
    query_skeleton = skeleton_key(query)
    query_loose = loose_key(query)
    query_short = len(query) <= 4
    # what a variant other than one of equal skeletons needs of the query: length, a loose key
    query_long = len(query) >= 5 and len(query_loose) >= MIN_LOOSE_KEY
    jaro_winkler, osa = JaroWinkler.normalized_similarity, OSA.normalized_similarity
    for vid in listed_ids:
        listed = texts[vid]
        if query == listed:
            found.append((vid, 1.0))
            continue
        if query_digit or listed.isdigit():
            continue  # 0.0
        listed_phonetic, listed_skeleton, listed_loose = keys[vid]
        if abjad or abjads[vid]:
            sim = _skeleton_similarity(query, listed, listed_skeleton, listed_loose, forms.vowel_letters[vid],
                                       forms.abjad_forms[vid])
            if sim >= floor:
                found.append((vid, sim))
            continue
        if query_phonetic == listed_phonetic:
            if floor <= PHONETIC_MATCH:
                found.append((vid, PHONETIC_MATCH))
            continue
        if floor >= PHONETIC_MATCH and (query_short or len(listed) <= 4
                                        or 1.0 - 0.5 / max(len(query), len(listed)) < floor - _MARGIN):
            continue  # below a floor this high whatever the letters (``_SPELLED_BOUND``)
        if query_short or len(listed) <= 4:
            spelled = _short_token_similarity(query, listed)
        else:
            spelled = 0.5 * (jaro_winkler(query, listed) + osa(query, listed))
            sounded = 0.5 * (jaro_winkler(query_phonetic, listed_phonetic) + osa(query_phonetic, listed_phonetic))
            spelled = max(spelled, PHONETIC_MATCH * sounded)
        if spelled < VOWEL_VARIANT:
            skeleton_equal = listed_skeleton == query_skeleton
            if spelled < floor and (
                listed_loose != query_loose
                or not (skeleton_equal or (query_long and len(listed) >= 5 and spelled >= CONSONANT_SPELLING_FLOOR))
            ):
                continue  # ``variant_similarity`` gives 0: below the floor
            if listed_loose == query_loose:  # (else ``variant_similarity`` gives 0)
                spelled = max(spelled, variant_similarity(query, listed, skeleton_equal, spelled,
                                                          forms.vowel_signatures[vid]))
        if spelled > GENDERED_FORM and gendered_forms(query, listed):
            spelled = GENDERED_FORM
        if spelled >= floor:
            found.append((vid, spelled))
    return found
