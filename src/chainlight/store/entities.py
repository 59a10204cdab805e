"""Assemble FtM entities from statements, only from the datasets a reader may see."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from followthemoney.exc import InvalidData

from chainlight.model.ftm import model
from chainlight.model.markings import OWNER_ONLY_SCHEMATA
from chainlight.store.evidence import EvidenceStore

BATCH = 50_000


def _assemble(entity_id: str, rows: list[tuple[str, str, str]]) -> Any:
    schemata = {schema for schema, prop, _ in rows if prop == "id"} or {rows[0][0]}
    schema = None
    for name in sorted(schemata):
        try:
            schema = model[name] if schema is None else model.common_schema(schema, name)
        except InvalidData:
            # Two datasets disagree on what the entity is: keep the more specific first one.
            continue
    proxy = model.make_entity(schema)
    proxy.id = entity_id
    for _, prop, value in rows:
        if prop != "id" and prop in proxy.schema.properties:
            proxy.unsafe_add(proxy.schema.properties[prop], value, cleaned=True)
    return proxy


def iter_entities(
    store: EvidenceStore,
    datasets: Sequence[str] | None = None,
    entity_ids: Sequence[str] | None = None,
    *,
    not_owned: Sequence[str] = (),
) -> Iterator[Any]:
    """Yield one FtM proxy per entity id, built from statements of ``datasets`` (all if None).

    ``not_owned`` names the datasets the reader's organisation does not own: their owner-only
    records (incident reports, :data:`chainlight.model.markings.OWNER_ONLY_SCHEMATA`) are left
    out, so an entity that is only such a record is not yielded at all."""
    where = ["TRUE"]
    params: list[Any] = []
    if datasets is not None:
        where.append("dataset = ANY(?)")
        params.append(list(datasets))
    if not_owned:
        where.append("NOT (schema = ANY(?) AND dataset = ANY(?))")
        params.extend([sorted(OWNER_ONLY_SCHEMATA), list(not_owned)])
    if entity_ids is not None:
        where.append("entity_id = ANY(?)")
        params.append(list(entity_ids))
    cursor = store.con.cursor()
    cursor.execute(
        f"SELECT entity_id, schema, prop, value FROM statements WHERE {' AND '.join(where)} "
        "ORDER BY entity_id, prop, value",
        params,
    )
    current: str | None = None
    rows: list[tuple[str, str, str]] = []
    while batch := cursor.fetchmany(BATCH):
        for entity_id, schema, prop, value in batch:
            if entity_id != current:
                if current is not None:
                    yield _assemble(current, rows)
                current, rows = entity_id, []
            rows.append((schema, prop, value))
    if current is not None:
        yield _assemble(current, rows)
    cursor.close()


def get_entity(
    store: EvidenceStore, entity_id: str, datasets: Sequence[str] | None = None, *, not_owned: Sequence[str] = ()
) -> Any | None:
    for proxy in iter_entities(store, datasets, [entity_id], not_owned=not_owned):
        return proxy
    return None
