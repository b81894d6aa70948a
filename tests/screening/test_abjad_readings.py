"""Letters of Arabic script read as Persian, Urdu and Maghreb spellings say them (D3, issue 18, sixth
round): each convention is one more reading of a query's word, beside its Arabic one.

Each row is a query in Arabic script and the Latin spelling the person is known by; the expected
outcome is under the default thresholds.
"""

from __future__ import annotations

import pytest
from tests.screening.one_name import REVIEW, one_name_index, score_against

from cloudcip.screening.abjad_readings import letter_readings
from cloudcip.screening.matcher import ScreeningQuery, screen
from cloudcip.screening.names import normalise_name

pytestmark = pytest.mark.requirement("D3")


def test_letter_readings_per_convention() -> None:
    # tha, dhal, dad and za as Persian and Urdu say them: s, z, z, z
    assert letter_readings("ثاقب") == ["ساقب"]
    assert letter_readings("ضیاء") == ["زیاء"]
    assert letter_readings("نظام") == ["نزام"]
    # shin as the French spellings of the Maghreb write it: ch
    assert letter_readings("هشام") == ["هچام"]
    # both in one word: each convention on its own
    assert letter_readings("شاذلي") == ["شازلي", "چاذلي"]
    # a word without such letters has no other reading
    assert letter_readings("محمد") == []


def test_a_query_word_carries_its_readings_and_a_listed_word_does_not() -> None:
    query = normalise_name("ذاکر نائیک", "Person", query=True)
    assert query.tokens[0].text == "dhkr"
    assert "zkr" in query.tokens[0].alternatives
    # the readings widen what a customer's name may meet, not what the list says
    assert normalise_name("ذاکر نائیک", "Person").tokens[0].alternatives == ()
    # with its article, the word without it is read too
    assert normalise_name("الظاهر", "Person", query=True).tokens[0].alternatives == ("dhhr", "lzhr", "zhr")


# (query in Arabic script, the Latin spelling it is known by, found at review or above)
KNOWN_SPELLINGS = [
    ("ثاقب محمود", "Saqib Mahmood", True),  # Urdu: tha is s (0.46 before)
    ("فضل الرحمن", "Fazal Rahman", True),  # Urdu: dad is z
    ("نظام الدین", "Nizamuddin", True),  # Persian: za is z
    ("ذاکر نائیک", "Zakir Naik", True),  # Urdu: dhal is z
    ("هشام المشيشي", "Hichem Mechichi", True),  # Tunisian: shin is ch (not found before)
    ("محمد الشاذلي", "Mohamed Chedli", True),  # Tunisian: shin is ch (0.32 before)
    ("بوشعيب", "Bouchaib", True),  # Moroccan: shin is ch (not found before)
    ("هشام المشيشي", "Hisham Mashishi", True),  # the Arabic reading is kept
    ("هشام المشيشي", "Hakim Mansouri", False),
    ("ذاکر نائیک", "Shakir Nadir", False),
]
# Known limits, not asserted (a test must not hold a wrong answer in place): "ثامر الكبيسي" (Thamir
# al-Kubaisi) reaches review against "Samir Kubaisi" through the Persian reading of tha (0.85, the
# price of the rule), and "ضیاء الحق" stays below review against "Zia ul Haq" (0.79: "zy" is too short
# a skeleton to prove Zia alone).


@pytest.mark.parametrize(("query", "listed", "found"), KNOWN_SPELLINGS)
def test_known_spellings(query: str, listed: str, found: bool) -> None:
    assert (score_against(query, listed) >= REVIEW) is found, score_against(query, listed)


# (two words in Arabic script, the one Latin word it is listed as): Persian and Pashto write the second
# part of these names apart, Latin lists write them as one word
JOINED_IN_LATIN = [
    ("ولی جان", "Walijan"),
    ("شهيد خيل", "Shahidkhel"),
    ("کاکا زاده", "Kakazada"),
]


@pytest.mark.parametrize(("query", "listed"), JOINED_IN_LATIN)
def test_two_abjad_words_meet_one_latin_word_also_beside_the_arabic_listing(query: str, listed: str) -> None:
    # another party lists the same two words in Arabic script: their joined form is in the vocabulary,
    # and the Latin spelling of the first party must still be found (it was not, before)
    index = one_name_index("Person", listed, query)
    hits = screen(index, ScreeningQuery(name=query, schema="Person"), include_clear=True)
    scores = {h.party_id: h.score for h in hits}
    assert scores.get("0", 0.0) >= REVIEW, scores
    assert scores.get("1", 0.0) >= REVIEW, scores


def test_abu_glued_to_the_article_is_read_as_written_apart() -> None:
    # "أبواليزيد" is "أبو اليزيد" (Abu al-Yazid) written as one word: also read without the particle
    # and the article, as the two words are
    assert normalise_name("أبو اليزيد", "Person", query=True).tokens[0].alternatives == ("yzyd",)
    assert normalise_name("أبواليزيد", "Person", query=True).tokens[0].alternatives == ("yzyd",)


ABU_GLUED = [
    ("أبوالحسن العامري", "Abu al-Hassan al-Amiri", True),  # 0.36 before
    ("محمد أبوالخير", "Mohammed Abu al-Khair", True),  # 0.28 before
]
# Known limit, not asserted: against a listing that writes "Abul" apart from the name ("Abul Hassan
# Amiri"), "أبوالحسن العامري" now pairs "hsn" with Hassan and leaves "abul" alone: 0.77, below review
# (0.85 before). Six listed names write "Abul/Abol" apart, 62 "Abu al/Abou el".


@pytest.mark.parametrize(("query", "listed", "found"), ABU_GLUED)
def test_abu_glued_spellings(query: str, listed: str, found: bool) -> None:
    assert (score_against(query, listed) >= REVIEW) is found, score_against(query, listed)
