"""Statements: the unit of truth. One statement says that, in one dataset, one entity has one
property value, and where in which source file that was read.

The fields follow FollowTheMoney's statement model (``followthemoney.statement``); statement
ids are computed exactly as FtM computes them, so they are stable across runs and tools.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

BASE_ID = "id"

#: Columns of the statements table, in order.
STATEMENT_COLUMNS: tuple[str, ...] = (
    "id",
    "entity_id",
    "canonical_id",
    "schema",
    "prop",
    "prop_type",
    "value",
    "lang",
    "original_value",
    "dataset",
    "external",
    "origin",
)


def statement_id(dataset: str, entity_id: str, prop: str, value: str, external: bool = False) -> str:
    """FtM's statement key: sha1 of ``dataset.entity.prop.value`` (``.ext`` when external)."""
    key = f"{dataset}.{entity_id}.{prop}.{value}"
    if external:
        key = f"{key}.ext"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()  # noqa: S324 - identifier, not security


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One statement as it is written to the evidence store."""

    id: str
    entity_id: str
    schema: str
    prop: str
    prop_type: str
    value: str
    dataset: str
    origin: str
    original_value: str | None = None
    lang: str | None = None
    external: bool = False


def entity_statements(proxy: Any, dataset: str, origin: str) -> Iterator[StatementRow]:
    """Explode an FtM entity proxy into statements, led by the ``id`` statement that carries
    its schema (so an entity without properties still exists)."""
    entity_id: str = proxy.id
    schema: str = proxy.schema.name
    yield StatementRow(
        statement_id(dataset, entity_id, BASE_ID, entity_id),
        entity_id,
        schema,
        BASE_ID,
        "id",
        entity_id,
        dataset,
        origin,
    )
    for prop, value in proxy.itervalues():
        yield StatementRow(
            statement_id(dataset, entity_id, prop.name, value),
            entity_id,
            schema,
            prop.name,
            prop.type.name,
            value,
            dataset,
            origin,
        )
