"""An entity's profile as one reader may see it, read from the serving index.

The profile is the entity merged over its resolution cluster *in the reader's view*: the
cluster is rebuilt around the entity from the links between records of visible datasets and
the standing judgements, with the same functions that :mod:`chainlight.resolve.service` uses
(:func:`chainlight.resolve.clusters.components`), so two records that only hidden evidence
joins stay apart. The index keeps, for every linked entity, the connected component of all
links at the threshold (hidden ones included); a reader's cluster always lies inside the
components that its entity and the judged-same pairs reach, so rebuilding them is exact and
small.

Everything shown comes from records of visible datasets: each property value lists every
statement behind it (organisation, dataset, first and last seen, marking, statement id,
origin); relations are the entity-typed values of its records (outgoing) and the visible
records naming it (incoming, with the other ends of relationship entities such as
``Ownership`` or ``Payment``); alerts are shown when every dataset they derive from is
visible; the timeline holds the dated values of the entity and of its incoming relations. A
related entity with no visible record is named by its id alone, which is what the visible
statement says, and nothing else about it is read. Owner-only records (incident reports) of
datasets the reader does not own are not visible records in this sense: they are read nowhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from followthemoney.exc import InvalidData

from chainlight.model.ftm import model
from chainlight.model.markings import Marking, most_restrictive
from chainlight.resolve import clusters
from chainlight.search.build import S_FIRST, S_ID, S_LAST, S_ORIGIN, S_PROP, S_TYPE, S_VALUE
from chainlight.search.reader import Loaded

#: Incoming relations shown at most (the answer says how many there are in all).
MAX_RELATIONS = 200
#: Timeline events shown at most (the earliest first).
MAX_EVENTS = 500
#: Relationship properties of an incoming entity shown beside it (dates, shares, amounts).
DETAIL_TYPES = frozenset({"date", "number", "string", "country", "identifier"})


class NotVisible(LookupError):
    """No such entity for this reader: hidden and missing read the same."""


class DatasetAccessInfo(Protocol):
    """What a profile needs to know about a visible dataset."""

    @property
    def owner(self) -> str: ...

    @property
    def marking(self) -> Marking: ...


@dataclass(frozen=True, slots=True)
class Source:
    """Where one value comes from: one statement of one record."""

    entity_id: str
    dataset: str
    organisation: str
    marking: Marking
    first_seen: str
    last_seen: str
    statement_id: str
    origin: str | None


@dataclass(slots=True)
class Value:
    value: str
    sources: list[Source] = field(default_factory=list)


@dataclass(slots=True)
class Property:
    name: str
    label: str
    type: str
    values: list[Value] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A related entity: its caption and schema when the reader may see a record of it."""

    entity_id: str
    caption: str | None
    schema: str | None
    prop: str | None = None

    @property
    def visible(self) -> bool:
        return self.schema is not None


@dataclass(frozen=True, slots=True)
class Relation:
    """One link between the entity and another, with the statement it rests on.

    ``outgoing``: the entity names ``other`` in ``prop``. Incoming: the record ``other``
    names the entity in ``prop``; when ``other`` is a relationship (an ``Ownership``, a
    ``Payment``), ``counterparts`` are its other ends and ``details`` its own values.
    """

    direction: str
    prop: str
    label: str
    other: EntityRef
    source: Source
    counterparts: list[EntityRef]
    details: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class AlertRef:
    alert_id: str
    rule_id: str
    title: str
    category: str
    severity: str
    score: float
    subject: str
    reason: str
    datasets: list[str]
    marking: Marking
    last_raised: str


@dataclass(frozen=True, slots=True)
class Event:
    date: str
    prop: str
    label: str
    entity: EntityRef
    dataset: str
    marking: Marking
    relation: str | None


@dataclass(slots=True)
class Profile:
    entity_id: str
    canonical_id: str
    members: list[str]
    schema: str
    caption: str
    properties: list[Property]
    relations: list[Relation]
    relations_total: int
    alerts: list[AlertRef] | None
    timeline: list[Event]
    datasets: list[str]
    marking: Marking


# -- the reader's cluster ---------------------------------------------------------------------


def _in(values: Sequence[Any]) -> str:
    """Placeholders for a short list (dataset numbers, components)."""
    return ",".join("?" * len(values))


