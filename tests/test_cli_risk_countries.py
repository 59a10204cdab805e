"""``chainlight risk indices`` and ``chainlight risk countries`` as a user runs them: JSON out,
quarantined rows named, need-to-know per organisation, criteria files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from chainlight.cli import app

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "risk"


def _invoke(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--home", str(home)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def _load_cpi(home: Path, *extra: str) -> tuple[int, str]:
    return _invoke(home, "risk", "indices", "load", str(FIXTURES / "cpi.csv"), "--index", "cpi", "--label", "CPI",
                   "--min", "0", "--max", "100", "--direction", "higher-is-better", "--source", "TI CPI 2024",
                   "--licence", "CC BY-ND 4.0", "--dataset", "ti-cpi", "--marking", "clear", "--owner", "ti",
                   "--json", *extra)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chainlight.cli", *args, "--home", str(home)],
                          capture_output=True, text=True, timeout=240, check=False)


def _one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert text in result.stderr.strip().splitlines()[-1], result.stderr


def test_load_and_list_respect_need_to_know(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, output = _load_cpi(home)
    loaded = json.loads(output)
    assert code == 0 and (loaded["rows"], loaded["loaded"], loaded["quarantined"]) == (10, 6, 4)
    assert loaded["problems"][1].endswith("cpi.csv:8: score: not a number: '1O'")
    code, output = _invoke(home, "risk", "indices", "load", str(FIXTURES / "crime.csv"), "--index", "watch",
                           "--min", "1", "--max", "10", "--direction", "higher-is-riskier", "--licence", "internal",
                           "--value-column", "criminality", "--year", "2024", "--marking", "red", "--owner", "fiu")
    assert code == 0 and "3 values loaded from 3 rows, 0 quarantined" in output
    code, output = _invoke(home, "risk", "indices", "list", "--json", "--organisation", "ngo")
    assert [(x["index"], x["marking"], x["licence"], x["countries"]) for x in json.loads(output)] == [
        ("cpi", "CLEAR", "CC BY-ND 4.0", 5)]
    code, output = _invoke(home, "risk", "indices", "list", "--json", "--organisation", "fiu")
    assert [(x["index"], x["dataset"], x["marking"]) for x in json.loads(output)] == [
        ("cpi", "ti-cpi", "CLEAR"), ("watch", "watch", "RED")]
    code, output = _invoke(home, "risk", "indices", "remove", "watch")
    assert code == 0 and "index watch removed (3 values)" in output
    code, output = _invoke(home, "risk", "indices", "list", "--json", "--organisation", "fiu")
    assert [x["index"] for x in json.loads(output)] == ["cpi"]


def test_a_file_without_valid_rows_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("country,score,year\nAtlantis,5,2024\n", encoding="utf-8")
    code, output = _invoke(tmp_path / "home", "risk", "indices", "load", str(bad), "--index", "cpi", "--min", "0",
                           "--max", "100", "--direction", "higher-is-better", "--licence", "x", "--json")
    assert code == 1 and json.loads(output)["rejected"].startswith("no valid values (first problem: ")


def test_countries_with_criteria_and_filter(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _load_cpi(home)
    criteria = tmp_path / "tiers.yaml"
    criteria.write_text("""
scheme: CPI only
tiers: {clean: {label: Clean}, watch: {label: Watch}}
assess_when: indices.count >= 1
rules:
  - {id: clean-cpi, tier: clean, because: CPI of 70 or more, when: "raw.cpi >= 70"}
  - {id: rest, tier: watch, because: the rest}
""", encoding="utf-8")
    code, output = _invoke(home, "risk", "countries", "--json", "--criteria", str(criteria))
    report = json.loads(output)
    assert code == 0 and report["scheme"] == "CPI only" and report["criteria"] == str(criteria)
    assert {c["country"]: c["tier"] for c in report["countries"]} == {
        "br": "watch", "ng": "watch", "vn": "watch", "de": "clean", "dk": "clean"}
    code, output = _invoke(home, "risk", "countries", "--json", "--criteria", str(criteria), "--country", "Germany")
    (germany,) = json.loads(output)["countries"]
    assert germany["rule"] == "clean-cpi" and germany["met"] == [
        {"field": "raw.cpi", "op": ">=", "threshold": 70.0, "value": 75.0, "approximate": False}]
    assert germany["marking"] == "CLEAR" and germany["datasets"] == ["ti-cpi"]
    code, output = _invoke(home, "risk", "countries", "--criteria", str(criteria))
    assert code == 0 and "DE Germany" in output and "5 of 5 countries assessed" in output


def test_errors_are_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _one_line_error(_cli(home, "risk", "indices", "load", str(FIXTURES / "cpi.csv"), "--index", "cpi", "--min", "0",
                         "--max", "100", "--direction", "up", "--licence", "x"), "use higher-is-better or")
    _one_line_error(_cli(home, "risk", "indices", "load", str(tmp_path / "none.csv"), "--index", "cpi", "--min",
                         "0", "--max", "100", "--direction", "higher-is-better", "--licence", "x"), "no such file")
    broken = tmp_path / "broken.yaml"
    broken.write_text("scheme: s\ntiers: {a: {label: A}}\nrules: [{id: r1, tier: a, because: b, when: 'x.y > 1'}]\n")
    _one_line_error(_cli(home, "risk", "countries", "--country", "Atlantis"), "unknown country 'Atlantis'")
    _one_line_error(_cli(home, "risk", "countries", "--criteria", str(broken)),
                    f"error: {broken}: rule 'r1': when: unknown field 'x.y'")
