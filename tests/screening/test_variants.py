"""Latin spellings of one name from Arabic, Persian and the Slavic languages meet (D3), and names that
differ in their vowels or consonants stay different (``screening.variants``).

Each row of ``SAME`` is a pair of real spellings lists use for one name; each row of ``DIFFERENT`` two
names that are not one another's spelling although they look alike.
"""

from __future__ import annotations

import pytest

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, Thresholds, compare_names, screen
from cloudcip.screening.similarity import similar_listed, token_similarity
from cloudcip.screening.variants import loose_key, vowels_compatible

REVIEW = Thresholds().review

SAME = [  # (spelling on the list, spelling of the query)
    ("Umar Shishani", "Omar Shishani"),  # Arabic short vowel u/o
    ("Mohammed Reza Zahedi", "Mohammad Riza Zahedi"),  # Persian e/i, a/e
    ("Saadi Gadhafi", "Saadi Ghathafi"),  # ذ as dh or th, غ/g
    ("Muammar Qadhafi", "Muammar Gaddafi"),  # ق as q or g
    ("Mustafa Fadhil", "Mustafa Fazil"),  # ض as dh or z
    ("Husayn Kamil", "Hussein Kamil"),  # ay/ei
    ("Pak Pong Nam", "Pak Bong Nam"),  # Korean p/b
    ("Marina Kalashov", "Marina Kalashova"),  # a surname's feminine form, given as an alias
]
DIFFERENT = [  # token pairs that must not be read as one name's spellings
    ("hassan", "hussein"),  # حسن / حسين
    ("said", "saad"),  # سعيد / سعد
    ("amir", "omar"),
    ("ali", "ela"),
    ("tina", "dina"),
    ("thanh", "dang"),
    ("mark", "mirk"),
]


@pytest.mark.requirement("D3")
@pytest.mark.parametrize(("listed", "query"), SAME, ids=[q for _, q in SAME])
def test_transliteration_variants_meet(listed: str, query: str) -> None:
    assert compare_names(listed, query, "Person") >= REVIEW
    index = ScreeningIndex([DesignatedParty("test", "1", "Person", [ListedName(listed)]),
                            DesignatedParty("test", "2", "Person", [ListedName("Ahmed Gubara")])])
    hits = screen(index, ScreeningQuery(name=query, schema="Person"))
    assert [h.party_id for h in hits] == ["1"]


@pytest.mark.requirement("D3")
@pytest.mark.parametrize(("a", "b"), DIFFERENT, ids=[f"{a}-{b}" for a, b in DIFFERENT])
def test_other_vowels_or_consonants_are_other_names(a: str, b: str) -> None:
    assert token_similarity(a, b) < 0.76  # below the pair floor: not aligned at all


def test_the_loose_key_folds_consonant_spellings_and_vowels_keep_their_class() -> None:
    assert loose_key("ghathafi") == loose_key("gadhafi") == loose_key("qaddafi") == "KDF"
    assert loose_key("fatimah") == loose_key("fatima")
    assert vowels_compatible("omar", "umar") and vowels_compatible("mohammad", "mohammed")
    assert not vowels_compatible("said", "saad") and not vowels_compatible("hassan", "hussein")


@pytest.mark.requirement("D3")
@pytest.mark.parametrize(("a", "b"), [("julia", "julio"), ("lucia", "lucio"), ("mario", "maria")])
def test_feminine_and_masculine_forms_are_other_people(a: str, b: str) -> None:
    assert token_similarity(a, b) < 0.76  # below the pair floor
    assert compare_names(f"{a} Rodriguez", f"{b} Rodriguez", "Person") < REVIEW


def test_ordinal_numbers_in_entity_names_must_agree() -> None:
    index = ScreeningIndex([DesignatedParty("test", "1", "Organization",
                                            [ListedName("99TH LIGHT INFANTRY DIVISION")])])
    query = ScreeningQuery(name="33RD LIGHT INFANTRY DIVISION", schema="Organization")
    hits = screen(index, query, include_clear=True)
    assert hits and hits[0].features.get("number_mismatch") == 1.0
    assert hits[0].score < REVIEW


def test_an_entitys_dotted_acronym_is_one_word_and_the_closest_spelling_is_a_candidate() -> None:
    near_misses = ["SHAAB", "SHABIB", "SHABAN", "SHABAZ", "SHEBAB", "SHANAB"]  # one name each: rare
    parties = [DesignatedParty("test", "1", "Organization", [ListedName("DES INTERNATIONAL CO., LTD.")]),
               DesignatedParty("test", "2", "Organization", [ListedName("AL-SHABAAB")])]
    parties += [DesignatedParty("test", f"s{i}", "Organization", [ListedName(f"SHABAAB HOLDING {i}")])
                for i in range(9)]  # "shabaab" in ten names: commoner than each near miss
    parties += [DesignatedParty("test", w, "Organization", [ListedName(w)]) for w in near_misses]
    index = ScreeningIndex(parties, max_candidates=5)
    hits = screen(index, ScreeningQuery(name="D.E.S. INTERNATIONAL", schema="Organization"))
    assert [h.party_id for h in hits][:1] == ["1"]
    # the closer spelling makes the five candidates although the near misses are rarer
    hits = screen(index, ScreeningQuery(name="AL-SHABAB", schema="Organization"))
    assert [h.party_id for h in hits][:1] == ["2"]


@pytest.mark.requirement("D3")
def test_the_index_compares_its_listed_tokens_as_token_similarity_does() -> None:
    # the listed tokens' forms are computed at build (``similarity.ListedForms``), the query's on the
    # fly: the blocking's similarities equal ``token_similarity`` pair by pair, abjad or not
    names = ["Hussein Kamil", "حسين كامل", "Hassan Fadhil", "فضل الله", "Muammar Qaddafi", "Umar Yusuf",
             "Julia Rodriguez", "Ehsan 22"]
    index = ScreeningIndex([DesignatedParty("test", str(i), "Person", [ListedName(n)]) for i, n in enumerate(names)])
    texts, abjads = index.vocab_texts, index.vocab_abjad
    for query in ("husayn", "hassan", "hsyn", "fazal", "fdl", "gaddafi", "omar", "julio", "kamel", "22"):
        for abjad in (False, True):
            found = dict(similar_listed(query, range(len(texts)), texts, abjads, index.vocab_keys,
                                        index.vocab_forms, abjad, 0.5))
            expected = {vid: sim for vid, text in enumerate(texts)
                        if (sim := token_similarity(query, text, abjad or abjads[vid])) >= 0.5}
            assert found == expected, (query, abjad)
