"""The independent evaluation of the screening matcher (D3, ``bench/name_eval.py``): its split is fixed,
its leave-one-out leaves the name out, and its counts mean what the report says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.name_eval import Case, half_of, is_variant, positive_cases, run_case, summarise

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, Thresholds, screen


def party(source: str, pid: str, *names: str, schema: str = "Person") -> DesignatedParty:
    listed = [ListedName(names[0])] + [ListedName(n, "strong") for n in names[1:]]
    return DesignatedParty(source=source, source_id=pid, schema=schema, names=listed)  # type: ignore[arg-type]


PARTIES = [
    party("ofac-sdn", "1", "Muammar Qadhafi", "Moammar Gadhafi", "Muammar al-Qaddafi"),
    party("ofac-sdn", "2", "COMPANIA DE IMPORTACION Y EXPORTACION IBERIA", "CIMEX", schema="Organization"),
    party("un-sc", "3", "SADDAM HUSSEIN AL-TIKRITI"),
    party("ofac-sdn", "4", "Vladimir Ivanov"),
]


def test_the_split_is_fixed_and_by_party() -> None:
    # the same party always falls in the same half, on any machine (a hash of the seed and the id)
    assert half_of("ofac-sdn", "1") == half_of("ofac-sdn", "1")
    halves = {half_of("ofac-sdn", str(i)) for i in range(200)}
    assert halves == {"tuning", "reporting"}
    share = sum(half_of("ofac-sdn", str(i)) == "reporting" for i in range(2000)) / 2000
    assert 0.45 < share < 0.55


def test_masking_leaves_the_name_out_of_every_answer() -> None:
    index = ScreeningIndex(PARTIES)
    query = ScreeningQuery(name="Moammar Gadhafi", schema="Person")
    own = [nid for nid, n in enumerate(index.names) if n.name.original == "Moammar Gadhafi"]
    assert [h.matched_name for h in screen(index, query)][:1] == ["Moammar Gadhafi"]
    with index.masking(own):
        hits = screen(index, query)
    assert "Moammar Gadhafi" not in [h.matched_name for h in hits]
    assert [h.party_id for h in hits] == ["1"]  # found through the party's other names
    assert screen(index, query)[0].matched_name == "Moammar Gadhafi"  # unmasked again after the block


def test_aliases_that_are_other_names_are_kept_apart() -> None:
    assert is_variant("Moammar Gadhafi", ["Muammar Qadhafi"])
    assert not is_variant("CIMEX", ["COMPANIA DE IMPORTACION Y EXPORTACION IBERIA"])
    index = ScreeningIndex(PARTIES)
    groups = {c.query: c.group for c in positive_cases(PARTIES, index)}
    assert groups["CIMEX"] == "alias_other_name"
    assert groups["Moammar Gadhafi"] == "alias"


def test_counts_follow_the_definitions() -> None:
    index = ScreeningIndex(PARTIES)
    cases = [c for c in positive_cases(PARTIES, index) if c.query == "Moammar Gadhafi"]
    negative = Case("Vladimir Ivanov", 3, 0, frozenset(), False, "lookalike_family", "Latin", "person",
                    "reporting", "Person")
    faker = Case("Anna Schmidt", -1, None, frozenset(), False, "faker", "Latin", "person", "reporting", "Person")
    for case in [*cases, negative, faker]:
        run_case(index, case, PARTIES, Thresholds())
    assert cases[0].hit_target and not negative.hit_target and faker.other_score < 0.8
    row = summarise([*cases, negative, faker], 0.80)
    assert row["tp"] == 1 and row["fn"] == 0 and row["fp"] == 0 and row["negatives"] == 2
    assert row["precision"] == 1.0 and row["recall"] == 1.0
    negative.target_score = 0.9  # a look-alike scoring above the threshold is a false positive
    row = summarise([*cases, negative, faker], 0.80)
    assert row["fp"] == 1 and row["precision"] == 0.5 and row["negative_false_positive_rate"] == 0.5


@pytest.mark.shared_data
def test_the_evaluation_runs_on_the_real_lists_when_present() -> None:
    from bench.screening import LISTS_DIR

    if not LISTS_DIR.is_dir():
        pytest.skip("real lists absent")
    from bench.name_eval import LOOKALIKE_PAIRS, evaluate, lookalike_cases
    from bench.screening import load_real_parties

    parties, _ = load_real_parties()
    index = ScreeningIndex(parties)
    positives = positive_cases(parties, index)
    assert sum(c.group == "original_script" for c in positives) > 300
    assert sum(c.group.startswith("alias") for c in positives) > 10_000
    import random

    looks = lookalike_cases(parties, index, random.Random(1), count=LOOKALIKE_PAIRS)
    assert all(parties[c.party].source == parties[c.target].source for c in looks if c.target is not None)
    del evaluate


@pytest.mark.parametrize(("alias", "others", "expected"), [
    ("Omar Shishani", ["Umar Shishani"], "spelling"),  # transliteration
    ("KURDISTAN FREEDOM AND DEMOCRACY CONGRESS", ["FREEDOM AND DEMOCRACY CONGRESS OF KURDISTAN"], "spelling"),
    ("OJSC SBERBANK ROSSII", ["SBERBANK ROSSII OAO"], "spelling"),  # legal forms are generic words
    ("BANK MARKAZI IRAN", ["BANK MARKAZI JOMHOURI ISLAMI IRAN"], "partial"),
    ("Cilia Flores", ["Cilia Adela Flores De Maduro"], "partial"),
    ("CHINA SHIPBUILDING INDUSTRY GROUP POWER CO LTD", ["CSIC POWER", "FENGFAN CO., LTD."], "overlap"),
    ("CIMEX", ["COMPANIA DE IMPORTACION Y EXPORTACION IBERIA"], "no_common_word"),
])
def test_alias_pairs_are_classed_word_by_word(alias: str, others: list[str], expected: str) -> None:
    from bench.name_eval import pair_class

    assert pair_class(alias, others) == expected
