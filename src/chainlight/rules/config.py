"""Configuration rules read: country roles, suspensions, quotas, breeding registers,
thresholds, secrecy jurisdictions and the like.

Each table is a CSV with a sidecar YAML that documents it (``<name>.yaml``: description,
columns with types, the key that must be unique). Defaults ship in the package
(``chainlight/rules/config``); a user's own copy in ``$CHAINLIGHT_HOME/rules/config/<name>.csv``
replaces the default wholesale (``chainlight rules config load NAME FILE`` checks and copies it).
A file that does not parse, a value of the wrong type, or two rows with the same key (an
ambiguous configuration) is an error naming the file, line and field; nothing half-loads.
Rules see each table as ``cfg_<name>``.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

TYPES = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int64(), "DATE": pa.date32(),
         "BOOLEAN": pa.bool_()}


class ConfigError(ValueError):
    """A configuration table is missing, malformed or ambiguous."""


class ConfigColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern="^(VARCHAR|DOUBLE|INTEGER|DATE|BOOLEAN)$")
    description: str
    required: bool = True


class ConfigSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str
    columns: dict[str, ConfigColumn]
    key: list[str]
    source: str = Field(description="Where the shipped defaults come from.")


@dataclass(frozen=True, slots=True)
class ConfigTable:
    name: str
    spec: ConfigSpec
    path: Path
    rows: list[dict[str, Any]]
    user: bool  # loaded from the user's home, not the shipped defaults

    def arrow(self) -> pa.Table:
        return pa.table(
            {c: pa.array([r[c] for r in self.rows], TYPES[col.type]) for c, col in self.spec.columns.items()}
        )


def defaults_dir() -> Path:
    return Path(str(files("chainlight.rules") / "config"))


@cache
def specs() -> dict[str, ConfigSpec]:
    out: dict[str, ConfigSpec] = {}
    for path in sorted(defaults_dir().glob("*.yaml")):
        try:
            out[path.stem] = ConfigSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    return out


def _parse(value: str, type_: str, where: str) -> Any:
    text = value.strip()
    if text == "":
        return None
    try:
        if type_ == "DOUBLE":
            return float(text)
        if type_ == "INTEGER":
            return int(text)
        if type_ == "DATE":
            return date.fromisoformat(text)
        if type_ == "BOOLEAN":
            if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "yes", "1")
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a {type_.lower()}") from None
    return text


def read_table(name: str, path: Path, *, user: bool = False) -> ConfigTable:
    """Read and check one configuration CSV against its spec."""
    spec = specs().get(name)
    if spec is None:
        raise ConfigError(f"unknown configuration table {name!r}; known: {', '.join(sorted(specs()))}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise ConfigError(f"{path}:1: missing column(s) {', '.join(missing)} (expected {', '.join(spec.columns)})")
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {}
        for column, col in spec.columns.items():
            value = _parse(raw.get(column) or "", col.type, f"{path}:{line}: field {column}")
            if value is None and col.required:
                raise ConfigError(f"{path}:{line}: field {column} is required")
            row[column] = value
        key = tuple(row[k] for k in spec.key)
        if key in seen:
            raise ConfigError(
                f"{path}:{line}: ambiguous: same {', '.join(spec.key)} as line {seen[key]} ({', '.join(map(str, key))})"
            )
        seen[key] = line
        rows.append(row)
    return ConfigTable(name, spec, path, rows, user)


def user_dir(home: Path) -> Path:
    return home / "rules" / "config"


def load_all(home: Path | None) -> dict[str, ConfigTable]:
    """Every configuration table: the user's copy where there is one, else the default."""
    out: dict[str, ConfigTable] = {}
    for name in specs():
        own = user_dir(home) / f"{name}.csv" if home is not None else None
        if own is not None and own.exists():
            out[name] = read_table(name, own, user=True)
        else:
            out[name] = read_table(name, defaults_dir() / f"{name}.csv")
    return out


def install(home: Path, name: str, source: Path) -> ConfigTable:
    """Check ``source`` and make it the user's table ``name`` (replacing any earlier copy)."""
    table = read_table(name, source, user=True)
    target = user_dir(home) / f"{name}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".csv.part")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return ConfigTable(name, table.spec, target, table.rows, True)


def register(con: duckdb.DuckDBPyConnection, tables: dict[str, ConfigTable]) -> None:
    """Create ``cfg_<name>`` temp tables on ``con``."""
    for name, table in tables.items():
        view = f"_arrow_cfg_{name}"
        con.register(view, table.arrow())
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE cfg_{name} AS SELECT * FROM {view}")
        finally:
            con.unregister(view)


def thresholds(tables: dict[str, ConfigTable]) -> dict[str, float]:
    return {r["name"]: float(r["value"]) for r in tables["thresholds"].rows}
