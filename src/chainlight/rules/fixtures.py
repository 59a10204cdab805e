"""``chainlight rules test``: run every rule against its own fixtures.

Each case builds the inputs from a few rows in an in-memory DuckDB (every documented input
exists, empty unless the case gives rows; ``datasets`` defaults to ``[fixture]``), loads the
shipped configuration (or the case's replacement tables), runs the rule through the same
output checks as a real run, and compares the flagged subjects with what the case expects:
a ``fires`` case must flag exactly its subjects, a ``quiet`` case nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from chainlight.rules import config as rule_config
from chainlight.rules.engine import evaluate, parameters, prepare
from chainlight.rules.inputs import INPUTS, create_empty
from chainlight.rules.model import FixtureCase, LoadedRule, RuleError


@dataclass(frozen=True, slots=True)
class CaseResult:
    rule_id: str
    case: str
    expect: str
    passed: bool
    flagged: tuple[str, ...]
    message: str = ""


def _insert(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]], where: str) -> None:
    spec = INPUTS[name]
    known = {c.name for c in spec.columns}
    for i, row in enumerate(rows, start=1):
        unknown = sorted(set(row) - known)
        if unknown:
            raise RuleError(f"{where}: {name} row {i}: unknown column(s) {', '.join(unknown)}")
        values = {**row}
        values.setdefault("datasets", ["fixture"])
        columns = list(values)
        placeholders = ", ".join(f"CAST(? AS {next(c.type for c in spec.columns if c.name == col)})"
                                 for col in columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        try:
            con.execute(f'INSERT INTO "{name}" ({quoted}) VALUES ({placeholders})', list(values.values()))
        except duckdb.Error as exc:
            raise RuleError(f"{where}: {name} row {i}: {str(exc).splitlines()[0]}") from None


def _config_table(name: str, rows: list[dict[str, Any]], where: str) -> rule_config.ConfigTable:
    spec = rule_config.specs().get(name)
    if spec is None:
        raise RuleError(f"{where}: unknown configuration table {name!r}")
    clean: list[dict[str, Any]] = []
    for i, row in enumerate(rows, start=1):
        unknown = sorted(set(row) - set(spec.columns))
        if unknown:
            raise RuleError(f"{where}: config {name} row {i}: unknown column(s) {', '.join(unknown)}")
        out = {}
        for column, col in spec.columns.items():
            value = row.get(column)
            if isinstance(value, date) or value is None:
                out[column] = value
            else:
                out[column] = rule_config._parse(str(value), col.type, f"{where}: config {name} row {i}.{column}")
        clean.append(out)
    return rule_config.ConfigTable(name, spec, Path(where), clean, True)


def run_case(loaded: LoadedRule, case: FixtureCase, defaults: dict[str, rule_config.ConfigTable]) -> CaseResult:
    rule = loaded.rule
    where = f"{loaded.path.with_name(rule.id + '.fixtures.yaml').name} case {case.name!r}"
    undeclared = sorted(set(case.given) - set(rule.all_inputs))
    if undeclared:
        raise RuleError(f"{where}: gives rows for {', '.join(undeclared)}, which the rule does not read")
    con = duckdb.connect()
    try:
        tables = dict(defaults)
        for name, rows in case.config.items():
            tables[name] = _config_table(name, rows, where)
        prepare(con, tables)
        for name in INPUTS:
            create_empty(con, name)
        for name, rows in case.given.items():
            _insert(con, name, rows, where)
        evaluate(con, rule, parameters(rule, case.parameters))
        flagged = tuple(sorted(str(r[0]) for r in con.execute("SELECT subject FROM _rule_out").fetchall()))
        reasons = [r[0] for r in con.execute("SELECT reason FROM _rule_out").fetchall()]
    finally:
        con.close()
    if any(not r for r in reasons):
        return CaseResult(rule.id, case.name, case.expect, False, flagged, "an alert has no reason")
    expected = tuple(sorted(case.subjects))
    passed = flagged == expected
    message = "" if passed else f"expected {list(expected) or 'no alerts'}, got {list(flagged) or 'no alerts'}"
    return CaseResult(rule.id, case.name, case.expect, passed, flagged, message)


def run_fixtures(rules: list[LoadedRule]) -> list[CaseResult]:
    defaults = rule_config.load_all(None)
    results: list[CaseResult] = []
    for loaded in rules:
        for case in loaded.fixtures.cases:
            try:
                results.append(run_case(loaded, case, defaults))
            except RuleError as exc:
                results.append(CaseResult(loaded.rule.id, case.name, case.expect, False, (), str(exc)))
    return results
