"""The matcher's fast path for candidates aligning one pair of tokens gives ``align``'s answer (D3).

``alignment_indexed._align_one`` scores the candidates that align a single pair of tokens (95% of
those scored) with ``align``'s arithmetic unrolled, and drops a candidate on an upper bound of its
score when that is below the matcher's floor (issue 11). Screening must not change by it: for every
call made while real queries are screened, the fast answer is checked against ``align`` itself on
the same inputs:

| ``align``'s score | what the fast path must answer |
|---|---|
| at or above the floor | the same score to the last bit, the same pairs and unmatched tokens |
| below the floor | a score below the floor (the exact score, or an upper bound of it summed in another
  order: equal to it but for rounding), no pairs |

The queries are listed names with the perturbations of ``bench.perturb`` (typos, transpositions,
dropped tokens, initials, scripts) and invented names of many locales, screened against the real
lists where ../shared/data/lists holds them, else against a generated list.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from bench import perturb
from bench.screening import LISTS_DIR, load_real_parties

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening import alignment_indexed, similarity
from cloudcip.screening.alignment import Alignment, align
from cloudcip.screening.blocking import CandidateSet
from cloudcip.screening.index import IndexedName, ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, screen
from cloudcip.screening.snapshots import generate_demo_list
from cloudcip.screening.variants import vowel_signature

PERTURBATIONS = (perturb.typo, perturb.transposition, perturb.token_drop, perturb.initials, perturb.name_order,
                 perturb.diacritics, perturb.to_cyrillic, perturb.to_arabic, perturb.joined_tokens)


def _parties() -> list[DesignatedParty]:
    if (LISTS_DIR / "ofac_sdn_2021.csv").is_file():
        parties, _ = load_real_parties()
        return parties
    return generate_demo_list(3000).parties


@pytest.fixture(scope="module")
def index_and_queries() -> tuple[ScreeningIndex, list[ScreeningQuery]]:
    parties = _parties()
    rng = random.Random(11)
    queries: list[ScreeningQuery] = []
    for party in rng.sample(parties, 250):
        name = party.names[0].full
        schema = "Person" if party.schema == "Person" else "Organization"
        queries.append(ScreeningQuery(name=name, schema=schema))
        for change in rng.sample(PERTURBATIONS, 3):
            changed = change(name, rng)
            if changed:
                queries.append(ScreeningQuery(name=changed, schema=schema))
    from faker import Faker

    for locale in ("en_US", "de_DE", "es_MX", "ru_RU", "ar_EG", "zh_CN", "ja_JP", "tr_TR", "vi_VN", "fa_IR"):
        faker = Faker(locale)
        faker.seed_instance(7)
        queries += [ScreeningQuery(name=faker.name(), schema="Person") for _ in range(30)]
        queries += [ScreeningQuery(name=faker.company(), schema="Organization") for _ in range(10)]
    return ScreeningIndex(parties), queries


def _reference(item: tuple[float, tuple[int, ...], tuple[int, ...]], candidates: CandidateSet,
               listed: IndexedName, abjad: bool, q_weights: Any) -> Alignment:
    """What ``score_indexed`` would answer through ``align`` for the same one pair."""
    return align(candidates.query_texts, q_weights, listed.texts, listed.weights, [item], listed.commonness,
                 listed.evidence, listed.omitted, listed.conflict, candidates.query_omitted,
                 candidates.query_conflict, candidates.query_syllabic, abjad)


@pytest.mark.requirement("D3")
def test_the_fast_path_answers_as_align_does(index_and_queries: tuple[ScreeningIndex, list[ScreeningQuery]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    index, queries = index_and_queries
    fast = alignment_indexed._align_one
    seen = {"kept": 0, "below": 0, "bound": 0}
    wrong: list[str] = []

    def checked(item: Any, candidates: CandidateSet, listed: IndexedName, abjad: bool, q_weights: Any,
                floor: float) -> Alignment:
        answer = fast(item, candidates, listed, abjad, q_weights, floor)
        reference = _reference(item, candidates, listed, abjad, q_weights)
        if reference.score >= floor:
            seen["kept"] += 1
            if (answer.score, answer.pairs, answer.unmatched_query, answer.unmatched_listed) != (
                    reference.score, reference.pairs, reference.unmatched_query, reference.unmatched_listed):
                wrong.append(f"{candidates.query_texts} ~ {listed.texts}: {answer} != {reference}")
        else:
            seen["below"] += 1
            seen["bound"] += answer.score != reference.score
            # an upper bound, summed in another order than ``align`` sums: at least the score but for rounding
            if not (answer.score < floor and answer.score >= reference.score - alignment_indexed.BOUND_MARGIN
                    and not answer.pairs):
                wrong.append(f"{candidates.query_texts} ~ {listed.texts} below {floor}: {answer} vs {reference}")
        return answer

    monkeypatch.setattr(alignment_indexed, "_align_one", checked)
    for query in queries:
        screen(index, query)  # the matcher's floor: half the review threshold
        screen(index, query, include_clear=True)  # no floor: every candidate scored in full
    assert not wrong, wrong[:5]
    # every branch was taken many times: kept, dropped on the exact score, dropped on the bound
    assert seen["kept"] > 1000 and seen["below"] > 1000 and seen["bound"] > 100, seen


@pytest.mark.requirement("D3")
def test_the_listed_forms_of_the_whole_vocabulary_are_each_tokens_own(
        index_and_queries: tuple[ScreeningIndex, list[ScreeningQuery]]) -> None:
    """``similarity.ListedForms`` computes the abjad forms of the whole vocabulary in one pass over the
    tokens joined by newlines (issue 11): no rule may reach across a token's end, so each form equals
    the token's own, computed alone, for every token of the (real) lists."""
    index, _ = index_and_queries
    forms = index.vocab_forms
    for vid, text in enumerate(index.vocab_texts):
        assert forms.abjad_forms[vid] == similarity._abjad_forms((text,))[0], text
        assert forms.vowel_letters[vid] == similarity._vowel_letters(text), text
        assert forms.vowel_signatures[vid] == vowel_signature(text), text
