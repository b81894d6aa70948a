"""The candidate index of the screening matcher (D3): blocking, so a query never scans every name.

Design (two levels):

* **vocabulary level**: every distinct normalised token of every listed name (plus the alternative
  readings of a token and the concatenation of each pair of adjacent tokens, for joined/split
  names) gets a vocabulary id. Each vocabulary token is reachable by three kinds of keys:
  the token itself and its one-character deletions (a symmetric-deletion neighbourhood: any token
  within one substitution, insertion, deletion or adjacent transposition shares a key), its phonetic
  key (romanisation variants), and its consonant skeleton (used for abjad-script queries).
* **name level**: each vocabulary token has a posting list of the names holding it, and an
  inverse-document-frequency weight.

A query token looks up its keys, verifies each vocabulary token found with
``token_similarity`` and keeps those above ``TOKEN_FLOOR``; the names in their postings are ranked
by the sum over query tokens of ``similarity * idf``. Names holding less than ``CANDIDATE_SHARE`` of
what the query could gather are dropped, and only the best ``max_candidates`` go to the matcher's
full score (places counted in parties: one party's many names take one place). Very common tokens
(long posting lists) only add weight to names already found by rarer tokens, so a "Mohammed" in the
query does not pull in thousands of names. Query initials add a little weight to names with a token
of that first letter. The similar vocabulary tokens of a query token are cached (bounded), as common
tokens recur from query to query.

``ScreeningIndex.last_candidate_count`` tells how many names the latest query examined.

Exact identifiers (document numbers, emails, wallet addresses) are plain dictionaries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening.blocking import CLOSE_MATCH, CandidateSet, QueryTokenMatches
from cloudcip.screening.blocking import candidates as blocking_candidates
from cloudcip.screening.evidence import name_numbers
from cloudcip.screening.name_frequency import population_rarity
from cloudcip.screening.name_words import DESCRIPTOR_RARITY, ORGANIZATION_DESCRIPTORS
from cloudcip.screening.names import (
    InvalidNameError,
    NameToken,
    NormalisedName,
    normalise_email,
    normalise_identifier,
    normalise_name,
    normalise_wallet,
)
from cloudcip.screening.similarity import (
    ListedForms,
    phonetic_key,
    similar_listed,
    skeleton_key,
    spelled_similarity,
)
from cloudcip.screening.variants import MIN_LOOSE_KEY, loose_key

TOKEN_FLOOR = 0.76  # vocabulary tokens less similar than this to a query token are not candidates
ALTERNATIVE_DISCOUNT = 0.97  # a match through an alternative reading (glued particle removed)
RARITY_FLOOR = 0.4  # weight factor of the most common tokens ("mohammed", "ali", "wang")
SHORTER_FIRST = 0.01  # blocking tie-breaker per listed token
SIMILAR_CACHE_SIZE = 50_000  # query tokens whose similar vocabulary tokens are remembered
LATE_PAIR_LENGTH = 5  # tokens of a candidate name compared directly from this length (both sides)
# (``alignment._late_pair``)
PAIR_CACHE_SIZE = 5_000  # query tokens whose similarities to listed tokens (alignment) are remembered (~25 each)


def token_weight(text: str, rarity: float = 1.0) -> float:
    """Weight of a token in the name score: longer and rarer tokens say more; an initial says little.

    ``rarity`` in [0.4, 1] comes from the token's inverse document frequency in the index (1 for a
    token the index does not know).
    """
    return math.sqrt(min(len(text), 12)) * rarity


_PATRONYMIC = re.compile(r"(?:[oe]vich|[oe]vna|ichna|ogly|oglu|ogli|uulu|kyzy|qizi|gizi)$")
PATRONYMIC_FACTOR = 0.5  # share of its weight a patronymic left out on one side costs


@lru_cache(maxsize=200_000)
def omission_factor(text: str) -> float:
    """Share of its weight a token left out on one side costs: a patronymic ("Petrovich",
    "Sergeyevna", "Aliyev ogly") less, as lists write it and people often omit it."""
    return PATRONYMIC_FACTOR if len(text) > 6 and _PATRONYMIC.search(text) else 1.0


@lru_cache(maxsize=200_000)
def conflict_weight(text: str) -> float:
    """Weight of a token left unmatched on both sides: its full weight, a descriptor's less."""
    return token_weight(text, DESCRIPTOR_RARITY if text in ORGANIZATION_DESCRIPTORS else 1.0)


