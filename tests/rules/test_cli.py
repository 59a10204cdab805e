"""``chainlight rules`` and ``chainlight alerts`` run as a user would: JSON out, one-line
errors, markings applied per organisation, triage surviving a re-run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chainlight.settings import Settings


def _cli(*args: str, settings: Settings | None = None) -> subprocess.CompletedProcess[str]:
    extra: list[str] = []
    if settings is not None:
        extra = ["--home", str(settings.home)]
        if args[0] != "rules" or args[:2] in (("rules", "run"), ("rules", "evaluate")):
            extra += ["--database-url", settings.database_url]
    return subprocess.run([sys.executable, "-m", "chainlight.cli", *args, *extra],
                          capture_output=True, text=True, timeout=240, check=False)


def _error_line(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1, result.stdout
    last = result.stderr.strip().splitlines()[-1]  # after any progress bar
    assert text in last and last.startswith("error:") and "Traceback" not in result.stderr


def test_rules_list_show_and_test() -> None:
    listed = _cli("rules", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = {r["id"] for r in json.loads(listed.stdout)}
    assert len(ids) >= 25 and "permit.reused" in ids
    shown = _cli("rules", "show", "permit.reused", "--json")
    rule = json.loads(shown.stdout)
    assert rule["parameters"]["min_shipments"]["value"] == 2 and rule["score"] == 0.6
    assert rule["fixtures"] and rule["references"]
    tested = _cli("rules", "test", "permit.reused", "--json")
    assert tested.returncode == 0 and {c["passed"] for c in json.loads(tested.stdout)} == {True}
    _error_line(_cli("rules", "show", "permit.nope"), "unknown rule(s) permit.nope")


@pytest.mark.timeout(900)
def test_run_list_show_and_triage_as_different_organisations(rules_pool: Settings) -> None:
    ran = _cli("rules", "run", "--json", settings=rules_pool)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    statuses = {r["rule"]: r["status"] for r in report["rules"]}
    assert statuses["trade.appendix-i-commercial"] == "skipped"  # no trade rows in this pool
    assert report["alerts"] > 0

    fiu = json.loads(_cli("alerts", "--json", "--organisation", "fiu", "--limit", "500", settings=rules_pool).stdout)
    public = json.loads(_cli("alerts", "--json", "--organisation", "public", "--limit", "500",
                             settings=rules_pool).stdout)
    bribes = [a for a in fiu["alerts"] if a["rule_id"] == "money.bribe-flow"]
    assert bribes and all(a["marking"] == "RED" and "fiu" in a["datasets"] for a in bribes)
    assert all("fiu" not in a["datasets"] and "ngo" not in a["datasets"] for a in public["alerts"])
    assert public["total"] < fiu["total"]

    target = bribes[0]["alert_id"]
    _error_line(_cli("alerts", "show", target, "--organisation", "public", settings=rules_pool),
                f"no alert '{target}' (or not visible to public)")
    _error_line(_cli("alerts", "triage", target, "dismissed", "--organisation", "fiu", settings=rules_pool),
                "dismissing an alert needs a reason")
    done = _cli("alerts", "triage", target, "confirmed", "--organisation", "fiu", "--author", "ana",
                settings=rules_pool)
    assert done.returncode == 0 and "confirmed" in done.stderr

    again = _cli("rules", "run", "money.bribe-flow", "--json", settings=rules_pool)
    assert again.returncode == 0, again.stderr
    shown = json.loads(_cli("alerts", "show", target, "--json", "--organisation", "fiu", settings=rules_pool).stdout)
    assert shown["state"] == "confirmed" and shown["triaged_by"] == "ana"
    assert {i["dataset"] for i in shown["evidence_items"]} <= set(shown["datasets"])
    assert any(i["schema"] == "Payment" for i in shown["evidence_items"])

    _error_line(_cli("rules", "run", "trade.appendix-i-commercial", settings=rules_pool),
                "cannot run: input 'trade' is empty")


def test_config_load_refuses_a_bad_file_and_installs_a_good_one(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "home")
    bad = tmp_path / "roles.csv"
    bad.write_text("country,commodity,role\nke,ivory,source\nke,ivory,source\n", encoding="utf-8")
    _error_line(_cli("rules", "config", "load", "country_roles", str(bad), settings=settings),
                "roles.csv:3: ambiguous")
    bad.write_text("country,commodity,role\nke,ivory,source\n", encoding="utf-8")
    loaded = _cli("rules", "config", "load", "country_roles", str(bad), settings=settings)
    assert loaded.returncode == 0, loaded.stderr
    listed = json.loads(_cli("rules", "config", "list", "--json", settings=settings).stdout)
    roles = next(t for t in listed if t["name"] == "country_roles")
    assert roles["user"] and roles["rows"] == 1
