"""The BODS 0.4 JSON schema, shipped inside the package, as a ready validator.

The schema is split across files that refer to each other by ``$id`` (``urn:statement``,
``urn:entity``, ``urn:components`` ...), so they are loaded into a ``referencing.Registry``
instead of being resolved over the network. The copy lives in ``schemas/bods`` (Apache-2.0,
``LICENSE-schema.txt``) so the product validates without the shared data checkout.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, relevance
from referencing import Registry, Resource

if TYPE_CHECKING:
    from referencing._core import Resolver

SCHEMA_DIR = Path(__file__).parent / "schemas" / "bods"
CODELIST_DIR = SCHEMA_DIR / "codelists"

#: The one statement, as defined in statement.json (a package is an array of these).
STATEMENT_REF = "urn:statement#/$defs/Statement"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """The most relevant reason a statement fails the schema."""

    json_path: str
    message: str
    others: int


@cache
def registry() -> Registry[Any]:
    """All schema files of the package copy, keyed by their ``$id``."""
    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def statement_schema() -> dict[str, Any]:
    """The statement schema with every ``$ref`` resolved through :func:`registry` and inlined.

    Validating against the inlined schema gives the same verdicts and paths as following the
    references, with about a quarter less CPU: ``referencing`` no longer resolves a URI per
    ``$ref`` per statement, which adds up for registers that publish millions of statements.
    BODS has no recursive definitions, so inlining terminates.
    """
    resolver = registry().resolver()
    schema: dict[str, Any] = _inline({"$ref": STATEMENT_REF}, resolver)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _inline(node: Any, resolver: Resolver[Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$ref", "$id", "$schema", "$defs"):
            continue
        out[key] = value if key in ("enum", "const") else _inline(value, resolver)
    ref = node.get("$ref")
    if ref is None:
        return out
    resolved = resolver.lookup(ref)
    target = _inline(resolved.contents, resolved.resolver)
    # In 2020-12 keywords beside a $ref apply too: keep them next to the referenced schema.
    return {"allOf": [target], **out} if out else target


@cache
def statement_validator() -> Draft202012Validator:
    """A Draft 2020-12 validator for one statement, checking ``format: date`` too."""
    return Draft202012Validator(statement_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_statement(statement: Any) -> SchemaProblem | None:
    """None when ``statement`` is a valid BODS 0.4 statement, else its most relevant error."""
    errors = list(statement_validator().iter_errors(statement))
    if not errors:
        return None
    best = _deepest(min(errors, key=relevance))
    return SchemaProblem(_field_path(best), best.message, len(errors) - 1)


def _deepest(error: ValidationError) -> ValidationError:
    """Descend into ``if/then``, ``anyOf`` and ``oneOf`` wrappers to the error naming a field."""
    while error.context:
        error = min(error.context, key=relevance)
    return error


def _field_path(error: ValidationError) -> str:
    """The JSON path of the field at fault; for a missing property, the path it should have."""
    required = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(required, list):
        missing = [name for name in required if name not in error.instance]
        if missing:
            return f"{error.json_path}.{missing[0]}"
    return error.json_path


@cache
def codelist_titles(name: str) -> dict[str, str]:
    """``code -> title`` of one codelist, e.g. ``interestType`` -> {"shareholding": "Shareholding"}."""
    with (CODELIST_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["title"] for row in csv.DictReader(fh)}
