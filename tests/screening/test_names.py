"""Name normalisation and name comparison for screening (D3).

Each perturbation class has a real-ish pair that must match (score at or above the default review
threshold, 0.80) and a pair that must not.
"""

from __future__ import annotations

import pytest

from cloudcip.screening.matcher import Thresholds, compare_names
from cloudcip.screening.name_words import is_legal_form
from cloudcip.screening.names import (
    InvalidNameError,
    normalise_email,
    normalise_identifier,
    normalise_name,
    normalise_wallet,
)
from cloudcip.screening.similarity import phonetic_key, skeleton_key, token_similarity

REVIEW = Thresholds().review


def texts(name: str, schema: str | None = None) -> tuple[str, ...]:
    return normalise_name(name, schema).texts


# --- normalisation -----------------------------------------------------------------------------


def test_nfkc_casefold_and_punctuation() -> None:
    assert texts("ＪＯＨＮ  O'Brien-Smith") == ("john", "obrien", "smith")


def test_zero_width_and_format_characters_removed() -> None:
    assert texts("Ka\u200bsim\u2060 Ra\u200dhm\u00adani\ufeff") == ("kasim", "rahmani")


def test_cyrillic_and_greek_homoglyphs_inside_latin_names() -> None:
    # Cyrillic а, р, с and Greek ο inside Latin tokens; a token made only of lookalikes too
    assert texts("P\u0430vel Iv\u0430n\u03bfv") == ("pavel", "ivanov")
    assert texts("\u0421\u0410\u0420 Smith") == ("cap", "smith")
    # a genuinely Cyrillic name is transliterated, not read as homoglyphs
    assert texts("Павел Иванов") == ("pavel", "ivanov")


def test_any_script_is_transliterated() -> None:
    assert texts("Дмитрий Волков") == ("dmitriy", "volkov")
    assert texts("Νίκος Παππάς") == ("nikos", "pappas")
    assert texts("王秀英") == ("wang", "xiuying")  # family name, then the given name's syllables
    assert texts("秀英 王") == ("xiuying", "wang")
    assert texts("王伟") == ("wang", "wei")
    arabic = normalise_name("محمد حسن")
    assert arabic.texts == ("mhmd", "hsn") and all(t.abjad for t in arabic.tokens)


def test_honorifics_and_generational_suffixes_dropped_for_people() -> None:
    assert texts("Sheikh Dr. Ahmed Yassin Jr.") == ("ahmed", "yassin")
    assert texts("Mr Haji Abdul Basir") == ("abdul", "basir")
    # given names that are also titles elsewhere stay
    assert texts("Amir Tahan") == ("amir", "tahan")
    # an honorific alone stays: it is all there is
    assert texts("Sheikh") == ("sheikh",)


def test_particles_split_and_joined_meet() -> None:
    split = normalise_name("Ali al-Hassan")
    joined = normalise_name("Ali Alhassan")
    assert split.texts == ("ali", "hassan")
    assert joined.texts == ("ali", "alhassan")
    assert joined.tokens[1].alternatives == ("hassan",)
    assert texts("Hendrik van der Berg") == ("hendrik", "berg")
    assert normalise_name("Vandenberg").tokens[0].alternatives == ("berg",)
    # a particle leads a name; as the last token it is a name itself (Vietnamese "Lê")
    assert texts("Hải Lê") == ("hai", "le")


def test_legal_forms_kept_apart_for_entities() -> None:
    name = normalise_name("ALFA Trading L.L.C.", "Organization")
    assert name.texts == ("alfa", "trading")
    assert name.legal_forms == ("llc",)
    assert normalise_name("Limited Liability Company Sigma", "Organization").texts == ("sigma",)
    # for a person nothing is taken as a legal form
    assert texts("Sa Ag", "Person") == ("sa", "ag")
    # a name made only of a legal form keeps it
    assert texts("Company", "Organization") == ("company",)
    assert is_legal_form("ooo") and is_legal_form("gmbh") and not is_legal_form("alfa")


def test_phonetic_and_skeleton_keys() -> None:
    assert phonetic_key("mokhammed") == phonetic_key("mohammed")
    assert phonetic_key("yousef") == phonetic_key("iusef")
    assert skeleton_key("mohammed") == skeleton_key("muhammad") == skeleton_key("mhmd") == "mhmd"
    assert skeleton_key("hassan") == "hsn"


def test_token_similarity_ranges() -> None:
    assert token_similarity("ivanov", "ivanov") == 1.0
    assert token_similarity("ivanov", "ivonov") > 0.8
    assert token_similarity("wang", "kang") < 0.76  # short tokens: one substitution is another name
    assert token_similarity("eric", "eirc") > 0.8  # ...but a swap is a typo
    assert token_similarity("hsyn", "hussein", abjad=True) > token_similarity("hsyn", "hassan", abjad=True)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "...", "x" * 301, "Ivan\x00Petrov", "Ivan\x07", b"Ivan Petrov", "\ufffd\ufffd", "\ud800abc"],
)
def test_bad_names_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        normalise_name(raw)  # type: ignore[arg-type]


def test_bad_name_error_says_why() -> None:
    with pytest.raises(InvalidNameError, match="too long"):
        normalise_name("a" * 400)
    with pytest.raises(InvalidNameError, match="control character"):
        normalise_name("Ivan\x01Petrov")
    with pytest.raises(InvalidNameError, match="empty"):
        normalise_name("  ")
    with pytest.raises(InvalidNameError, match="binary"):
        normalise_name(b"\x00\x01")  # type: ignore[arg-type]


