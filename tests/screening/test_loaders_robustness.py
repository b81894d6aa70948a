"""Any bytes given to any loader give a publication or a ListFormatError, never another exception (D3)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudcip.screening.loaders import FORMATS, ListFormatError, load_publication

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = {
    "ofac-csv": (FIXTURES / "ofac_sdn.csv").read_bytes(),
    "un-xml": (FIXTURES / "un.xml").read_bytes(),
    "bis-dpl": (FIXTURES / "bis_dpl.txt").read_bytes(),
    "ftm-json": (FIXTURES / "ftm.jsonl").read_bytes(),
    "own-csv": (FIXTURES / "own.csv").read_bytes(),
}


def _mutations() -> st.SearchStrategy[tuple[str, bytes]]:
    def mutate(fmt: str, cut: int, insert: bytes, keep: bool) -> tuple[str, bytes]:
        sample = SAMPLES[fmt]
        cut = cut % (len(sample) + 1)
        return fmt, (sample[:cut] + insert + (sample[cut:] if keep else b""))

    return st.builds(mutate, st.sampled_from(FORMATS), st.integers(0, 10_000), st.binary(max_size=20), st.booleans())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_files_fail_cleanly(case: tuple[str, bytes]) -> None:
    fmt, content = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.dat"
        path.write_bytes(content)
        try:
            publication = load_publication(fmt, [path])
        except ListFormatError as exc:
            assert exc.file == "list.dat"
            assert exc.location
            assert str(exc).startswith("list.dat: ")
        else:
            assert publication.parties
            assert all(p.names and p.names[0].full for p in publication.parties if p.schema != "Unknown")


def test_unicode_line_separators_inside_fields_do_not_split_lines(tmp_path: Path) -> None:
    sdn = tmp_path / "sdn.csv"
    empties = ",".join(["-0-"] * 8)
    sdn.write_text(f'1,"ROE, Jan","individual",{empties},"Note\u2028more\x85; DOB 1970."\n2,"B CO",-0-,{empties},-0-\n')
    parties = load_publication("ofac-csv", [sdn]).parties
    assert [p.source_id for p in parties] == ["1", "2"]
    assert parties[0].birth_dates == ["1970"]
    ftm = tmp_path / "e.jsonl"
    ftm.write_text('{"id": "a", "schema": "Person", "properties": {"name": ["Ann\u2028Roe"]}}\r\n', encoding="utf-8")
    assert load_publication("ftm-json", [ftm]).parties[0].names[0].full == "Ann Roe"
