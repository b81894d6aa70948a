"""Facts in OFAC remarks: dates and places of birth, nationality, documents, emails, wallets, aliases (D3).

OFAC's legacy files carry the strongest identifying evidence as free text in the remarks column,
clauses separated by ``;`` (``DOB 01 Jun 1961; POB Riga, Latvia; Passport RU0313455106 (Russia);
Digital Currency Address - XBT 1Abc...; a.k.a. 'Mag'``). ``parse_remarks`` reads the clauses it
understands into typed facts and keeps every other clause, in order, as remaining remarks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cloudcip.domain.designated import ListedDocument, ListedName
from cloudcip.screening.loaders.countries import country_code, trailing_country

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_MAX_RANGE_YEARS = 30  # a wider "DOB 1900 to 2000" says nothing; keep the clause as a remark instead

_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})$")
_MONTH_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_RANGE = re.compile(r"^(.+?)\s*(?:\bto\b|-|–)\s*(.+)$")


def _month(word: str) -> int | None:
    word = word.lower().rstrip(".")
    return _MONTHS.get(word[:3] if word[:4] != "sept" else "sept")


def parse_single_date(text: str) -> str | None:
    """``"01 Jan 1970"`` → ``"1970-01-01"``, ``"Jan 1970"`` → ``"1970-01"``, ``"1970"`` → ``"1970"``."""
    text = " ".join(text.split()).strip(" .,")
    if match := _YEAR.match(text):
        return match.group(1)
    if match := _ISO.match(text):
        year, month, day = match.groups()
        if not 1 <= int(month) <= 12 or (day is not None and not 1 <= int(day) <= 31):
            return None
        return text
    if match := _DAY_MONTH_YEAR.match(text):
        day_text, month_word, year = match.groups()
        month = _month(month_word)
        day = int(day_text)
        if month is None or not 1 <= day <= 31:
            return None
        return f"{year}-{month:02d}-{day:02d}"
    if match := _MONTH_YEAR.match(text):
        month = _month(match.group(1))
        if month is None:
            return None
        return f"{match.group(2)}-{month:02d}"
    return None


def parse_birth_dates(text: str) -> list[str]:
    """Dates of birth as OFAC writes them, as ISO strings; a range gives each year; [] if not understood.

    Handles ``01 Jan 1970``, ``Jan 1970``, ``1970``, ``circa 1970``, ``1968 to 1970``,
    ``01 Jan 1961 to 31 Dec 1962`` and ``circa 1979-1982``.
    """
    text = " ".join(text.split()).strip(" .,")
    text = re.sub(r"^(?:circa|approximately|approx\.?|about)\s+", "", text, flags=re.IGNORECASE)
    single = parse_single_date(text)
    if single is not None:
        return [single]
    match = _RANGE.match(text)
    if match is None:
        return []
    start = parse_single_date(match.group(1))
    end = parse_single_date(match.group(2))
    if start is None or end is None:
        return []
    first, last = int(start[:4]), int(end[:4])
    if last < first or last - first > _MAX_RANGE_YEARS:
        return []
    return [str(year) for year in range(first, last + 1)]


# identity-document clauses: label (as written, without "alt.") → document kind
_DOCUMENT_LABELS: tuple[tuple[str, str], ...] = (
    ("Passport No.", "passport"),
    ("Passport", "passport"),
    ("Diplomatic Passport", "passport"),
    ("National ID No.", "national_id"),
    ("National ID", "national_id"),
    ("Cedula No.", "national_id"),
    ("C.U.R.P.", "national_id"),
    ("Personal ID Card", "national_id"),
    ("Identification Number", "other"),
    ("SSN", "national_id"),
    ("Tax ID No.", "tax_id"),
    ("NIT #", "tax_id"),
    ("RUC #", "tax_id"),
    ("R.F.C.", "tax_id"),
    ("V.A.T. Number", "tax_id"),
    ("CUIT", "tax_id"),
    ("Registration Number", "registration"),
    ("Registration ID", "registration"),
    ("Company Number", "registration"),
    ("Business Registration Number", "registration"),
    ("Commercial Registry Number", "registration"),
    ("Business Number", "registration"),
    ("Trade License No.", "registration"),
    ("D-U-N-S Number", "registration"),
    ("Vessel Registration Identification", "registration"),
)
_DOCUMENT_RE = re.compile(
    r"^(?P<label>"
    + "|".join(re.escape(label) for label, _ in sorted(_DOCUMENT_LABELS, key=lambda item: -len(item[0])))
    + r")\s+(?P<rest>.+)$"
)
_DOCUMENT_KIND = dict(_DOCUMENT_LABELS)
_DOCUMENT_NOTE = re.compile(r"\s+(?=(?:issued|expires|Issue Date|Expiration Date|valid)\b)", re.IGNORECASE)

_ALIAS_RE = re.compile(r"^(a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*['\"‘’](?P<name>.+?)['\"‘’]$")
_DOB_RE = re.compile(r"^DOB\s+(?P<value>.+)$")
_POB_RE = re.compile(r"^POB\s+(?P<value>.+)$")
_NATIONALITY_RE = re.compile(r"^nationality\s+(?P<value>.+)$", re.IGNORECASE)
_CITIZEN_RE = re.compile(r"^citizen\s+(?P<value>.+)$", re.IGNORECASE)
_GENDER_RE = re.compile(r"^Gender\s+(?P<value>Male|Female)$", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^Email(?: Address)?\s+(?P<value>[^\s@]+@[^\s@]+\.[^\s@]+)$", re.IGNORECASE)
_WEBSITE_RE = re.compile(r"^Website\s+(?P<value>\S+)$", re.IGNORECASE)
_WALLET_RE = re.compile(r"^Digital Currency Address\s*-\s*(?P<currency>[A-Za-z0-9]{2,6})\s+(?P<address>\S+)$")


@dataclass(slots=True)
class RemarkFacts:
    """What ``parse_remarks`` understood in one remarks text, plus the clauses it left alone."""

    birth_dates: list[str] = field(default_factory=list)
    birth_places: list[str] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    citizenships: list[str] = field(default_factory=list)
    gender: str | None = None
    documents: list[ListedDocument] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    websites: list[str] = field(default_factory=list)
    wallets: list[tuple[str, str]] = field(default_factory=list)
    aliases: list[ListedName] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)

    @property
    def remarks(self) -> str | None:
        """The clauses not turned into facts, joined back as OFAC writes them; None when none are left."""
        return "; ".join(self.remaining) + "." if self.remaining else None


def split_clauses(text: str) -> list[str]:
    """The ``;``-separated clauses of a remarks text, trimmed, without the final full stop."""
    text = text.strip()
    if text.endswith("."):
        text = text[:-1]
    return [clause.strip() for clause in text.split(";") if clause.strip()]


def _append_unique(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _parse_document(label: str, rest: str) -> ListedDocument | None:
    parts = _DOCUMENT_NOTE.split(rest, maxsplit=1)
    number_part = parts[0]
    note = parts[1].strip() if len(parts) > 1 else None
    number, country = trailing_country(number_part)
    number = number.strip(" ,")
    if not any(ch.isdigit() for ch in number):
        return None
    kind = _DOCUMENT_KIND[label]
    if label not in ("Passport", "Passport No.", "National ID", "National ID No.", "Tax ID No."):
        note = f"{label.rstrip(' #.')}" + (f"; {note}" if note else "")
    if number.upper().startswith("IMO "):
        kind = "registration"
    return ListedDocument(kind=kind, number=number, country=country, note=note)


_FACT_WORDS = frozenset(
    {"a.k.a.", "f.k.a.", "n.k.a.", "dob", "pob", "nationality", "citizen", "gender", "email", "website", "digital"}
    | {label.split(" ", 1)[0].lower() for label, _ in _DOCUMENT_LABELS}
)


def _parse_clause(clause: str, facts: RemarkFacts) -> bool:
    """Record what ``clause`` says in ``facts``; False when it is not a fact this module knows."""
    body = clause[5:].strip() if clause.startswith("alt. ") else clause
    if body.split(" ", 1)[0].lower() not in _FACT_WORDS:  # "Linked To:", "Additional Sanctions ...": fast path
        return False
    if match := _ALIAS_RE.match(body):
        name = " ".join(match.group("name").split())
        if not name:
            return False
        facts.aliases.append(ListedName(full=name, quality="strong"))
        return True
    if match := _DOB_RE.match(body):
        dates = parse_birth_dates(match.group("value"))
        for date in dates:
            _append_unique(facts.birth_dates, date)
        return bool(dates)
    if match := _POB_RE.match(body):
        _append_unique(facts.birth_places, match.group("value").strip())
        return True
    if match := _NATIONALITY_RE.match(body):
        code = country_code(match.group("value"))
        if code is None:
            return False
        _append_unique(facts.nationalities, code)
        return True
    if match := _CITIZEN_RE.match(body):
        code = country_code(match.group("value"))
        if code is None:
            return False
        _append_unique(facts.citizenships, code)
        return True
    if match := _GENDER_RE.match(body):
        facts.gender = match.group("value").lower()
        return True
    if match := _EMAIL_RE.match(body):
        _append_unique(facts.emails, match.group("value"))
        return True
    if match := _WEBSITE_RE.match(body):
        _append_unique(facts.websites, match.group("value"))
        return True
    if match := _WALLET_RE.match(body):
        wallet = (match.group("currency").upper(), match.group("address"))
        if wallet not in facts.wallets:
            facts.wallets.append(wallet)
        return True
    if match := _DOCUMENT_RE.match(body):
        document = _parse_document(match.group("label"), match.group("rest"))
        if document is None:
            return False
        if document not in facts.documents:
            facts.documents.append(document)
        return True
    return False


def parse_remarks(text: str | None) -> RemarkFacts:
    """Read the facts out of an OFAC remarks text; clauses not understood stay in ``remaining``."""
    facts = RemarkFacts()
    if not text:
        return facts
    for clause in split_clauses(text):
        if not _parse_clause(clause, facts):
            facts.remaining.append(clause)
    return facts