def test_identifier_normalisation() -> None:
    assert normalise_identifier(" ab 123-456 ") == "AB123456"
    assert normalise_email(" Someone@Example.COM ") == "someone@example.com"
    assert normalise_wallet(" 0xAbCdEf0123456789abcdef0123456789ABCDEF01 ") == (
        "0xabcdef0123456789abcdef0123456789abcdef01"
    )
    assert normalise_wallet("bc1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ") == (
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    )
    # base58 addresses are case-sensitive and stay as they are
    assert normalise_wallet("1BoatSLRHtKNngkdXEeobR76b53LETtpyT") == "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"


# --- each class: one pair that must match, one that must not -----------------------------------

MATCHING = [
    ("typo", "Vladimir Petrovich Ivanov", "Vladimir Petrovich Ivonov", None),
    ("transposition", "Mohammed Rahimi", "Mohammde Rahimi", None),
    ("diacritics", "José María Gómez", "Jose Maria Gomez", None),
    ("cyrillic", "Дмитрий Сергеевич Волков", "Dmitriy Sergeyevich Volkov", None),
    ("cyrillic romanisation", "Mokhammed Khassan", "Mohammed Hassan", None),
    ("arabic script", "عبد الرحمن الحسن", "Abdul Rahman Al-Hassan", None),
    ("han script", "王秀英", "Wang Xiuying", None),
    ("name order", "Ahmad Shah Massoud", "MASSOUD, Ahmad Shah", None),
    ("token drop", "Juan Carlos Ramirez", "Juan Ramirez", None),
    ("initials", "John Michael Smith", "J. M. Smith", None),
    ("particles joined", "Ali al-Hassan", "Ali Alhassan", None),
    ("particles removed", "Hendrik van der Berg", "Hendrik Berg", None),
    ("particles bin", "Osama bin Laden", "Osama Binladen", None),
    ("homoglyph", "Pavel Ivanov", "P\u0430vel Iv\u0430nov", None),
    ("zero width", "Ka\u200bsim Ra\u200dhmani", "Kasim Rahmani", None),
    ("joined tokens", "Abdulrahman Yasin", "Abdul Rahman Yasin", None),
    ("honorifics", "Sheikh Ahmed Yassin", "Ahmed Yassin", None),
    ("legal forms", "Alfa Ltd", "ALFA LLC", "Organization"),
    ("legal forms in Cyrillic", "ООО Альфа", "ALFA LLC", "Organization"),
    ("legal form spelled out", "Limited Liability Company Sigma", "Sigma LLC", "Company"),
]

NOT_MATCHING = [
    ("typo", "Vladimir Ivanov", "Vladimir Smirnov", None),
    ("transposition", "Leon Garcia", "Noel Garcia", None),
    ("diacritics", "Jose Maria Gomez", "Josefina Marquez", None),
    ("cyrillic", "Дмитрий Волков", "Dmitriy Sokolov", None),
    ("arabic script", "حسين علي", "Hassan Ali", None),
    ("short tokens", "Wang Wei", "Kang Wei", None),
    ("token drop", "Juan Ramirez", "Juan Carlos Ramirez Abadia Gomez", None),
    ("initials", "J. M. Smith", "Peter Smith", None),
    ("particles", "Hendrik van der Berg", "Hendrik Bergman", None),
    ("homoglyph", "Pavel Ivanov", "P\u0430vel Iv\u0430sov x Petrenko", None),
    ("legal forms", "ALFA LLC", "BETA LLC", "Organization"),
    ("legal forms only", "Alpha Holdings LLC", "Omega Partners LLC", "Organization"),
]


@pytest.mark.parametrize(("label", "name1", "name2", "schema"), MATCHING, ids=[m[0] for m in MATCHING])
def test_pairs_that_must_match(label: str, name1: str, name2: str, schema: str | None) -> None:
    score = compare_names(name1, name2, schema)
    assert score >= REVIEW, f"{label}: {name1!r} ~ {name2!r} scored {score}"


@pytest.mark.parametrize(("label", "name1", "name2", "schema"), NOT_MATCHING, ids=[m[0] for m in NOT_MATCHING])
def test_pairs_that_must_not_match(label: str, name1: str, name2: str, schema: str | None) -> None:
    score = compare_names(name1, name2, schema)
    assert score < REVIEW, f"{label}: {name1!r} ~ {name2!r} scored {score}"


def test_legal_form_alone_never_scores_high() -> None:
    assert compare_names("ALFA LLC", "BETA LLC", "Organization") < 0.5
    assert compare_names("Alfa Ltd", "ALFA LLC", "Organization") >= 0.92
    # same name, different legal forms: a little below the same name with the same form
    assert compare_names("Alfa Ltd", "ALFA LLC", "Organization") < compare_names("Alfa LLC", "ALFA LLC", "Organization")


def test_compare_names_is_symmetric_enough_and_bounded() -> None:
    a, b = "Abu Bakr al-Baghdadi", "ABU BAKR AL BAGHDADI"
    assert compare_names(a, b) == 1.0
    for x, y in [("Ivan Petrov", "Petrov Ivan"), ("Li Wei", "Wei Li"), ("A B", "C D")]:
        s = compare_names(x, y)
        assert 0.0 <= s <= 1.0


def test_compare_names_schema_values() -> None:
    assert compare_names("Alfa Ltd", "Alfa GmbH", "Company") >= 0.92
    with pytest.raises(ValueError, match="schema"):
        compare_names("a b", "a b", "Vessel")
