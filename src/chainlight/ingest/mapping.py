"""CSV mappings: which entities each row of a table becomes, as a small YAML file.

A mapping names the columns a file must have (``required``) and the entities of a row, each
with a schema (fixed, or chosen by a ``*_type`` column), an id rule from
:mod:`chainlight.model.identity`, an optional condition, and its properties (from a column,
a literal, or a reference to another entity of the same row). It is in the spirit of
FollowTheMoney's mapping files, but ids follow Chainlight's conventions and every mistake is
reported with the file and key that caused it. ``docs/formats/csv.md`` describes the format.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chainlight.ingest.base import IngestError
from chainlight.model.ftm import model

#: Number formats a mapping may declare, as a sample of how 1234.5 is written.
NUMBER_FORMATS: dict[str, tuple[str, str]] = {
    "1234.5": ("", "."),
    "1,234.5": (",", "."),
    "1234,5": ("", ","),
    "1.234,5": (".", ","),
    "1 234,5": (" ", ","),
    "1'234.5": ("'", "."),
}
_STRPTIME = re.compile(r"%[a-zA-Z]")


class MappingError(IngestError):
    """A mapping file is not a valid mapping (names the file and the key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdRule(_Strict):
    """One way to compute an entity id. Exactly one of ``dataset_key``/``natural_key`` (with
    the kind and key ``columns``) or ``port`` (a column holding a port code)."""

    dataset_key: str | None = None
    natural_key: str | None = None
    port: str | None = None
    columns: list[str] = Field(default_factory=list)
    #: Key columns that may be empty; the rule applies when all the others have a value.
    optional: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> IdRule:
        kinds = [k for k in (self.dataset_key, self.natural_key, self.port) if k]
        if len(kinds) != 1:
            raise ValueError("give exactly one of dataset_key, natural_key or port")
        if self.port and self.columns:
            raise ValueError("a port rule takes its code from the port column; drop columns")
        if not self.port and not self.columns:
            raise ValueError("a key rule needs columns")
        stray = set(self.optional) - set(self.columns)
        if stray:
            raise ValueError(f"optional names columns that are not key columns: {sorted(stray)}")
        return self

    @property
    def needed(self) -> list[str]:
        """Columns that must have a value for this rule to apply."""
        if self.port:
            return [self.port]
        return [c for c in self.columns if c not in self.optional]


class SchemaChoice(_Strict):
    """Schema picked by a column's value (``person`` -> Person), else ``default``."""

    column: str
    values: dict[str, str]
    default: str

    @field_validator("values")
    @classmethod
    def _fold(cls, values: dict[str, str]) -> dict[str, str]:
        return {key.strip().casefold(): schema for key, schema in values.items()}


class Condition(_Strict):
    """When an entity is made: all ``present`` columns have a value, all ``absent`` ones are
    empty, and each column in ``values`` holds one of the listed values (case-insensitive)."""

    present: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    values: dict[str, list[str]] = Field(default_factory=dict)


class Repeat(_Strict):
    """Make one entity per item of parallel ``split`` lists (suspect_names, suspect_ids, ...)."""

    columns: list[str]
    split: str = ";"


class PropertySpec(_Strict):
    """Where one property's values come from: a column, literal values, or row entities."""

    column: str | None = None
    literal: str | list[str] | None = None
    entity: str | list[str] | None = None
    #: Split the cell into several values on this separator.
    split: str | None = None
    #: Dates: a strptime pattern (default ISO). Numbers: how 1234.5 is written (default 1234.5).
    format: str | None = None
    #: The cell holds port codes: reference the Port and emit its stub from the reference data.
    port: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> PropertySpec:
        sources = [s for s in (self.column, self.literal, self.entity) if s]
        if len(sources) != 1:
            raise ValueError("give exactly one of column, literal or entity")
        if self.port and not self.column:
            raise ValueError("port: true needs a column")
        return self

    @property
    def literals(self) -> list[str]:
        if self.literal is None:
            return []
        return [self.literal] if isinstance(self.literal, str) else list(self.literal)

    @property
    def entities(self) -> list[str]:
        if self.entity is None:
            return []
        return [self.entity] if isinstance(self.entity, str) else list(self.entity)


class EntitySpec(_Strict):
    """One entity made from a row."""

    schema_: str | SchemaChoice = Field(alias="schema")
    id: IdRule | list[IdRule]
    when: Condition | None = None
    each: Repeat | None = None
    properties: dict[str, PropertySpec] = Field(default_factory=dict)

    @field_validator("properties", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``name: shipper_name`` is short for ``name: {column: shipper_name}``."""
        if isinstance(value, dict):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def id_rules(self) -> list[IdRule]:
        return [self.id] if isinstance(self.id, IdRule) else list(self.id)

    @property
    def schemata(self) -> list[str]:
        if isinstance(self.schema_, str):
            return [self.schema_]
        return [self.schema_.default, *self.schema_.values.values()]


class Mapping(_Strict):
    """A whole mapping: its name, the columns every file and row must have, and the entities."""

    name: str
    description: str = ""
    required: list[str] = Field(default_factory=list)
    entities: dict[str, EntitySpec]

    def check_model(self) -> list[tuple[str, str]]:
        """Problems pydantic cannot see (unknown schemata and properties, dangling entity
        references, formats that do not fit the property type), as (key, message)."""
        problems: list[tuple[str, str]] = []
        for name, spec in self.entities.items():
            base = f"entities.{name}"
            schemata = []
            for schema_name in spec.schemata:
                schema = model.get(schema_name)
                if schema is None:
                    problems.append((f"{base}.schema", f"unknown schema {schema_name!r}"))
                elif schema.abstract:
                    problems.append((f"{base}.schema", f"schema {schema_name} is abstract"))
                else:
                    schemata.append(schema)
            if any(rule.port for rule in spec.id_rules) and spec.schemata != ["Port"]:
                problems.append((f"{base}.id", "a port id rule makes a Port: set schema: Port"))
            for prop_name, prop_spec in spec.properties.items():
                key = f"{base}.properties.{prop_name}"
                for schema in schemata:
                    prop = schema.get(prop_name)
                    if prop is None:
                        problems.append((key, f"{schema.name} has no property {prop_name!r}"))
                        continue
                    if prop.stub:
                        problems.append((key, f"{prop_name} is a reverse property and cannot be set"))
                        continue
                    problems.extend((key, m) for m in _check_property(prop, prop_spec))
                for ref in prop_spec.entities:
                    if ref not in self.entities:
                        problems.append((key, f"no entity named {ref!r} in this mapping"))
        return problems


def _check_property(prop: Any, spec: PropertySpec) -> list[str]:
    kind = prop.type.name
    problems = []
    if (spec.entities or spec.port) and kind != "entity":
        problems.append(f"{prop.name} is a {kind} property, not an entity reference")
    if kind == "entity" and spec.column and not spec.port:
        problems.append(f"{prop.name} refers to entities: use entity: NAME or port: true")
    if spec.format is not None:
        if kind == "date" and not _STRPTIME.search(spec.format):
            problems.append(f"date format {spec.format!r} has no strptime directive such as %d")
        elif kind == "number" and spec.format not in NUMBER_FORMATS:
            problems.append(f"number format must be one of {', '.join(NUMBER_FORMATS)}")
        elif kind not in ("date", "number"):
            problems.append(f"format applies to dates and numbers, not {kind}")
    return problems


#: How pydantic names the branches of a union in an error location; users never wrote these.
_UNION_TAGS = {"str", "IdRule", "SchemaChoice", "PropertySpec", "Condition", "Repeat"}


def _location(loc: tuple[int | str, ...]) -> list[str]:
    return [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))]


def _first_error(exc: ValidationError) -> str:
    """The most specific error: with unions pydantic reports every branch, and the deepest
    location is the branch the author meant."""
    errors = exc.errors()
    best = max(errors, key=lambda e: len(_location(e["loc"])))
    message = str(best["msg"]).removeprefix("Value error, ")
    return f"{'.'.join(_location(best['loc'])) or '(top level)'}: {message}"


def parse_mapping(data: Any, source: str, default_name: str) -> Mapping:
    """Validate parsed YAML as a mapping; errors name ``source`` and the offending key."""
    if not isinstance(data, dict):
        raise MappingError(f"mapping {source}: expected a YAML mapping with an 'entities' key")
    data = {"name": default_name, **data}
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"mapping {source}: {_first_error(exc)}") from None
    problems = mapping.check_model()
    if problems:
        key, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MappingError(f"mapping {source}: {key}: {message}{more}")
    return mapping


def load_mapping_file(path: Path) -> Mapping:
    """Read and validate a mapping YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"mapping {path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise MappingError(f"mapping {path}:{where}: not valid YAML") from None
    return parse_mapping(data, str(path), path.stem)


def builtin_names() -> list[str]:
    """Names of the mappings shipped with Chainlight (the default CSV layouts)."""
    folder = resources.files("chainlight.ingest").joinpath("mappings")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def builtin_mapping(name: str) -> Mapping:
    source = resources.files("chainlight.ingest").joinpath("mappings", f"{name}.yaml")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return parse_mapping(data, f"{name} (built-in)", name)


def resolve_mapping(name_or_path: str | None) -> Mapping:
    """A built-in mapping by name, or a mapping YAML file by path."""
    names = builtin_names()
    if not name_or_path:
        raise IngestError(f"csv needs --mapping NAME_OR_FILE; built-in mappings: {', '.join(names)}")
    if name_or_path in names:
        return builtin_mapping(name_or_path)
    path = Path(name_or_path)
    if path.is_file():
        return load_mapping_file(path)
    raise IngestError(
        f"mapping {name_or_path!r} is neither a built-in mapping ({', '.join(names)}) nor a file"
    )