@dataclass(slots=True)
class IndexedName:
    """One name or alias of a listed party, as the index holds it."""

    party: int  # position in ``ScreeningIndex.parties``
    quality: str  # "primary" | "strong" | "weak"
    name: NormalisedName
    token_ids: tuple[int, ...]
    alternative_ids: tuple[tuple[int, ...], ...]
    joined_ids: tuple[int, ...]  # vocabulary ids of token i + token i+1
    weights: tuple[float, ...]
    first_letters: frozenset[str]  # for queries that give initials
    # kept at build so a query does not recompute them per candidate (``_finish``): the token texts,
    # each token's rarity among listed names and people (``commonness_rarity``) and its weight by it
    texts: tuple[str, ...] = ()
    commonness: tuple[float, ...] = ()
    evidence: tuple[float, ...] = ()
    omitted: tuple[float, ...] = ()  # ``evidence`` times ``omission_factor``: what leaving a token out costs
    conflict: tuple[float, ...] = ()  # ``conflict_weight`` of each token
    numbers: frozenset[str] | None = None  # ``evidence.name_numbers`` of the name (set at build)
    has_alternatives: bool = False  # a token has alternative readings (set at build)
    # what the alignment's ``_late_pair`` needs of the name's tokens not in an abjad script (set at
    # build): one is a single letter; the first letters, and the phonetic keys' first letters, of
    # those of ``LATE_PAIR_LENGTH`` letters or more (``vocab_heads``)
    late_heads: tuple[bool, str, str] = (False, "", "")
    conflict_total: float = 0.0  # the sum of ``conflict`` (set at build)


