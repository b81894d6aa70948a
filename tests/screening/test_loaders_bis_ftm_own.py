"""BIS Denied Persons List, FollowTheMoney JSON lines and the provider's own CSV on synthetic fixtures (D3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudcip.domain.designated import ListedAddress, ListedDocument, ListedName
from cloudcip.screening.loaders import ListFormatError, load_publication
from cloudcip.screening.loaders.bis import guess_schema

FIXTURES = Path(__file__).parent / "fixtures"
OWN_HEADER = "id,schema,name,aliases,birth_date,nationality,country,id_numbers,emails,wallets,programs,remarks\n"


# --- BIS ---------------------------------------------------------------------------------------


def test_bis_groups_rows_by_name() -> None:
    publication = load_publication("bis-dpl", [FIXTURES / "bis_dpl.txt"])
    assert publication.source == "bis-dpl"
    assert publication.published == "2018-07-09"  # latest Last_Update that is not in the future
    parties = publication.parties
    assert [p.primary_name for p in parties] == [
        "JOHN EXAMPLE SMITH",
        "EXAMPLE ELECTRONICS COMPANY LIMITED",
        "WEI EXAMPLE",
        "SAMPLEWARE",
    ]
    assert [p.schema for p in parties] == ["Person", "Organization", "Person", "Unknown"]
    assert len(parties[0].addresses) == 2
    assert parties[0].addresses[0] == ListedAddress(
        text="1 TEST ROAD, SPRINGFIELD, IL, 62701, US", city="SPRINGFIELD", country="US"
    )
    assert parties[2].names == [ListedName(full="WEI EXAMPLE"), ListedName(full="WILLIAM EXAMPLE", quality="strong")]
    assert parties[0].programs == ["DPL"]
    assert parties[0].remarks is not None and "80 F.R. 100" in parties[0].remarks
    assert len({p.source_id for p in parties}) == 4
    # the id is stable from one publication to the next
    assert load_publication("bis-dpl", [FIXTURES / "bis_dpl.txt"]).parties[0].source_id == parties[0].source_id


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("ACME TRADING FZE", "Organization"),
        ("NORTH STAR CO.", "Organization"),
        ("SHOP4YOU.NET", "Organization"),
        ("ROBERT J. DOE, SR.", "Person"),
        ("DOE, JANE", "Person"),
        ('JOHN "JACK" DOE', "Person"),
        ("ZEBRAWORKS", "Unknown"),
    ],
)
def test_bis_schema_guess(name: str, schema: str) -> None:
    assert guess_schema(name) == schema


def test_bis_errors(tmp_path: Path) -> None:
    path = tmp_path / "dpl.txt"
    header = (FIXTURES / "bis_dpl.txt").read_text().splitlines()[0]
    path.write_text(header + '\n"A"\t"B"\n')
    with pytest.raises(ListFormatError, match=r"dpl\.txt: line 2: expected 12 columns, found 2"):
        load_publication("bis-dpl", [path])
    path.write_text('"Nom"\t"Adresse"\n"A"\t"B"\n')
    with pytest.raises(ListFormatError, match="line 1: not a BIS DPL header"):
        load_publication("bis-dpl", [path])
    path.write_text(header + "\n" + "\t".join(['""'] * 12) + "\n")
    with pytest.raises(ListFormatError, match="line 2: missing name"):
        load_publication("bis-dpl", [path])
    path.write_text(header + "\n")
    with pytest.raises(ListFormatError, match="no entries"):
        load_publication("bis-dpl", [path])


# --- FtM ---------------------------------------------------------------------------------------


def test_ftm_parties_wallets_sanctions_and_documents() -> None:
    publication = load_publication("ftm-json", [FIXTURES / "ftm.jsonl"])
    assert publication.source == "ftm"
    assert publication.published == "2025-07-01T10:00:00"
    parties = {p.source_id: p for p in publication.parties}
    assert set(parties) == {"ex-person-1", "ex-company-1", "ex-vessel-1", "ex-plane-1", "ex-wallet-2"}
    person = parties["ex-person-1"]
    assert person.schema == "Person"
    assert person.names == [
        ListedName(full="Lena Example", given="Lena", family="Example"),
        ListedName(full="Elena Examplova", quality="strong"),
        ListedName(full="Lena Sampleton", quality="strong"),  # previousName
        ListedName(full="Lenka", quality="weak"),  # weakAlias
    ]
    assert person.birth_dates == ["1982-04-05", "1983"]
    assert (person.nationalities, person.citizenships, person.gender) == (["BY"], ["RU"], "female")
    assert person.emails == ["lena@example.test"]
    assert person.wallets == [("XBT", "bc1qexampleexampleexample")]  # BTC written as XBT, attached to holder
    assert ListedDocument(kind="passport", number="MP1234567") in person.documents
    assert ListedDocument(kind="passport", number="PP-99", country="BY") in person.documents  # Passport entity
    assert ListedDocument(kind="tax_id", number="TAX-55") in person.documents
    assert ListedAddress(text="Belarus", country="BY") in person.addresses
    assert person.programs == ["EX-PROG"]
    assert person.remarks == "Synthetic person; Topics: sanction"
    company = parties["ex-company-1"]
    assert (company.schema, company.nationalities, company.websites) == (
        "Organization",
        ["AE"],
        ["sample-logistics.test"],
    )
    assert parties["ex-vessel-1"].programs == ["EX-SHIPS"]  # from the Sanction entity
    assert parties["ex-plane-1"].schema == "Aircraft"
    orphan = parties["ex-wallet-2"]
    assert orphan.wallets == [("ETH", "0xdeadbeef00000000000000000000000000000001")]
    assert orphan.names == [ListedName(full="Orphan wallet")]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema": "Person", "properties": {"name": ["A"]}}', "missing id"),
        ('{"id": "x", "properties": {"name": ["A"]}}', "missing schema"),
        ('{"id": "x", "schema": "Person", "properties": {"name": "A"}}', "not an object of lists"),
        ('{"id": "x", "schema": "Person", "properties": {"alias": ["A"]}}', "missing name"),
        ('{"id": "x", "schema": "Person", "properties": {"name": [1]}}', "not strings"),
        ('{"id": "w", "schema": "CryptoWallet", "properties": {"currency": ["XBT"]}}', "without publicKey"),
    ],
)
def test_ftm_errors_name_the_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": "ok", "schema": "Person", "properties": {"name": ["Fine Example"]}}\n\n' + line + "\n")
    with pytest.raises(ListFormatError) as caught:
        load_publication("ftm-json", [path])
    assert (caught.value.file, caught.value.location) == ("e.jsonl", "line 3")
    assert reason in caught.value.reason


# --- own CSV -----------------------------------------------------------------------------------


def test_own_csv() -> None:
    publication = load_publication("own-csv", [FIXTURES / "own.csv"])
    assert publication.source == "own"
    first, second, third = publication.parties
    assert first.source_id == "own-1" and first.schema == "Person"
    assert [n.full for n in first.names] == ["Marta Example", "Marta Exemplo", "M. Example"]
    assert [n.quality for n in first.names] == ["primary", "strong", "strong"]
    assert first.birth_dates == ["1990-02-03", "1991"]
    assert first.nationalities == ["PT", "BR"]
    assert first.addresses == [ListedAddress(text="Portugal", country="PT")]
    assert first.documents == [
        ListedDocument(kind="passport", number="P123456", country="PT"),
        ListedDocument(kind="tax_id", number="999888777"),
    ]
    assert first.wallets == [("XBT", "1OwnExampleAddr"), ("ETH", "0xown0000000000000000000000000000000000001")]
    assert (first.emails, first.programs, first.remarks) == (["marta@example.test"], ["FRAUD"], "Chargeback ring")
    assert second.schema == "Organization" and second.remarks == "Repeated abuse, terminated"
    assert second.documents == [ListedDocument(kind="registration", number="01234567")]
    assert third.schema == "Unknown" and third.programs == ["BANNED"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("x,Person,,,,,,,,,,", "missing name"),
        (",Person,A,,,,,,,,,", "missing id"),
        ("x,Robot,A,,,,,,,,,", "schema must be one of"),
        ("x,Person,A,,31/12/1990,,,,,,,", "birth_date"),
        ("x,Person,A,,,Atlantis,,,,,,", "nationality"),
        ("x,Person,A,,,,Atlantis,,,,,", "country"),
        ("x,Person,A,,,,,licence:123,,,,", "id_numbers kind"),
        ("x,Person,A,,,,,,nobody,,,", "without @"),
        ("x,Person,A,,,,,,,1abc,,", "CUR:address"),
        ("x,Person,A,,,,,,,,", "expected 12 columns, found 11"),
        ('x,Person,"A"b,,,,,,,,,', "bad CSV quoting"),
        ("own-1,Person,A,,,,,,,,,", "id repeated"),
    ],
)
def test_own_csv_errors(tmp_path: Path, row: str, reason: str) -> None:
    path = tmp_path / "own.csv"
    path.write_text(OWN_HEADER + "own-1,Person,Fine Example,,,,,,,,,\n" + row + "\n")
    with pytest.raises(ListFormatError) as caught:
        load_publication("own-csv", [path])
    assert (caught.value.file, caught.value.location) == ("own.csv", "line 3")
    assert reason in caught.value.reason


def test_own_csv_header_checked(tmp_path: Path) -> None:
    path = tmp_path / "own.csv"
    path.write_text("id,name\nx,A\n")
    with pytest.raises(ListFormatError, match="line 1: header lacks schema"):
        load_publication("own-csv", [path])
    path.write_text(OWN_HEADER)
    with pytest.raises(ListFormatError, match="no entries"):
        load_publication("own-csv", [path])
