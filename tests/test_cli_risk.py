"""``chainlight risk build``, ``risk ports`` and ``risk benchmark`` as a user runs them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.risk.model import RiskModel
from chainlight.settings import Settings
from tests.support.risk_world import build_risk_world

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("risk-cli")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    return build_risk_world(settings, tmp)


def run(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["risk", *args, "--home", str(settings.home), "--database-url",
                                 settings.database_url])
    return result.exit_code, result.output


def test_risk_ports_json_ranks_with_explanations(world: Settings) -> None:
    code, output = run(world, "ports", "--json", "--limit", "5")
    assert code == 0, output
    data = json.loads(output)
    assert data["total"] >= 3803 and len(data["ports"]) == 5
    top = data["ports"][0]
    assert top["rank"] == 1
    assert math.isclose(sum(c["points"] for c in top["contributions"]), top["residual"], abs_tol=1e-9)
    assert data["as_of"] == "2024-12-31"


def test_risk_ports_table_filters_and_explains(world: Settings) -> None:
    code, output = run(world, "ports", "--country", "ke", "--limit", "3")
    assert code == 0, output
    assert "KEMBA" in output and "TZDAR" not in output
    code, output = run(world, "ports", "--explain", "kemba")
    assert code == 0, output
    assert "Mombasa" in output and "contributions" in output and "residual score" in output


def test_a_weight_on_the_command_line_moves_the_ranking(world: Settings) -> None:
    def rank(*extra: str) -> int:
        code, output = run(world, "ports", "--json", "--explain", "AEJEA", *extra)
        assert code == 0, output
        return int(json.loads(output)["ports"][0]["rank"])

    assert rank("-w", "likelihood.missed-seizures=1", "-w", "likelihood.incidents=0") < rank()


def test_a_model_file_moves_the_ranking_too(world: Settings, tmp_path: Path) -> None:
    data = RiskModel.load().settings.model_dump(mode="json")
    data["likelihood"]["incidents"]["weight"] = 0
    data["likelihood"]["missed-seizures"]["weight"] = 1
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, output = run(world, "ports", "--json", "--explain", "AEJEA", "--model", str(path))
    assert code == 0, output
    moved = json.loads(output)
    assert moved["model"] == str(path) and moved["weights"]["likelihood.incidents"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ports", "-w", "likelihood.luck=1"], "unknown weight 'likelihood.luck'"),
        (["ports", "-w", "incidents"], "expected NAME=NUMBER"),
        (["ports", "--explain", "ZZZZZ"], "no port 'ZZZZZ'"),
        (["benchmark", "--by", "planet"], "--by 'planet'"),
    ],
)
def test_bad_options_are_one_clear_line(world: Settings, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["risk", *args, "--home", str(world.home), "--database-url", world.database_url])
    assert result.exit_code != 0
    text = result.output + str(result.exception or "")
    assert message in text
    assert "Traceback" not in result.output


def test_benchmark_overview_and_port(world: Settings) -> None:
    code, output = run(world, "benchmark", "--by", "country", "--json")
    assert code == 0, output
    groups = {g["key"]: g for g in json.loads(output)["groups"]}
    assert groups["ke"]["worst"] == "KEMBA"
    code, output = run(world, "benchmark", "KEMBA", "--json")
    assert code == 0, output
    data = json.loads(output)
    assert data["code"] == "KEMBA" and any(g["control"] == "cctv" for g in data["gaps"])


def test_build_reports_counts_and_ports_rebuilds_stale_evidence(world: Settings) -> None:
    code, output = run(world, "build", "--json")
    assert code == 0, output
    counts = json.loads(output)
    assert counts["incidents"] == 53 and counts["missed_seizures"] == 3 and counts["ports"] >= 3803


def test_no_store_is_a_clear_error(settings: Settings) -> None:
    result = runner.invoke(app, ["risk", "ports", "--home", str(settings.home), "--database-url",
                                 settings.database_url])
    assert result.exit_code != 0
    assert "no evidence store" in result.output + str(result.exception)
