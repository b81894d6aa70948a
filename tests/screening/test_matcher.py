"""The screening matcher and its candidate index (D3), on synthetic designated-party lists."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudcip.domain.designated import DesignatedParty, ListedDocument, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import Hit, ScreeningQuery, Thresholds, screen

WALLET = "0x7F367cC41522cE07553e823bf3be79A889DEbe1B"


def person(pid: str, *names: str, **facts: object) -> DesignatedParty:
    listed = [ListedName(names[0])] + [ListedName(n, "strong") for n in names[1:]]
    return DesignatedParty(source="test", source_id=pid, schema="Person", names=listed, **facts)  # type: ignore[arg-type]


def entity(pid: str, *names: str) -> DesignatedParty:
    listed = [ListedName(names[0])] + [ListedName(n, "strong") for n in names[1:]]
    return DesignatedParty(source="test", source_id=pid, schema="Organization", names=listed)


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    parties = [
        person(
            "1",
            "HANIYA, Ismail Abdul Salah",
            "HANIYEH, Ismail",
            birth_dates=["1962-01-29"],
            nationalities=["PS"],
            gender="male",
            documents=[ListedDocument("passport", "AB 123-456", "PS")],
        ),
        person("2", "IVANOV, Vladimir Petrovich", birth_dates=["1975"], nationalities=["RU"], gender="male"),
        person("3", "PETROVA, Anna Sergeyevna", birth_dates=["1980-05-02"], gender="female"),
        person("4", "AL-HASSAN, Ali Mohammed", emails=["Ali.Hassan@Example.org"]),
        person("5", "KIM, Song Il", wallets=[("ETH", WALLET)]),
        entity("6", "ALFA LLC"),
        entity("7", "BETA TRADING LLC"),
        DesignatedParty(
            source="test",
            source_id="8",
            schema="Person",
            names=[ListedName("GARCIA LOPEZ, Ramon"), ListedName("El Gordo", "weak")],
        ),
        person("9", "BIN LADEN, Osama"),
    ]
    return ScreeningIndex(parties)


def ids(hits: list[Hit]) -> list[str]:
    return [h.party_id for h in hits]


def best(index: ScreeningIndex, **query: object) -> Hit:
    hits = screen(index, ScreeningQuery(**query), include_clear=True)  # type: ignore[arg-type]
    assert hits, f"no candidate at all for {query}"
    return hits[0]


def test_exact_name_blocks_with_explanation(index: ScreeningIndex) -> None:
    hit = best(index, name="Ismail Abdul Salah Haniya", schema="Person")
    assert hit.party_id == "1"
    assert hit.score == 1.0 and hit.band == "block"
    assert hit.features["name"] == 1.0
    assert hit.explanation and "haniya~haniya" in hit.explanation[0]


def test_perturbed_names_found(index: ScreeningIndex) -> None:
    for name in [
        "Ismail Haniyeh",  # alias
        "Исмаил Хания",  # Cyrillic
        "Vladimir Ivanov",  # middle name dropped
        "V. P. Ivanov",  # initials
        "Ali Mohammed Alhassan",  # joined particle ("Ali Alhassan" alone: two of the commonest names)
        "Osama Binladen",
        "Osаma bin Lаden",  # homoglyphs
        "Ana Petrova",  # typo + dropped patronymic
    ]:
        hits = screen(index, ScreeningQuery(name=name, schema="Person"))
        assert hits and hits[0].band in ("block", "review"), name


def test_unrelated_name_is_clear(index: ScreeningIndex) -> None:
    assert screen(index, ScreeningQuery(name="Margaret Thompson", schema="Person")) == []
    hits = screen(index, ScreeningQuery(name="Margaret Thompson"), include_clear=True)
    assert all(h.band == "clear" for h in hits)


def test_legal_form_never_decides(index: ScreeningIndex) -> None:
    # only the legal form in common: not even a candidate
    assert screen(index, ScreeningQuery(name="GAMMA LLC", schema="Organization"), include_clear=True) == []
    assert screen(index, ScreeningQuery(name="BETA LLC", schema="Organization")) == []
    alfa = best(index, name="Alfa Ltd", schema="Organization")
    assert alfa.party_id == "6" and alfa.band == "block"
    assert "legal_form" in alfa.features


def test_birth_date_corroborates_and_contradicts(index: ScreeningIndex) -> None:
    name = "Vladimir Ivanov"
    alone = best(index, name=name, schema="Person").score
    same_year = best(index, name=name, schema="Person", birth_date="1975-03-04")
    other_year = best(index, name=name, schema="Person", birth_date="1990-03-04")
    assert same_year.score > alone > other_year.score
    assert float(same_year.features["birth_date"]) > 0 > float(other_year.features["birth_date"])
    assert any("contradicts" in line for line in other_year.explanation)

    exact = best(index, name="Anna Petrova", schema="Person", birth_date="1980-05-02").score
    month_off = best(index, name="Anna Petrova", schema="Person", birth_date="1980-11-02").score
    assert exact > month_off


def test_nationality_and_gender(index: ScreeningIndex) -> None:
    name = "Vladimir Ivanov"
    alone = best(index, name=name, schema="Person").score
    assert best(index, name=name, schema="Person", nationality="RU").score > alone
    assert best(index, name=name, schema="Person", nationality="FR").score < alone
    assert best(index, name=name, schema="Person", gender="female").score < alone
    assert best(index, name=name, schema="Person", gender="male").score >= alone


def test_identifier_hits_are_exact_and_named(index: ScreeningIndex) -> None:
    by_document = screen(index, ScreeningQuery(name="Someone Else", document_numbers=["ab123456"]))
    assert ids(by_document) == ["1"]
    assert by_document[0].score == 1.0 and by_document[0].features["identifier"] == "document_number"
    by_email = screen(index, ScreeningQuery(name="Nobody", emails=[" ali.hassan@EXAMPLE.org"]))
    assert ids(by_email) == ["4"] and by_email[0].features["email"] == 1.0
    by_wallet = screen(index, ScreeningQuery(name="", wallets=[WALLET.lower()]))
    assert ids(by_wallet) == ["5"] and by_wallet[0].band == "block"
    # a near-miss identifier is no hit
    assert screen(index, ScreeningQuery(name="Nobody Atall", document_numbers=["AB123457"])) == []


def test_thresholds_are_configurable(index: ScreeningIndex) -> None:
    query = ScreeningQuery(name="Vladimir Ivanov", schema="Person")
    score = screen(index, query)[0].score
    assert screen(index, query, Thresholds(block=score, review=score - 0.1))[0].band == "block"
    assert screen(index, query, Thresholds(block=1.0, review=score))[0].band == "review"
    assert screen(index, query, Thresholds(block=1.0, review=min(1.0, score + 0.01))) == []
    with pytest.raises(ValueError):
        Thresholds(block=0.5, review=0.9)


def test_weak_alias_and_schema_mismatch_weigh_less(index: ScreeningIndex) -> None:
    weak = best(index, name="El Gordo", schema="Person")
    assert weak.party_id == "8" and weak.features.get("weak_alias") == 1.0 and weak.score < 1.0
    as_entity = best(index, name="Vladimir Petrovich Ivanov", schema="Organization")
    as_person = best(index, name="Vladimir Petrovich Ivanov", schema="Person")
    assert as_entity.score < as_person.score and "schema_mismatch" in as_entity.features


def test_one_hit_per_party_and_limit(index: ScreeningIndex) -> None:
    hits = screen(index, ScreeningQuery(name="Ismail Haniya"), include_clear=True, limit=50)
    assert len(ids(hits)) == len(set(ids(hits)))
    assert len(screen(index, ScreeningQuery(name="Ismail Haniya"), include_clear=True, limit=1)) == 1


@pytest.mark.parametrize("bad", ["", "   ", "x" * 301, "Ivan\x00Petrov"])
def test_bad_query_names_are_refused(index: ScreeningIndex, bad: str) -> None:
    with pytest.raises(ValueError):
        screen(index, ScreeningQuery(name=bad))


def test_bad_schema_refused(index: ScreeningIndex) -> None:
    with pytest.raises(ValueError, match="schema"):
        screen(index, ScreeningQuery(name="Ivan Petrov", schema="Vessel"))  # type: ignore[arg-type]


# --- blocking: a query looks at a small fraction of a large index --------------------------------

_SYLLABLES = [
    "ka", "ri", "mo", "sa", "le", "na", "to", "vi", "du", "pe", "ha", "zo", "mi", "ra", "bo", "lu",
    "ne", "si", "ta", "go", "fe", "ju", "ro", "ya", "de", "ki", "ma", "po", "su", "ze", "an", "el",
]  # fmt: skip


def _synthetic_name(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()

    return " ".join(word() for _ in range(rng.randint(2, 3)))


def test_candidate_set_is_a_small_fraction_of_a_large_index() -> None:
    rng = random.Random(20_000)
    parties = [person(str(i), _synthetic_name(rng)) for i in range(20_000)]
    large = ScreeningIndex(parties)
    assert len(large) == 20_000
    examined: list[int] = []
    for i in rng.sample(range(20_000), 50):
        original = parties[i].primary_name
        tokens = original.split()
        # a typo in the last token and the order reversed
        last = tokens[-1]
        tokens[-1] = last[:2] + last[3:] if len(last) > 4 else last
        query = " ".join(reversed(tokens))
        hits = screen(large, ScreeningQuery(name=query, schema="Person"), limit=10)
        examined.append(large.last_candidate_count)
        assert str(i) in ids(hits), (query, original)
    # never anything near a scan: each query examined well under 2 % of the 20,000 names
    assert max(examined) < 0.02 * len(large)
    assert sum(examined) / len(examined) < 0.005 * len(large)


# --- any text in, a clear error or bounded scores out -------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=320))
def test_any_text_gives_bounded_hits_or_a_value_error(text: str) -> None:
    index = _fuzz_index()
    try:
        hits = screen(index, ScreeningQuery(name=text), include_clear=True)
    except ValueError:
        return
    for hit in hits:
        assert 0.0 <= hit.score <= 1.0 and hit.band in ("block", "review", "clear")


_FUZZ_INDEX: list[ScreeningIndex] = []


def _fuzz_index() -> ScreeningIndex:
    if not _FUZZ_INDEX:
        _FUZZ_INDEX.append(
            ScreeningIndex(
                [
                    person("1", "HANIYA, Ismail Abdul Salah"),
                    person("2", "Дмитрий Волков"),
                    person("3", "صدام حسين التكريتي"),
                    person("4", "王秀英"),
                    entity("5", "ALFA LLC"),
                ]
            )
        )
    return _FUZZ_INDEX[0]


def test_exact_short_name_wins_among_many_longer_names_sharing_its_token() -> None:
    rng = random.Random(7)
    longer = [entity(str(i), f"SBERBANK {_synthetic_name(rng)} LLC") for i in range(80)]
    crowded = ScreeningIndex([*longer, entity("target", "PJSC SBERBANK")])
    hits = screen(crowded, ScreeningQuery(name="Sberbank", schema="Organization"))
    assert hits[0].party_id == "target" and hits[0].score == 1.0
