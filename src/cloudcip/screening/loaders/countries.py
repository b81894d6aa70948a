"""Country names as the lists spell them → ISO 3166-1 alpha-2 (D3).

OFAC, the UN and BIS write countries in their own ways ("Korea, North", "Iran (Islamic Republic of)",
"Burma", "Crimea region of Ukraine", "former Soviet Union"); pycountry knows the official names and
the common ones, and the table below covers the list spellings it does not.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pycountry

# list spellings pycountry does not resolve (or resolves ambiguously), lower-cased
_LIST_SPELLINGS: dict[str, str] = {
    "korea, north": "KP",
    "north korea": "KP",
    "democratic people's republic of korea": "KP",
    "korea, democratic people's republic of": "KP",
    "dprk": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "korea": "KR",
    "iran": "IR",
    "iran (islamic republic of)": "IR",
    "russia": "RU",
    "russian federation": "RU",
    "burma": "MM",
    "myanmar": "MM",
    "crimea region of ukraine": "UA",
    "crimea": "UA",
    "region: crimea": "UA",
    "syria": "SY",
    "syrian arab republic": "SY",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "united republic of tanzania": "TZ",
    "vietnam": "VN",
    "viet nam": "VN",
    "laos": "LA",
    "moldova": "MD",
    "macedonia": "MK",
    "north macedonia": "MK",
    "the former yugoslav republic of macedonia": "MK",
    "turkey": "TR",
    "türkiye": "TR",
    "turkiye": "TR",
    "czech republic": "CZ",
    "united kingdom": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "u.s.": "US",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo": "CG",
    "congo, republic of the": "CG",
    "republic of the congo": "CG",
    "cote d'ivoire": "CI",
    "côte d'ivoire": "CI",
    "ivory coast": "CI",
    "palestinian": "PS",
    "state of palestine": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "palestine": "PS",
    "brunei": "BN",
    "cabo verde": "CV",
    "cape verde": "CV",
    "micronesia, federated states of": "FM",
    "the bahamas": "BS",
    "bahamas, the": "BS",
    "gambia, the": "GM",
    "the gambia": "GM",
    "holland": "NL",
    "netherlands antilles": "CW",
    "kosovo": "XK",
    "taiwan": "TW",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "vatican city": "VA",
    "holy see": "VA",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "east timor": "TL",
    "timor-leste": "TL",
    "saint kitts and nevis": "KN",
    "st. kitts and nevis": "KN",
    "saint vincent and the grenadines": "VC",
    "st. vincent and the grenadines": "VC",
    "saint lucia": "LC",
    "st. lucia": "LC",
    "british virgin islands": "VG",
    "virgin islands, british": "VG",
    "u.s. virgin islands": "VI",
    "sao tome and principe": "ST",
    "são tomé and príncipe": "ST",
    "libya": "LY",
    "libyan arab jamahiriya": "LY",
    "cote d ivoire": "CI",
    "china, hong kong special administrative region": "HK",
    "hong kong special administrative region": "HK",
    "macedonia, the former yugoslav republic of": "MK",
    "northern mali": "ML",
    "bosnia-herzegovina": "BA",
    "kyrgyzstan": "KG",
    "kyrgyz republic": "KG",
    "slovak republic": "SK",
}

# historic entities with no current alpha-2: keep them unresolved rather than guess
_UNRESOLVED = {"former soviet union", "soviet union", "ussr", "yugoslavia", "serbia and montenegro", "na", "n/a"}


def _fold(text: str) -> str:
    text = " ".join(text.replace("\u2019", "'").split()).strip(" .;,").lower()
    return text


@lru_cache(maxsize=4096)
def country_code(name: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code for a country as a list writes it, or None when it is not a country.

    >>> country_code("Korea, North")
    'KP'
    >>> country_code("Iran (Islamic Republic of)")
    'IR'
    """
    if not name:
        return None
    folded = _fold(name)
    if not folded or folded in _UNRESOLVED:
        return None
    if folded.startswith("region:"):  # OFAC: "Region: Gaza", "Region: Northern Mali"
        return country_code(folded.removeprefix("region:"))
    if folded in _LIST_SPELLINGS:
        return _LIST_SPELLINGS[folded]
    if len(folded) == 2 and folded.isalpha():
        hit = pycountry.countries.get(alpha_2=folded.upper())
        return hit.alpha_2 if hit is not None else None
    if len(folded) == 3 and folded.isalpha():
        hit = pycountry.countries.get(alpha_3=folded.upper())
        if hit is not None:
            return str(hit.alpha_2)
    for candidate in (folded, _strip_accents(folded)):
        try:
            found = pycountry.countries.lookup(candidate)
        except LookupError:
            continue
        return str(found.alpha_2)
    # "Tehran, Iran" / "Region: Crimea" - the last comma part is often the country
    if "," in folded:
        tail = folded.rsplit(",", 1)[1].strip()
        if tail and tail != folded:
            return country_code(tail)
    return None


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


_PAREN = re.compile(r"\(([^()]*)\)\s*$")


def trailing_country(text: str) -> tuple[str, str | None]:
    """Split ``"123456 (Iran)"`` into ``("123456", "IR")``; the country is None when absent or unknown."""
    match = _PAREN.search(text)
    if match is None:
        return text.strip(), None
    code = country_code(match.group(1))
    if code is None:
        return text.strip(), None
    return text[: match.start()].strip(), code


def country_name(code: str) -> str:
    """The short English name of an alpha-2 code (``"BY"`` → ``"Belarus"``); the code itself if unknown."""
    found = pycountry.countries.get(alpha_2=code.upper())
    return str(found.name) if found is not None else code