# Lists of entity ids are passed as one JSON array (``IN (SELECT value FROM json_each(?))``), not
# one placeholder each: a cluster or a hub can name more entities than SQLite takes parameters.
EACH = "SELECT value FROM json_each(?)"


def _json(values: Iterable[str]) -> str:
    return orjson.dumps(list(values)).decode()


def view_cluster(
    con: sqlite3.Connection,
    index: Loaded,
    entity_id: str,
    visible: Iterable[str],
    verdicts: Sequence[clusters.Verdict],
) -> tuple[list[str], str]:
    """The members of ``entity_id``'s cluster in the view of ``visible`` datasets, and its id.

    A cluster that is exactly a global cluster keeps the global canonical id; any other gets one
    minted from its visible members (:func:`chainlight.resolve.clusters.mint`), as
    :func:`chainlight.resolve.clusters.view_ids` does for whole views.
    """
    if not index.has_resolution:
        return [entity_id], entity_id
    shown = set(visible)
    same: dict[str, set[str]] = {}
    for v in verdicts:
        if v.verdict == "same":
            same.setdefault(v.left, set()).add(v.right)
            same.setdefault(v.right, set()).add(v.left)
    reached = {entity_id}
    components: set[int] = set()
    frontier = [entity_id]
    while frontier:
        batch, frontier = frontier, []
        found = con.execute(
            f"SELECT DISTINCT component FROM er_component WHERE entity_id IN ({EACH})", [_json(batch)]
        ).fetchall()
        fresh = [c for (c,) in found if c not in components]
        components.update(fresh)
        new: set[str] = set()
        if fresh:
            rows = con.execute(
                f"SELECT DISTINCT entity_id FROM er_members WHERE component IN ({_in(fresh)})", fresh
            ).fetchall()
            new.update(e for (e,) in rows)
        for e in batch:
            new.update(same.get(e, ()))
        new -= reached
        reached |= new
        frontier = sorted(new)
    people = sorted(reached)
    groups = {
        e: g for e, d, g in con.execute(
            f"SELECT entity_id, dataset, grp FROM er_groups WHERE entity_id IN ({EACH})", [_json(people)]
        ).fetchall()
        if d in shown
    }
    if entity_id not in groups:
        return [entity_id], entity_id
    edges: dict[tuple[str, str], float] = {}
    ends: set[tuple[str, str]] = set()
    if components:
        comps = sorted(components)
        for a, b, da, db, p in con.execute(
            f"SELECT left_id, right_id, left_dataset, right_dataset, probability FROM er_edges "
            f"WHERE component IN ({_in(comps)})",
            comps,
        ).fetchall():
            if da in shown and db in shown:
                key = clusters.pair_key(a, b)
                edges[key] = max(edges.get(key, 0.0), float(p))
                ends.update({(a, da), (b, db)})
    unique_ids: dict[str, dict[str, set[str]]] = {}
    linked = sorted({e for e, _ in ends})
    if linked:
        for e, d, value in con.execute(
            f"SELECT entity_id, dataset, value FROM er_uids WHERE entity_id IN ({EACH})", [_json(linked)]
        ).fetchall():
            if (e, d) in ends:
                kind, _, number = value.partition("=")
                unique_ids.setdefault(e, {}).setdefault(kind, set()).add(number)
    judged: dict[tuple[str, str], str] = {}
    for v in verdicts:
        if v.left in groups and v.right in groups:
            judged[clusters.pair_key(v.left, v.right)] = v.verdict
    graph = clusters.Graph(entities=sorted(groups), groups=groups, unique_ids=unique_ids)
    for key, p in sorted(edges.items()):
        if judged.get(key, "unsure") == "unsure":
            graph.edges.append((key[0], key[1], p))
    for key, verdict in sorted(judged.items()):
        if verdict == "same":
            graph.same.append(key)
        elif verdict == "different":
            graph.different.append(key)
    label = clusters.components(graph)
    members = sorted(e for e, lab in label.items() if lab == label[entity_id])
    if len(members) == 1:
        return members, entity_id
    rows = con.execute(
        f"SELECT canonical_id, size FROM er_canonical WHERE entity_id IN ({EACH})", [_json(members)]
    ).fetchall()
    ids = {cid for cid, _ in rows}
    if len(rows) == len(members) and len(ids) == 1 and rows[0][1] == len(members):
        return members, rows[0][0]
    return members, clusters.mint(members, ":view")


