"""D3: a list is imported as the whole publication it was published as. An OFAC SDN file given
alone (no ALT, ADD, COMMENTS) used to replace the list in force silently, dropping every alias and
address; it is refused unless imported as partial on purpose, and a snapshot that drops a large share
of the names in force says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudcip.cli.main import app

SDN = [
    '36,"AEROCARIBBEAN AIRLINES",-0-,"CUBA",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-',
    '173,"ANGLO-CARIBBEAN CO., LTD.",-0-,"CUBA",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-',
    '306,"BANCO NACIONAL DE CUBA",-0-,"CUBA",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"a.k.a. \'BNC\'."',
    '2674,"ABBAS, Abu","individual","SDGT",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"DOB 10 Dec 1948; POB Safad, Israel."',
]
ALT = [
    '36,12,"aka","AERO-CARIBBEAN",-0-',
    '173,57,"aka","AVIATION LTD.",-0-',
    '306,220,"aka","NATIONAL BANK OF CUBA",-0-',
    '2674,1449,"aka","ABBAS, Abu\'l",-0-',
    '2674,1450,"aka","ZAYDAN, Muhammad",-0-',
]
ADD = [
    '36,25,-0-,"Havana","Cuba",-0-',
    '173,129,"Ibex House, The Minories","London EC3N 1DY","United Kingdom",-0-',
    '306,199,"Zweierstrasse 35","Zurich CH-8022","Switzerland",-0-',
]
COMMENTS = ['2674,"Linked To: PALESTINE LIBERATION FRONT."']


def _write(folder: Path) -> dict[str, Path]:
    files = {}
    for name, lines in (("sdn.csv", SDN), ("alt.csv", ALT), ("add.csv", ADD), ("sdn_comments.csv", COMMENTS)):
        files[name] = folder / name
        files[name].write_text("\n".join(lines) + "\n")
    return files


@pytest.mark.requirement("D3")
def test_an_incomplete_ofac_publication_is_refused_unless_partial(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    files = _write(tmp_path)

    alone = runner.invoke(app, ["lists", "import", "--format", "ofac-csv", str(files["sdn.csv"])])
    assert alone.exit_code == 2, alone.output
    assert "ALT (aliases)" in alone.output and "ADD (addresses)" in alone.output and "--partial" in alone.output
    shown = runner.invoke(app, ["lists", "show", "--json"])
    assert json.loads(shown.stdout)["sources"] == []  # nothing imported

    whole = runner.invoke(app, ["lists", "import", "--format", "ofac-csv", *(str(path) for path in files.values())])
    assert whole.exit_code == 0, whole.output
    assert "4 parties, 10 names" in whole.stdout and "warning" not in whole.output

    partial = runner.invoke(app, ["lists", "import", "--format", "ofac-csv", "--partial", str(files["sdn.csv"]),
                                  str(files["add.csv"])])
    assert partial.exit_code == 0, partial.output
    assert "[partial publication]" in partial.stdout
    assert "warning:" in partial.output and "fewer names" in partial.output and "-50%" in partial.output
    shown = json.loads(runner.invoke(app, ["lists", "show", "--json"]).stdout)["sources"]
    assert [(source["source"], source["version"]) for source in shown] == [("ofac-sdn", 2)]

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    short = _write(truncated)
    short["sdn.csv"].write_text(SDN[0] + "\n")
    fewer = runner.invoke(app, ["lists", "import", "--format", "ofac-csv", *(str(path) for path in short.values())])
    assert fewer.exit_code == 0, fewer.output
    assert "3 fewer parties" in fewer.output
