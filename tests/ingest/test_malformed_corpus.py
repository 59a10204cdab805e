"""A corpus of malformed inputs, each run through the real command line in-process: every one
gets a clear message naming the file (and line where there is one), never a traceback; valid
rows beside bad ones still load; rejected files leave nothing behind."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainlight.cli import main
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES

M = FIXTURES / "malformed"


@dataclass(frozen=True)
class Case:
    fmt: str
    path: Path
    exit_code: int
    message: str
    loaded: int = 0
    extra: tuple[str, ...] = ()


CASES = {
    "ftm-lines": Case("ftm", M / "entities.jsonl", 0, "entities.jsonl:7: not valid JSON", loaded=4),
    "ftm-binary": Case("ftm", M / "binary.jsonl", 0, "binary.jsonl:1: not valid JSON"),
    "goaml-empty": Case("goaml", M / "empty.xml", 1, "empty.xml:1: not well-formed XML"),
    "goaml-text": Case("goaml", M / "not-xml.xml", 1, "not-xml.xml:1: not well-formed XML"),
    "goaml-xsd": Case("goaml", M / "goaml-fails-xsd.xml", 1, "goaml-fails-xsd.xml:3: not a valid goAML report"),
    "bods-empty": Case("bods", M / "empty.json", 1, "empty.json:1: not BODS JSON"),
    "bods-truncated": Case("bods", M / "bods-truncated.json", 1, "bods-truncated.json:1: not valid JSON"),
    "bods-not-a-statement": Case("bods", M / "bods-object.json", 0, "$.statementId"),
    "cites-empty": Case("cites-trade", M / "empty.csv", 1, "not a CITES Trade Database CSV"),
    "cites-ragged": Case("cites-trade", M / "cites-ragged.csv", 0, "cites-ragged.csv:3: Genus: malformed CSV line",
                         loaded=1),
    "csv-binary": Case("csv", M / "garbage.csv", 1, "garbage.csv:1: not UTF-8", extra=("--mapping", "shipments")),
    "csv-empty": Case("csv", M / "empty.csv", 1, "no header row", extra=("--mapping", "shipments")),
    "csv-broken-mapping": Case("csv", FIXTURES / "csv" / "shipments.csv", 1, "broken-mapping.yaml: line 3",
                               extra=("--mapping", str(M / "broken-mapping.yaml"))),
    "csv-no-mapping": Case("csv", FIXTURES / "csv" / "shipments.csv", 1, "csv needs --mapping"),
}


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["chainlight", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:  # main() exits non-zero on errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_gets_a_clear_message(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    home = tmp_path / "home"
    code, output = run_cli(
        monkeypatch, capsys, "ingest", case.fmt, str(case.path), "-d", "corpus", "-m", "green",
        "--home", str(home), *case.extra,
    )
    assert code == case.exit_code, output
    assert "Traceback" not in output
    assert case.message in " ".join(output.split()), output
    evidence = home / "evidence.duckdb"
    if not evidence.exists():
        assert case.loaded == 0
        return
    with EvidenceStore(evidence, read_only=True) as store:
        entities = store.scalar("SELECT count(DISTINCT entity_id) FROM statements WHERE dataset = 'corpus'")
        records = store.scalar("SELECT count(*) FROM cites_trade WHERE dataset = 'corpus'")
        runs = store.scalar("SELECT count(*) FROM ingest_runs WHERE dataset = 'corpus'")
    assert entities + records == case.loaded
    # a rejected file is not recorded as ingested, so fixing it and re-running works
    assert runs == (0 if case.exit_code else 1)


def test_the_same_bytes_through_another_reader_are_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path / "home")]
    code, _ = run_cli(monkeypatch, capsys, "ingest", "ftm", str(M / "empty.jsonl"), "-d", "corpus", *home)
    assert code == 0
    code, output = run_cli(monkeypatch, capsys, "ingest", "goaml", str(M / "empty.xml"), "-d", "corpus", *home)
    assert code == 1
    assert "already ingested" not in output