def resolve_id(
    con: sqlite3.Connection,
    index: Loaded,
    requested: str,
    visible: Mapping[str, DatasetAccessInfo],
    verdicts: Sequence[clusters.Verdict],
    owned: Collection[str] = frozenset(),
) -> tuple[list[str], str]:
    """The reader's cluster for an entity id or a canonical id; :class:`NotVisible` when the
    reader sees no record of it. A canonical id is accepted only when it is the id the reader's
    own view gives that cluster, so ids of clusters that hidden evidence shapes answer 404.
    Owner-only records (incident reports) count only in the reader's ``owned`` datasets."""
    numbers = sorted(index.numbers(visible, owned))
    if numbers and _visible_records(con, [requested], numbers):
        return view_cluster(con, index, requested, visible, verdicts)
    if index.has_resolution and numbers:
        members = [e for (e,) in con.execute(
            "SELECT entity_id FROM er_canonical WHERE canonical_id = ? ORDER BY entity_id", [requested]
        ).fetchall()]
        seen = sorted({r[1] for r in _visible_records(con, members, numbers)}) if members else []
        if seen:
            found, canonical = view_cluster(con, index, seen[0], visible, verdicts)
            if canonical == requested:
                return found, canonical
    raise NotVisible(f"no such entity: {requested}")


# -- reading records --------------------------------------------------------------------------


def _visible_records(con: sqlite3.Connection, entity_ids: Sequence[str], numbers: Sequence[int]) -> list[Any]:
    if not entity_ids:
        return []
    return con.execute(
        f"SELECT id, entity_id, dataset, schema, caption, statements FROM records "
        f"WHERE entity_id IN ({EACH}) AND dataset IN ({_in(numbers)}) ORDER BY entity_id, dataset",
        [_json(entity_ids), *numbers],
    ).fetchall()


def _statements(blob: str) -> list[list[Any]]:
    found: list[list[Any]] = orjson.loads(blob)
    return found


def _label(schema: str, prop: str) -> tuple[str, str]:
    found = model.get(schema)
    p = found.get(prop) if found is not None else None
    return (p.label, p.type.name) if p is not None else (prop, "string")


def _common_schema(schemata: Iterable[str]) -> str:
    names = sorted(set(schemata))
    current = names[0]
    for name in names[1:]:
        try:
            current = model.common_schema(current, name).name
        except InvalidData:
            continue
    return current


class _Reader:
    """One profile's reads, with the dataset names and their owners and markings at hand."""

    def __init__(
        self, con: sqlite3.Connection, index: Loaded, visible: Mapping[str, DatasetAccessInfo], owned: Collection[str]
    ) -> None:
        self.con = con
        self.visible = visible
        self.names = index.numbers(visible, owned)
        self.numbers = sorted(self.names)
        self.used: set[str] = set()

    def source(self, entity_id: str, dataset: str, s: Sequence[Any]) -> Source:
        self.used.add(dataset)
        access = self.visible[dataset]
        return Source(
            entity_id=entity_id, dataset=dataset, organisation=access.owner, marking=access.marking,
            first_seen=s[S_FIRST], last_seen=s[S_LAST], statement_id=s[S_ID], origin=s[S_ORIGIN],
        )

    def refs(self, entity_ids: Iterable[str]) -> dict[str, EntityRef]:
        """Captions and schemata of entities from their visible records (the first by dataset)."""
        wanted = sorted(set(entity_ids))
        out: dict[str, EntityRef] = {e: EntityRef(e, None, None) for e in wanted}
        if not wanted or not self.numbers:
            return out
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            for entity_id, dataset, schema, caption in self.con.execute(
                f"SELECT entity_id, dataset, schema, caption FROM records WHERE entity_id IN ({_in(chunk)}) "
                f"AND dataset IN ({_in(self.numbers)}) ORDER BY entity_id, dataset",
                [*chunk, *self.numbers],
            ).fetchall():
                if out[entity_id].schema is None:
                    out[entity_id] = EntityRef(entity_id, caption, schema)
                    self.used.add(self.names[dataset])
        return out


