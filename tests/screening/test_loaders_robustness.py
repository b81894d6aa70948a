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
