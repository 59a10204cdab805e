import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES


def chainlight(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainlight.cli", *args, "--home", str(home)],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_help_lists_the_verbs() -> None:
    result = subprocess.run([sys.executable, "-m", "chainlight.cli", "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0
    for verb in ("ingest", "export", "generate", "demo", "status", "serve"):
        assert verb in result.stdout


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    cases = [
        ("ingest", "ftm", str(tmp_path / "missing.jsonl"), "-d", "x"),
        ("ingest", "nosuchformat", str(FIXTURES / "ftm" / "network.jsonl"), "-d", "x"),
        ("ingest", "ftm", str(FIXTURES / "ftm" / "network.jsonl"), "-d", "Bad Name"),
        ("ingest", "ftm", str(FIXTURES / "ftm" / "network.jsonl"), "-d", "x", "-m", "purple"),
    ]
    expected = ["no such file", "unknown format", "invalid dataset name", "unknown TLP marking"]
    for args, needle in zip(cases, expected, strict=True):
        result = chainlight(*args, home=tmp_path / "home")
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout
        assert needle in result.stderr, result.stderr


def test_status_json_and_marking_guard(tmp_path: Path) -> None:
    home = tmp_path / "home"
    network = str(FIXTURES / "ftm" / "network.jsonl")
    assert chainlight("ingest", "ftm", network, "-d", "ngo", "-m", "amber+strict", home=home).returncode == 0
    downgrade = chainlight("ingest", "ftm", network, "-d", "ngo", "-m", "clear", home=home)
    assert downgrade.returncode == 1 and "refusing" in downgrade.stderr
    status = chainlight("status", "--json", home=home)
    data = json.loads(status.stdout)
    (ngo,) = data["datasets"]
    assert ngo["marking"] == "AMBER+STRICT" and ngo["entities"] == 5 and ngo["owner"] == "local"


def test_cli_read_paths_respect_markings(tmp_path: Path) -> None:
    """status and export ftm answer as an organisation: another organisation's RED dataset
    never shows, and naming it gives the same answer as naming a dataset that does not exist."""
    home = tmp_path / "home"
    network = str(FIXTURES / "ftm" / "network.jsonl")
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "informant", "schema": "Person", "properties": {"name": ["Secret Informant"]}}\n')
    opened = chainlight("ingest", "ftm", network, "-d", "open", "-m", "green", "--owner", "ngo", home=home)
    assert opened.returncode == 0
    assert chainlight("ingest", "ftm", str(secret), "-d", "fiu-red", "-m", "red", "--owner", "fiu",
                      home=home).returncode == 0
    as_ngo = json.loads(chainlight("status", "--json", "--organisation", "ngo", home=home).stdout)
    assert [d["name"] for d in as_ngo["datasets"]] == ["open"]
    as_fiu = json.loads(chainlight("status", "--json", "--organisation", "fiu", home=home).stdout)
    assert [d["name"] for d in as_fiu["datasets"]] == ["fiu-red", "open"]

    exported = chainlight("export", "ftm", "--organisation", "ngo", home=home)
    assert exported.returncode == 0
    assert "Secret Informant" not in exported.stdout
    assert len(exported.stdout.splitlines()) == 5
    hidden = chainlight("export", "ftm", "--organisation", "ngo", "-d", "fiu-red", home=home)
    missing = chainlight("export", "ftm", "--organisation", "ngo", "-d", "nope", home=home)
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace("fiu-red", "X") == missing.stderr.replace("nope", "X")
    assert "Secret Informant" in chainlight("export", "ftm", "--organisation", "fiu", home=home).stdout


def test_cli_reference_is_current() -> None:
    from chainlight.clidocs import render_cli

    doc = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    rendered = render_cli()
    assert doc.read_text("utf-8") == rendered, "run: chainlight docs cli"
    for verb in ("ingest", "export ftm", "generate", "demo", "status", "serve", "reference"):
        assert f"## `chainlight {verb}`" in rendered


def test_export_ftm_keeps_incident_reports_with_their_owner(tmp_path: Path) -> None:
    """An incidents dataset is GREEN (everyone counts its reports through the risk views), but
    only its owner exports the reports themselves; the port they name is exported to everyone."""
    from tests.support import incident_world

    settings = incident_world.load(tmp_path)
    incidents = incident_world.incident_ids(settings)

    def exported(organisation: str, *args: str) -> list[dict[str, object]]:
        result = chainlight("export", "ftm", "--organisation", organisation, *args, home=settings.home)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    as_reader = exported(incident_world.READER, "-d", incident_world.INCIDENTS)
    assert [e["id"] for e in as_reader] == [incident_world.PORT]
    everything = exported(incident_world.READER)
    assert not {e["id"] for e in everything} & set(incidents) and len(everything) > 5
    own = exported(incident_world.OWNER, "-d", incident_world.INCIDENTS)
    assert sorted(str(e["id"]) for e in own if e["schema"] == "Incident") == incidents