def profile(
    con: sqlite3.Connection,
    index: Loaded,
    requested: str,
    visible: Mapping[str, DatasetAccessInfo],
    verdicts: Sequence[clusters.Verdict],
    *,
    max_relations: int = MAX_RELATIONS,
    owned: Collection[str] = frozenset(),
) -> Profile:
    """The profile of ``requested`` (an entity id, or a canonical id of the reader's view).

    ``owned`` names the reader organisation's own datasets: owner-only records (incident
    reports, :data:`chainlight.model.markings.OWNER_ONLY_SCHEMATA`) of any other dataset are
    read nowhere, neither as the entity (:class:`NotVisible`, as for a missing one) nor among
    the relations and timeline of another (a port's incidents)."""
    members, canonical = resolve_id(con, index, requested, visible, verdicts, owned)
    reader = _Reader(con, index, visible, owned)
    records = _visible_records(con, members, reader.numbers)
    if not records:
        raise NotVisible(f"no such entity: {requested}")
    members = sorted({r[1] for r in records})
    properties: dict[str, Property] = {}
    values: dict[tuple[str, str], Value] = {}
    outgoing: list[tuple[str, str, str, Source]] = []
    events: list[tuple[str, str, str, str, str, str | None]] = []
    own_refs = {}
    for _, entity_id, number, schema, caption, blob in records:
        dataset = reader.names[number]
        reader.used.add(dataset)
        own_refs[entity_id] = EntityRef(entity_id, caption, schema)
        for s in _statements(blob):
            prop, kind, value = s[S_PROP], s[S_TYPE], s[S_VALUE]
            source = reader.source(entity_id, dataset, s)
            if kind == "entity":
                outgoing.append((prop, schema, value, source))
                continue
            label, _ = _label(schema, prop)
            entry = properties.setdefault(prop, Property(prop, label, kind))
            found = values.get((prop, value))
            if found is None:
                found = values[(prop, value)] = Value(value)
                entry.values.append(found)
            found.sources.append(source)
            if kind == "date":
                events.append((value, prop, label, entity_id, dataset, None))
    schema_name = _common_schema(r[3] for r in records)
    caption = _pick_caption(records, requested)
    relations, total, incoming_events = _relations(reader, members, outgoing, max_relations)
    events.extend(incoming_events)
    alerts = _alerts(con, index, reader, members) if index.has_alerts else None
    refs = reader.refs({e[3] for e in events} - set(own_refs))
    refs.update(own_refs)
    timeline = [
        Event(date=d, prop=p, label=lab, entity=refs[e], dataset=ds, marking=visible[ds].marking, relation=rel)
        for d, p, lab, e, ds, rel in sorted(set(events), key=lambda x: (x[0], x[3], x[1], x[4]))[:MAX_EVENTS]
    ]
    for entry in properties.values():
        entry.values.sort(key=lambda v: v.value)
    ordered = sorted(properties.values(), key=lambda p: (_featured_rank(schema_name, p.name), p.label.lower()))
    datasets = sorted(reader.used)
    return Profile(
        entity_id=requested, canonical_id=canonical, members=members, schema=schema_name, caption=caption,
        properties=ordered, relations=relations, relations_total=total, alerts=alerts, timeline=timeline,
        datasets=datasets, marking=most_restrictive(visible[d].marking for d in datasets),
    )


def _pick_caption(records: Sequence[Any], requested: str) -> str:
    """The caption of the requested entity's first record, else the commonest of the cluster."""
    own = [r[4] for r in records if r[1] == requested and r[4] != r[1]]
    if own:
        return str(own[0])
    named = [r[4] for r in records if r[4] != r[1]]
    if named:
        return str(max(sorted(set(named)), key=named.count))
    return str(records[0][4])


def _featured_rank(schema: str, prop: str) -> int:
    found = model.get(schema)
    featured = list(found.featured) if found is not None else []
    return featured.index(prop) if prop in featured else len(featured)


