"""The similar-token search of new query tokens answers as the rules it shortcuts do (D3, issue 11).

* The keys (``phonetic_key``, ``skeleton_key``, ``_abjad_form``, ``loose_key``) are computed without a
  method call or a regular expression per rule where that gives the same text: checked against the rules
  applied one by one on the tokens of the lists and on random strings.
* ``similar_listed`` gives up the pairs that cannot reach a floor of ``CLOSE_MATCH`` (a syllable's) without
  comparing them (``similarity._SPELLED_BOUND``): checked against ``token_similarity`` pair by pair, for
  both floors, on tokens of the lists and typos of them, each with the vocabulary tokens sharing a key.

The tokens are those of the real lists where ../shared/data/lists holds them, else of a generated list.
"""

from __future__ import annotations

import random
from functools import reduce

import pytest
from bench.screening import LISTS_DIR, load_real_parties

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening import similarity, variants
from cloudcip.screening.blocking import CLOSE_MATCH
from cloudcip.screening.index import TOKEN_FLOOR, ScreeningIndex, deletion_keys
from cloudcip.screening.similarity import phonetic_key, similar_listed, skeleton_key, token_similarity
from cloudcip.screening.snapshots import generate_demo_list

LETTERS = "abcdefghijklmnopqrstuvwxyz" + "aeiouhhhccsskzdtjyw"  # the letters the rules read, more often


def _parties() -> list[DesignatedParty]:
    if (LISTS_DIR / "ofac_sdn_2021.csv").is_file():
        parties, _ = load_real_parties()
        return random.Random(5).sample(parties, min(len(parties), 6000))
    return generate_demo_list(3000).parties


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex(_parties())


def _typo(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text))
    change = rng.randrange(4)
    if change == 0:
        return text[:at] + text[at + 1:]
    if change == 1:
        return text[:at] + rng.choice(LETTERS) + text[at:]
    if change == 2:
        return text[:at] + rng.choice(LETTERS) + text[at + 1:]
    return text[:at] + text[at + 1:at + 2] + text[at:at + 1] + text[at + 2:]


@pytest.mark.requirement("D3")
def test_the_keys_are_those_of_the_rules_applied_one_by_one(index: ScreeningIndex) -> None:
    rng = random.Random(3)
    tokens = [*index.vocab_texts,
              *("".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 12))) for _ in range(100_000))]

    def rules(chain: tuple[similarity._Rewrite, ...], text: str) -> str:
        return reduce(lambda key, rule: rule.apply(key), chain, text)

    def folds(text: str) -> str:
        return reduce(lambda key, fold: fold[0].sub(fold[1], key), variants._FOLDS, text)

    wrong = []
    for text in tokens:
        skeleton = similarity._DOUBLES.sub(variants.first_group, rules(similarity._SKELETON_RULES, text)
                                           .translate(similarity._ABJAD_FOLD))
        skeleton = (skeleton[:-1] if len(skeleton) > 1 and skeleton.endswith("h") else skeleton) or text[:1]
        if (phonetic_key.__wrapped__(text) != rules(similarity._PHONETIC_RULES, text)
                or skeleton_key.__wrapped__(text) != skeleton
                or similarity._rewrite(similarity._ABJAD_FORM_STEPS, text) != rules(similarity._ABJAD_FORM_RULES, text)
                or variants.loose_key.__wrapped__(text) != folds(text)):
            wrong.append(text)
    assert not wrong, wrong[:10]


@pytest.mark.requirement("D3")
def test_similar_listed_keeps_what_token_similarity_keeps(index: ScreeningIndex) -> None:
    rng = random.Random(7)
    texts, abjads, keys, forms = index.vocab_texts, index.vocab_abjad, index.vocab_keys, index.vocab_forms
    queries = rng.sample([t for t in texts if len(t) > 1], 3000)
    queries += [_typo(t, rng) for t in rng.sample(queries, 2000)]
    kept = {TOKEN_FLOOR: 0, CLOSE_MATCH: 0}
    wrong = []
    for query in queries:
        found: set[int] = set()
        for key in deletion_keys(query):
            found.update(index._deletion_keys.get(key, ()))
        found.update(index._phonetic_keys.get(phonetic_key(query), ()))
        found.update(index._loose_keys.get(variants.loose_key(query), ()))
        found.update(index._skeleton_keys.get(skeleton_key(query), ()))
        ids = [*found, *rng.sample(range(len(texts)), 20)]
        for abjad in (False, True):
            for floor in (TOKEN_FLOOR, CLOSE_MATCH):
                expected = [(vid, sim) for vid in ids
                            if (sim := token_similarity(query, texts[vid], abjad or abjads[vid])) >= floor]
                kept[floor] += len(expected)
                if similar_listed(query, ids, texts, abjads, keys, forms, abjad, floor) != expected:
                    wrong.append((query, abjad, floor))
    assert not wrong, wrong[:10]
    assert kept[TOKEN_FLOOR] > 10_000 and kept[CLOSE_MATCH] > 5_000, kept