class ScreeningIndex:
    """Names, tokens, blocking keys and exact identifiers of a set of designated parties."""

    def __init__(self, parties: Iterable[DesignatedParty], max_candidates: int = 30,
                 reference: ScreeningIndex | None = None) -> None:
        # ``reference``: the full in-force index this one is a part of (delta re-screening, D4): token
        # rarities (hence name scores) come from it, so a pair scores exactly as in a full screen
        self.reference = reference
        self.parties: list[DesignatedParty] = []
        self.names: list[IndexedName] = []
        self.max_candidates = max_candidates
        self.vocab: dict[str, int] = {}
        self.vocab_texts: list[str] = []
        self.vocab_abjad: list[bool] = []
        # each vocabulary token's phonetic, skeleton and loose keys (``similarity``), for the blocking
        self.vocab_keys: list[tuple[str, str, str]] = []
        self.vocab_forms = ListedForms([], [], [])  # what else the blocking compares of them (``similarity``)
        # each vocabulary token's first letter and its phonetic key's (the alignment's ``_late_pair``)
        self.vocab_heads: list[str] = []
        self.postings: list[set[int]] = []
        self._fuzzy_vocab: set[int] = set()  # tokens (not joined pairs) reachable by deletion keys
        self.idf: list[float] = []
        self.rarity: list[float] = []
        self.commonness_rarity: list[float] = []
        self.shorter_first: list[float] = []
        self.posting_sizes: list[int] = []
        self.party_nationalities: list[frozenset[str]] = []
        # the parties listed under at least one name not in an abjad script (the matcher's Latin path)
        self.parties_not_only_abjad: frozenset[int] = frozenset()
        # the names wholly in an abjad script of those parties (which the matcher's Latin path skips)
        self.abjad_names_of_latin_named: frozenset[int] = frozenset()
        self._deletion_keys: dict[str, list[int]] = {}
        self._phonetic_keys: dict[str, list[int]] = {}
        self._skeleton_keys: dict[str, list[int]] = {}
        self._loose_keys: dict[str, list[int]] = {}  # transliteration variants (``variants``)
        self.name_keys: dict[str, list[int]] = {}  # sorted-token key -> names
        self.documents: dict[str, list[int]] = {}
        self.emails: dict[str, list[int]] = {}
        self.wallets: dict[str, list[int]] = {}
        self._similar_cache: dict[tuple[str, bool, str], dict[int, float]] = {}
        self._pair_cache: dict[NameToken, dict[int, float]] = {}
        self.last_candidate_count = 0  # candidates examined by the latest query (for tests, metrics)
        # names left out of every answer (``masking``): the leave-one-out evaluation screens a listed
        # alias against the others without rebuilding the index
        self._masked: frozenset[int] = frozenset()
        self._positions: dict[tuple[str, str], int] | None = None
        self.skipped_names = 0  # listed names that could not be normalised (e.g. empty)
        for party in parties:
            self._add_party(party)
        self._finish()

    # -- building -----------------------------------------------------------------------------

    def _vocab_id(self, text: str, abjad: bool) -> int:
        vid = self.vocab.get(text)
        if vid is None:
            vid = len(self.vocab_texts)
            self.vocab[text] = vid
            self.vocab_texts.append(text)
            self.vocab_abjad.append(abjad)
            self.postings.append(set())
        elif abjad and not self.vocab_abjad[vid]:
            self.vocab_abjad[vid] = True
        return vid

    def _add_party(self, party: DesignatedParty) -> None:
        pidx = len(self.parties)
        self.parties.append(party)
        schema = party.schema if party.schema in ("Person", "Organization") else None
        for listed in party.names:
            try:
                norm = normalise_name(listed.full[:300], schema)
            except InvalidNameError:
                self.skipped_names += 1
                continue
            nid = len(self.names)
            token_ids = tuple(self._vocab_id(t.text, t.abjad) for t in norm.tokens)
            alternative_ids = tuple(
                tuple(self._vocab_id(a, t.abjad) for a in t.alternatives) for t in norm.tokens
            )
            joined_ids = tuple(
                self._vocab_id(a.text + b.text, a.abjad or b.abjad)
                for a, b in zip(norm.tokens, norm.tokens[1:], strict=False)
            )
            for vid in (*token_ids, *(a for alts in alternative_ids for a in alts)):
                self.postings[vid].add(nid)
                self._fuzzy_vocab.add(vid)
            for vid in joined_ids:
                self.postings[vid].add(nid)
            self.names.append(
                IndexedName(
                    party=pidx,
                    quality=listed.quality,
                    name=norm,
                    token_ids=token_ids,
                    alternative_ids=alternative_ids,
                    joined_ids=joined_ids,
                    weights=(),  # set in _finish, once token rarities are known
                    first_letters=frozenset(t.text[0] for t in norm.tokens),
                )
            )
            self.name_keys.setdefault(norm.key, []).append(nid)
        for doc in party.documents:
            key = normalise_identifier(doc.number)
            if len(key) >= 4:
                self.documents.setdefault(key, []).append(pidx)
        for email in party.emails:
            self.emails.setdefault(normalise_email(email), []).append(pidx)
        for _currency, address in party.wallets:
            self.wallets.setdefault(normalise_wallet(address), []).append(pidx)

    def _finish(self) -> None:
        n = max(len(self.names), 1)
        self.idf = [math.log(1.0 + n / max(len(p), 1)) for p in self.postings]
        reference = math.log(1.0 + n / 20.0)  # tokens in 20 names or fewer weigh fully
        self.rarity = [RARITY_FLOOR + (1.0 - RARITY_FLOOR) * min(1.0, i / reference) for i in self.idf]
        if self.reference is not None:
            known, full_rarity = self.reference.vocab, self.reference.rarity
            self.rarity = [full_rarity[known[text]] if text in known else own
                           for text, own in zip(self.vocab_texts, self.rarity, strict=True)]
        # how common each token is among people (``name_frequency``), or among listed names if more so:
        # what a match on it proves (the alignment's ``commonness``), not what leaving it out costs
        self.commonness_rarity = [
            min(own, population_rarity(text)) for own, text in zip(self.rarity, self.vocab_texts, strict=True)
        ]
        rarity, commonness = self.rarity, self.commonness_rarity
        for listed in self.names:
            listed.weights = tuple(
                token_weight(t.text, rarity[vid]) for t, vid in zip(listed.name.tokens, listed.token_ids, strict=True)
            )
            listed.texts = listed.name.texts
            listed.commonness = tuple(commonness[vid] for vid in listed.token_ids)
            listed.evidence = tuple(
                token_weight(text, r) for text, r in zip(listed.texts, listed.commonness, strict=True)
            )
            listed.omitted = tuple(
                w * omission_factor(text) for w, text in zip(listed.evidence, listed.texts, strict=True)
            )
            listed.conflict = tuple(conflict_weight(text) for text in listed.texts)
            listed.conflict_total = sum(listed.conflict)
            listed.numbers = frozenset(name_numbers(listed.name))
            listed.has_alternatives = any(listed.alternative_ids)
        # what ``candidates`` takes from a name's blocking score among equals (shorter names first)
        self.shorter_first = [SHORTER_FIRST * len(listed.token_ids) for listed in self.names]
        self.posting_sizes = [len(p) for p in self.postings]  # names holding each vocabulary token
        # each party's nationalities and citizenships, upper-cased (the matcher's evidence)
        self.party_nationalities = [
            frozenset(c.upper() for c in (*party.nationalities, *party.citizenships)) for party in self.parties
        ]
        self.parties_not_only_abjad = frozenset(
            listed.party for listed in self.names if not any(t.abjad for t in listed.name.tokens))
        self.abjad_names_of_latin_named = frozenset(
            nid for nid, listed in enumerate(self.names)
            if listed.party in self.parties_not_only_abjad and listed.name.tokens
            and all(t.abjad for t in listed.name.tokens))
        self.vocab_keys = [(phonetic_key(text), skeleton_key(text), loose_key(text)) for text in self.vocab_texts]
        self.vocab_forms = ListedForms.of(self.vocab_texts)
        self.vocab_heads = [text[:1] + phonetic[:1] for text, (phonetic, _s, _l) in zip(self.vocab_texts,
                                                                                      self.vocab_keys, strict=True)]
        for listed in self.names:
            latin = [(text, vid) for text, vid in zip(listed.texts, listed.token_ids, strict=True)
                     if not self.vocab_abjad[vid]]
            long_heads = [self.vocab_heads[vid] for text, vid in latin if len(text) >= LATE_PAIR_LENGTH]
            listed.late_heads = (any(len(text) == 1 for text, _vid in latin),
                                 "".join(sorted({h[:1] for h in long_heads})),
                                 "".join(sorted({h[1:] for h in long_heads})))
        for vid, (text, (phonetic, skeleton, loose)) in enumerate(zip(self.vocab_texts, self.vocab_keys, strict=True)):
            if vid in self._fuzzy_vocab:
                for key in deletion_keys(text):
                    self._deletion_keys.setdefault(key, []).append(vid)
            else:
                self._deletion_keys.setdefault(text, []).append(vid)
            self._phonetic_keys.setdefault(phonetic, []).append(vid)
            self._skeleton_keys.setdefault(skeleton, []).append(vid)
            if len(loose) >= MIN_LOOSE_KEY and not text.isdigit():
                self._loose_keys.setdefault(loose, []).append(vid)

    def __len__(self) -> int:
        return len(self.names)

    def party_position(self, source: str, source_id: str) -> int:
        """Position in ``parties`` of the party listed as ``source_id`` by ``source`` (-1 if absent)."""
        if self._positions is None:
            self._positions = {(p.source, p.source_id): i for i, p in enumerate(self.parties)}
        return self._positions.get((source, source_id), -1)

    @contextmanager
    def masking(self, name_ids: Iterable[int]) -> Iterator[None]:
        """Leave these names out of the candidates while the block runs (the evaluation's leave-one-out).

        Token rarities stay those of the whole index: one name more or less moves them by little.
        """
        previous = self._masked
        self._masked = frozenset(name_ids)
        try:
            yield
        finally:
            self._masked = previous

    # -- querying -----------------------------------------------------------------------------

    def similar_tokens(self, text: str, abjad: bool = False, kind: str = "token") -> QueryTokenMatches:
        """Vocabulary tokens similar to ``text`` (through any key), with their similarity.

        ``kind``: "token" (any key), "syllable" (a Han/Hangul syllable: not compared with abjad
        skeletons), "joined" (two query tokens written together: spelling only, as the phonetic
        key of a concatenation means little). Answers are cached (bounded): common tokens
        ("mohammed", "li") recur across queries.
        """
        key = (text, abjad, kind)
        cached = self._similar_cache.get(key)
        if cached is not None:
            return QueryTokenMatches(dict(cached))
        matches = self._similar_tokens(text, abjad, kind)
        if len(self._similar_cache) >= SIMILAR_CACHE_SIZE:
            self._similar_cache.clear()
        self._similar_cache[key] = dict(matches.sims)
        return matches

    def _similar_tokens(self, text: str, abjad: bool, kind: str) -> QueryTokenMatches:
        # the vocabulary ids of each deletion key, in ``deletion_keys``'s order (a key given twice adds
        # nothing the second time: the same set, built in the same order)
        keys = [text, *[text[:i] + text[i + 1 :] for i in range(len(text))]] if len(text) >= 4 else [text]
        found: set[int] = set()
        found.update(*filter(None, map(self._deletion_keys.get, keys)))
        matches = QueryTokenMatches()
        texts, abjads = self.vocab_texts, self.vocab_abjad
        if kind == "joined":
            for vid in found:
                sim = spelled_similarity(text, texts[vid])
                if sim >= TOKEN_FLOOR:
                    matches.add(vid, sim)
            return matches
        found.update(self._phonetic_keys.get(phonetic_key(text), ()))
        if kind == "token":
            found.update(self._loose_keys.get(loose_key(text), ()))
        skeleton_text = skeleton_key(text)
        skeleton = self._skeleton_keys.get(skeleton_text, ())
        if abjad or (len(skeleton_text) >= 3 and kind != "syllable"):
            found.update(skeleton)
        elif kind != "syllable":
            found.update(v for v in skeleton if abjads[v])
        # a syllable of Chinese or Korean read by a romaniser is a whole name: one letter more or less
        # is another name ("Ching" / "Chung", "Jianping" / "Jiangping"), so only the same phonetic key
        # each vocabulary id once and every similarity above 0: as ``add`` would keep them
        if kind == "syllable":
            kept = [vid for vid in found if not abjads[vid]]
            return QueryTokenMatches(
                dict(similar_listed(text, kept, texts, abjads, self.vocab_keys, self.vocab_forms, abjad,
                                    CLOSE_MATCH))
            )
        return QueryTokenMatches(dict(similar_listed(text, found, texts, abjads, self.vocab_keys, self.vocab_forms,
                                                     abjad, TOKEN_FLOOR)))

    def token_pairs(self, token: NameToken) -> dict[int, float]:
        """The similarities of a query token to the listed tokens (by vocabulary id) the alignment has
        needed so far (``alignment_indexed.score_indexed`` fills it): a function of the token and the index
        only, kept across queries (bounded), as common tokens recur."""
        pairs = self._pair_cache.get(token)
        if pairs is None:
            if len(self._pair_cache) >= PAIR_CACHE_SIZE:
                self._pair_cache.clear()
            pairs = self._pair_cache[token] = {}
        return pairs

    def query_positions(self, query: NormalisedName) -> list[QueryTokenMatches]:
        """The vocabulary tokens similar to each query token (the first step of ``candidates``)."""
        positions: list[QueryTokenMatches] = []
        for tok in query.tokens:
            if tok.is_initial:
                positions.append(QueryTokenMatches())
                continue
            kind = "syllable" if tok.syllable else "token"
            matches = self.similar_tokens(tok.text, tok.abjad, kind)
            for alt in tok.alternatives:
                for vid, sim in self.similar_tokens(alt, tok.abjad, kind).sims.items():
                    matches.add(vid, sim * ALTERNATIVE_DISCOUNT)
            positions.append(matches)
        return positions

    def candidates(self, query: NormalisedName) -> CandidateSet:
        """Blocking: the names worth a full score for this query name, best first (``blocking``)."""
        return blocking_candidates(self, query)

    def parties_by_document(self, number: str) -> list[int]:
        return self.documents.get(normalise_identifier(number), [])

    def parties_by_email(self, email: str) -> list[int]:
        return self.emails.get(normalise_email(email), [])

    def parties_by_wallet(self, address: str) -> list[int]:
        return self.wallets.get(normalise_wallet(address), [])


def deletion_keys(text: str) -> tuple[str, ...]:
    """The token and, for tokens of four letters or more, every form with one letter deleted.

    In a fixed order (the token, then the deletions from the first letter on): the vocabulary ids a
    query gathers through them then go into a set in the same order in every process, so ties among
    equally similar tokens are broken the same way (a set of strings is iterated in the order of their
    hashes, which vary from process to process).
    """
    if len(text) < 4:
        return (text,)
    return tuple(dict.fromkeys([text, *(text[:i] + text[i + 1 :] for i in range(len(text)))]))