def _relations(
    reader: _Reader, members: list[str], outgoing: list[tuple[str, str, str, Source]], limit: int
) -> tuple[list[Relation], int, list[tuple[str, str, str, str, str, str | None]]]:
    con = reader.con
    relations: list[Relation] = []
    events: list[tuple[str, str, str, str, str, str | None]] = []
    targets = reader.refs(v for _, _, v, _ in outgoing)
    for prop, schema, value, source in sorted(outgoing, key=lambda o: (o[0], o[2], o[3].dataset)):
        label, _ = _label(schema, prop)
        relations.append(Relation("outgoing", prop, label, targets[value], source, [], {}))
    if not reader.numbers:
        return relations, len(relations), events
    where = f"f.target IN ({EACH}) AND r.dataset IN ({_in(reader.numbers)})"
    params: list[Any] = [_json(members), *reader.numbers]
    total = int(con.execute(f"SELECT count(*) FROM refs f JOIN records r ON r.id = f.record WHERE {where}",
                            params).fetchone()[0])
    rows = con.execute(
        f"SELECT f.target, f.prop, r.entity_id, r.dataset, r.schema, r.caption, r.statements "
        f"FROM refs f JOIN records r ON r.id = f.record WHERE {where} ORDER BY r.schema, r.entity_id, f.prop "
        f"LIMIT ?",
        [*params, limit],
    ).fetchall()
    parsed = []
    others: set[str] = set()
    for target, prop, entity_id, number, schema, caption, blob in rows:
        statements = _statements(blob)
        dataset = reader.names[number]
        ends = [(s[S_PROP], s[S_VALUE]) for s in statements
                if s[S_TYPE] == "entity" and not (s[S_PROP] == prop and s[S_VALUE] == target)]
        others.update(v for _, v in ends)
        parsed.append((target, prop, entity_id, dataset, schema, caption, statements, ends))
    names = reader.refs(others)
    for target, prop, entity_id, dataset, schema, caption, statements, ends in parsed:
        label, _ = _label(schema, prop)
        stated = next((s for s in statements if s[S_PROP] == prop and s[S_VALUE] == target), None)
        if stated is None:  # refs are made from these statements: only a damaged index lacks it
            continue
        source = reader.source(entity_id, dataset, stated)
        details: dict[str, list[str]] = {}
        for s in statements:
            if s[S_TYPE] in DETAIL_TYPES:
                details.setdefault(s[S_PROP], []).append(s[S_VALUE])
            if s[S_TYPE] == "date":
                events.append((s[S_VALUE], s[S_PROP], _label(schema, s[S_PROP])[0], entity_id, dataset, schema))
        counterparts = [
            EntityRef(v, names[v].caption, names[v].schema, prop=p) for p, v in sorted(set(ends))
        ]
        relations.append(Relation(
            "incoming", prop, label, EntityRef(entity_id, caption, schema), source, counterparts, details,
        ))
    return relations, total + len(outgoing), events


def _alerts(con: sqlite3.Connection, index: Loaded, reader: _Reader, members: list[str]) -> list[AlertRef]:
    """Alerts naming a member (or a member's global canonical id, which the rules saw), shown
    when every dataset they derive from is visible."""
    canonical = [c for (c,) in con.execute(
        f"SELECT DISTINCT canonical_id FROM er_canonical WHERE entity_id IN ({EACH})", [_json(members)]
    ).fetchall()] if index.has_resolution else []
    named = sorted(set(members) | set(canonical))
    rows = con.execute(
        f"SELECT DISTINCT a.alert_id, a.rule_id, a.title, a.category, a.severity, a.score, a.subject, a.reason, "
        f"a.datasets, a.last_raised FROM alert_entities e JOIN alerts a USING (alert_id) "
        f"WHERE e.entity_id IN ({EACH})",
        [_json(named)],
    ).fetchall()
    out = []
    for alert_id, rule_id, title, category, severity, score, subject, reason, datasets_json, last_raised in rows:
        datasets = orjson.loads(datasets_json)
        if not all(d in reader.visible for d in datasets):
            continue
        reader.used.update(datasets)
        out.append(AlertRef(
            alert_id=alert_id, rule_id=rule_id, title=title, category=category, severity=severity,
            score=float(score), subject=subject, reason=reason, datasets=datasets,
            marking=most_restrictive(reader.visible[d].marking for d in datasets), last_raised=last_raised,
        ))
    out.sort(key=lambda a: (-a.score, a.rule_id, a.alert_id))
    return out
