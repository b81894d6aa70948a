"""The words of a name that are not the name itself, for screening (D3).

Honorifics and generational suffixes of individuals, particles (al, bin, van der, ...) written apart or
glued to the name they lead ("alhassan" also reads "hassan"), and the legal-form words of entities
(LLC, OOO, GmbH, ..., also written out in words or transliterated), which the matcher keeps apart as
a weak feature (a limited-liability company is not a joint-stock one).
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import OSA

from cloudcip.screening.similarity import phonetic_key, skeleton_key


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())

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
    jv sprl bvba sal lda sia uab tob nao fgup gup mup""")
)
_GLUED_SUFFIX_PARTICLES: tuple[str, ...] = (
    "bin", "ibn", "abu", "van", "von", "der", "del", "al", "ul", "de",
)  # fmt: skip
_GLUED_WORDS: tuple[str, ...] = ("and", "for", "the", "of")  # an entity's connecting words glued on
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
    ("zakrytoe", "aktsionernoe", "obshchestvo"),
    ("otkrytoe", "aktsionernoe", "obshchestvo"),
    ("publichnoe", "aktsionernoe", "obshchestvo"),
    ("aktsionernaya", "kompaniya"),
    ("state", "unitary", "enterprise"),
    ("federal", "state", "unitary", "enterprise"),
    ("tovarystvo", "z", "obmezhenoiu", "vidpovidalnistiu"),
)
ROMAN_NUMERALS: dict[str, int] = {
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10,
    "xi": 11, "xii": 12,
}  # fmt: skip
# legal forms that contradict each other: a limited-liability company (no shares) is not a
# joint-stock company; the others (Ltd, Inc, Co, Corp ...) may be either
LIMITED_LIABILITY_FORMS: frozenset[str] = _wordset(
    "llc ooo tov tob gmbh mbh sarl srl sro kft doo ood eood ltda lda eirl sl slu sll sp tzov pllc bhd sprl bvba sia")
JOINT_STOCK_FORMS: frozenset[str] = _wordset(
    "jsc ojsc cjsc pjsc ao oao zao pao nao pat prat ag sa sal nv spa sapa asa oyj zrt nyrt sas sau dd ad tbk kk")
# Arabic theophoric compounds written glued: "Abdul" is "Abd" + article
COMPOUND_ALTERNATIVES: dict[str, str] = {
    "abdul": "abd", "abdel": "abd", "abdal": "abd", "abdoul": "abd", "abdol": "abd", "abdoel": "abd",
}  # fmt: skip
# connecting words of organisation names that carry no identity of their own
ORGANIZATION_STOPWORDS: frozenset[str] = _wordset("the and of for und et y e")
# words that say what kind of organisation it is, not which one ("KINGS ROMANS GROUP" is "KINGS ROMANS
# CASINO"; "BONYAD SHIPPING AGENCIES" is not "SYRIAN SHIPPING AGENCIES"): left out on both sides they
# weigh as the most common tokens do (``DESCRIPTOR_RARITY``), so an organisation's core words decide
# (not "army", "front", "bank", "foundation": they tell organisations of one name apart)
ORGANIZATION_DESCRIPTORS: frozenset[str] = _wordset("""company companies compania companhia kompaniya group
    groups groupe grupo gruppa holding holdings international intl trading trade traders general
    industries industry industrial industrie services service servicios management enterprise
    enterprises empresa corporation corporacion plant factory factories zavod kombinat agency agencies
    agencia branch investment investments inversiones development engineering import export importers
    exporters commercial commerce comercial comercializadora construction constructora technology
    technologies systems solutions resources logistics partners ventures consulting products
    manufacturing establishment""")
DESCRIPTOR_RARITY = 0.4  # weight factor of a descriptor (as the most common tokens')


def legal_phrase_positions(texts: list[str]) -> set[int]:
    """Positions of tokens that belong to a legal form written out in words (also transliterated)."""
    keys = tuple(phonetic_key(t) for t in texts)
    found: set[int] = set()
    for start, key in enumerate(keys):
        # only the phrases whose first word is this token's: most tokens start none
        for phrase in _LEGAL_PHRASES_BY_FIRST.get(key, ()):
            n = len(phrase)
            if keys[start : start + n] == phrase:
                found.update(range(start, start + n))
    return found


@lru_cache(maxsize=100_000)
def glued_suffix_alternative(token: str, entity: bool) -> str | None:
    """"husainal" -> "husain", "developersinc" -> "developers" (entities only for legal forms)."""
    # (each loop only once one of its words ends or starts the token: ``str.endswith`` of the tuple)
    if token.endswith(_GLUED_SUFFIX_PARTICLES):
        for suffix in _GLUED_SUFFIX_PARTICLES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 4:
                return token[: -len(suffix)]
    if entity:
        if token.startswith(_GLUED_WORDS) or token.endswith(_GLUED_WORDS):
            for word in _GLUED_WORDS:
                if token.startswith(word) and len(token) - len(word) >= 4:
                    return token[len(word) :]
                if token.endswith(word) and len(token) - len(word) >= 4:
                    return token[: -len(word)]
        if token.endswith(_GLUED_LEGAL_FORMS):
            for suffix in _GLUED_LEGAL_FORMS:
                if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                    return token[: -len(suffix)]
    return None


@lru_cache(maxsize=100_000)
def glued_particle_alternative(token: str) -> str | None:
    for particle in _GLUED_PARTICLES:
        if token.startswith(particle) and len(token) - len(particle) >= 3:
            rest = token[len(particle) :]
            deeper = glued_particle_alternative(rest)
            return deeper or rest
    return None


@lru_cache(maxsize=50_000)
def is_legal_form(token: str, abjad: bool = False) -> bool:
    """Whether an ASCII token is a legal-form word of an entity (also as transliterated back, or
    mistyped by one letter when it is a long word such as "company" or "limited")."""
    if token in LEGAL_FORMS or (len(token) > 1 and phonetic_key(token) in _LEGAL_FORM_KEYS):
        return True
    if abjad:
        return skeleton_key(token) in _LEGAL_FORM_SKELETONS
    return len(token) >= 5 and any(OSA.distance(token, word) <= 1 for word in _LONG_LEGAL_WORDS)



_LEGAL_FORM_KEYS: frozenset[str] = frozenset(phonetic_key(f) for f in LEGAL_FORMS if len(f) > 1)
_LONG_LEGAL_WORDS: tuple[str, ...] = tuple(sorted(f for f in LEGAL_FORMS if len(f) >= 5 and f.isalpha()))
_LEGAL_PHRASE_KEYS: tuple[tuple[str, ...], ...] = tuple(
    tuple(phonetic_key(w) for w in phrase) for phrase in LEGAL_PHRASES
)
# the phrases by the phonetic key of their first word, in ``LEGAL_PHRASES``'s order (``legal_phrase_positions``)
_LEGAL_PHRASES_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {
    first: tuple(phrase for phrase in _LEGAL_PHRASE_KEYS if phrase[0] == first)
    for first in dict.fromkeys(phrase[0] for phrase in _LEGAL_PHRASE_KEYS)
}
_LEGAL_FORM_SKELETONS: frozenset[str] = frozenset(
    k for k in (skeleton_key(f) for f in LEGAL_FORMS if f.isalpha()) if len(k) >= 3
)
