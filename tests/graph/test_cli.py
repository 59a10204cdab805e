"""The ``chainlight graph`` commands, run as a user would: JSON out, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx

from chainlight.settings import Settings


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainlight.cli", "graph", *args, "--home", str(settings.home),
         "--database-url", settings.database_url],
        capture_output=True, text=True, timeout=240, check=False,
    )


def test_graph_commands_answer_in_json(graph_pool: Settings, tmp_path: Path) -> None:
    built = _run(graph_pool, "build", "--json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["rebuilt"] == []  # nothing changed since the fixture built it

    ubo = _run(graph_pool, "ubo", "reg-front", "--json", "--organisation", "public")
    assert ubo.returncode == 0, ubo.stderr
    shares = {o["caption"]: o["share"] for o in json.loads(ubo.stdout)["owners"]}
    assert shares == {"Amani Juma Said": {"min": 68.0, "max": 68.0}, "Wei Chen": {"min": 20.0, "max": 32.0}}

    money = _run(graph_pool, "money", "fiu-front", "--json", "--organisation", "fiu", "--since", "2023-04-01")
    assert money.returncode == 0, money.stderr
    (hop,) = json.loads(money.stdout)["forward"]
    assert hop["totals"] == {"USD": 2500.0}

    path = _run(graph_pool, "path", "reg-boss", "ngo-official", "--organisation", "customs")
    assert path.returncode == 0 and "associated with" in path.stdout

    target = tmp_path / "front.graphml"
    exported = _run(graph_pool, "export", "reg-front", "--format", "graphml", "--hops", "2", "--out", str(target),
                    "--organisation", "public")
    assert exported.returncode == 0, exported.stderr
    graph = nx.read_graphml(target)
    assert "Coral Holdings Ltd" in {d["label"] for _, d in graph.nodes(data=True)}
    assert "fiu" not in target.read_text()


def test_graph_errors_are_one_line(graph_pool: Settings) -> None:
    hidden = _run(graph_pool, "neighbours", "fiu-front", "--organisation", "public")
    assert hidden.returncode == 1
    assert hidden.stderr.strip() == "error: no such entity: fiu-front"
    bad = _run(graph_pool, "neighbours", "reg-front", "--relation", "telepathy")
    assert bad.returncode != 0 and "no relation matches 'telepathy'" in bad.stderr
    assert "Traceback" not in hidden.stderr + bad.stderr
