"""Fuzzy name search with facets over the serving index, for one reader's datasets.

A query is normalised and cut into trigrams (:mod:`chainlight.search.text`). The postings of
those trigrams, *in the datasets the reader may see only*, are read from the index and merged
(numpy), giving for every name that shares a trigram with the query how many it shares; each
name's score follows from that count and the name's own trigram count, and a record scores as
its best name. Records scoring at least :data:`MIN_SCORE` match; they are ranked by score, then
by caption, and grouped by entity id. Facet counts (schema, country, dataset, marking) count
distinct entities among the matches, with every filter applied.

Need-to-know holds because nothing outside the visible datasets is ever read: postings, their
sizes (used to choose trigrams) and records are all per dataset, so a hidden dataset changes
neither the results nor the counts nor the order of anything a reader sees. Owner-only records
(incident reports) have a dataset number of their own, read only for the reader's own datasets,
so the same holds for other organisations' incident reports.

Very common trigrams are expensive to merge and say little. When the query's trigrams hold
more than :data:`MAX_POSTINGS` postings in all, only the rarest are merged into candidates
(spread over the query, so that one typo cannot hide all of them) and scores are estimated
from them; the commonest are then looked up (binary search in each posting list) for the
:data:`EXACT` best-estimated candidates, whose scores become exact. The top of the ranking is
therefore exact, while the total and the facet counts rest partly on estimates, and a name
sharing none of the rarer trigrams is not a candidate: the answer says it is ``approximate``.
Without a query, search browses: every visible record passing the filters, by caption.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from chainlight.model.markings import Marking, most_restrictive
from chainlight.search import text
from chainlight.search.reader import Loaded

#: A record matches when its best name scores at least this (see text.score).
MIN_SCORE = 0.55
#: Postings read for one query before the commonest trigrams are left out.
MAX_POSTINGS = 60_000
#: Candidates whose scores are made exact when the commonest trigrams were not merged.
EXACT = 500
#: Trigrams read at least, however common (spread over the query).
MIN_GRAMS = 3
#: Deepest page a search may ask for.
MAX_OFFSET = 10_000

Ints = npt.NDArray[np.int64]
Ints32 = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Filters:
    schema: str | None = None
    country: str | None = None
    dataset: str | None = None
    marking: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One entity found: its records in the visible datasets that matched."""

    entity_id: str
    caption: str
    schema: str
    score: float | None
    matched: str | None
    names: list[str]
    countries: list[str]
    datasets: list[str]
    marking: Marking


@dataclass(slots=True)
class Page:
    query: str
    normalised: str
    filters: Filters
    total: int
    offset: int
    limit: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    approximate: bool = False
    marking: Marking = Marking.CLEAR
    datasets: list[str] = field(default_factory=list)


def _allowed(
    index: Loaded, visible: Mapping[str, Marking], filters: Filters, owned: Collection[str]
) -> dict[int, str]:
    """Dataset numbers of the index the reader may search (owner-only records of its own datasets
    only: :meth:`Loaded.numbers`), narrowed by the dataset and marking filters; a filter naming
    something hidden or unknown leaves nothing (as a missing one would)."""
    out = {}
    for number, name in index.numbers(visible, owned).items():
        if filters.dataset is not None and name != filters.dataset:
            continue
        if filters.marking is not None and visible[name].value != filters.marking:
            continue
        out[number] = name
    return out


def _postings(
    con: sqlite3.Connection, codes: Sequence[int], positions: Sequence[int], datasets: list[int]
) -> tuple[list[int], list[int]]:
    """The trigrams whose postings are merged into candidates, and the others: all of them are
    merged when their postings fit :data:`MAX_POSTINGS`; else the rarest, spread over the query
    (no two within three characters, so that one typo cannot hide them all), then any others
    that fit, and the commonest are only looked up for those candidates."""
    marks = ",".join("?" * len(datasets))
    grams = ",".join("?" * len(codes))
    sizes = dict(con.execute(
        f"SELECT gram, sum(n) FROM postings WHERE gram IN ({grams}) AND dataset IN ({marks}) GROUP BY gram",
        [*codes, *datasets],
    ).fetchall())
    present = [(sizes[c], p, c) for c, p in zip(codes, positions, strict=True) if c in sizes]
    if sum(n for n, _, _ in present) <= MAX_POSTINGS:
        return [c for _, _, c in present], []
    present.sort()
    chosen: list[tuple[int, int, int]] = []
    spent = 0
    for n, p, c in present:  # rare and spread out first
        if any(abs(p - q) < 3 for _, q, _ in chosen):
            continue
        if spent + n > MAX_POSTINGS and len(chosen) >= MIN_GRAMS:
            break
        chosen.append((n, p, c))
        spent += n
    for n, p, c in present:  # then whatever else fits
        if (n, p, c) not in chosen and spent + n <= MAX_POSTINGS:
            chosen.append((n, p, c))
            spent += n
    picked = {c for _, _, c in chosen}
    return [c for _, _, c in chosen], [c for _, _, c in present if c not in picked]


def _lists(index: Loaded, con: sqlite3.Connection, codes: list[int], datasets: list[int]) -> list[Ints32]:
    """The posting lists of ``codes`` in ``datasets`` (those that exist), from the process's cache
    where it has them."""
    out: list[Ints32] = []
    missing: set[int] = set()
    for code in codes:
        for dataset in datasets:
            found = index.postings.get(code, dataset)
            if found is None:
                missing.add(code)
            else:
                out.append(found)
    if missing:
        wanted = sorted(missing)
        for gram, dataset, blob in con.execute(
            f"SELECT gram, dataset, keys FROM postings WHERE gram IN ({','.join('?' * len(wanted))}) "
            f"AND dataset IN ({','.join('?' * len(datasets))})",
            [*wanted, *datasets],
        ):
            if index.postings.get(gram, dataset) is not None:
                continue  # cached meanwhile for the other datasets of this gram: already in out
            keys = np.frombuffer(blob, dtype=np.int32)
            index.postings.put(gram, dataset, keys)
            out.append(keys)
    return out


def _shared(index: Loaded, con: sqlite3.Connection, codes: list[int], datasets: list[int]) -> tuple[Ints, Ints]:
    """Key numbers sharing at least one of ``codes`` and how many they share (keys ascending)."""
    lists = _lists(index, con, codes, datasets) if codes else []
    if not lists:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    merged = np.concatenate(lists)
    merged.sort(kind="stable")  # sorted runs: a merge, not a full sort
    starts = np.flatnonzero(np.concatenate([[True], merged[1:] != merged[:-1]]))
    counts = np.diff(np.append(starts, len(merged)))
    return merged[starts].astype(np.int64), counts.astype(np.int64)


def _count_in(index: Loaded, con: sqlite3.Connection, codes: list[int], datasets: list[int], keys: Ints) -> Ints:
    """For each of ``keys`` (ascending), how many of ``codes`` it holds: each posting list is
    searched for the keys (binary search) rather than merged whole."""
    shared = np.zeros(len(keys), dtype=np.int64)
    if not codes or not len(keys):
        return shared
    probe = keys.astype(np.int32)
    for postings in _lists(index, con, codes, datasets):
        at = np.searchsorted(postings, probe)
        inside = at < len(postings)
        found = np.zeros(len(keys), dtype=bool)
        found[inside] = postings[at[inside]] == probe[inside]
        shared += found
    return shared


def _scores(shared: Ints, query_size: int, key_size: npt.NDArray[Any]) -> Floats:
    sizes = key_size.astype(np.float64)
    shared_f = np.minimum(shared.astype(np.float64), sizes)
    return 0.5 * shared_f / query_size + shared_f / (query_size + sizes)


def _best_per_record(index: Loaded, keys: Ints, scores: Floats) -> tuple[Ints, Floats, Ints]:
    """Each record's best score and the key that scored it (a record's keys are numbered
    consecutively, so ``keys`` ascending come grouped by record)."""
    if not len(keys):
        return keys, scores, keys
    records = index.key_record[keys].astype(np.int64)
    starts = np.flatnonzero(np.concatenate([[True], records[1:] != records[:-1]]))
    best = np.maximum.reduceat(scores, starts)
    # the first key of each record reaching its best score
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(keys))))
    top = np.flatnonzero(scores == best[owner])
    first = top[np.concatenate([[True], owner[top][1:] != owner[top][:-1]])]
    return records[starts], best, keys[first]


def _countries_of(index: Loaded, records: Ints) -> tuple[Ints, Ints]:
    """(row in ``records``, country number) for every country of each record."""
    lo = index.record_country_ptr[records].astype(np.int64)
    hi = index.record_country_ptr[records + 1].astype(np.int64)
    lengths = hi - lo
    rows = np.repeat(np.arange(len(records), dtype=np.int64), lengths)
    offsets = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, index.record_country[np.repeat(lo, lengths) + offsets].astype(np.int64)


def _filter(index: Loaded, records: Ints, filters: Filters) -> npt.NDArray[np.bool_]:
    keep = np.ones(len(records), dtype=bool)
    if filters.schema is not None:
        number = index.schemata.index(filters.schema) if filters.schema in index.schemata else -1
        keep &= index.record_schema[records] == number
    if filters.country is not None:
        number = index.countries.index(filters.country) if filters.country in index.countries else -1
        rows, codes = _countries_of(index, records)
        has = np.zeros(len(records), dtype=bool)
        has[rows[codes == number]] = True
        keep &= has
    return keep


def _distinct_counts(entity: Ints, values: Ints, size: int) -> Ints:
    """Entities per value, for rows sorted by entity (an entity with two rows of one value counts
    once). Most entities have one row: rows are counted, then the few entities with several
    rows are counted exactly in their stead."""
    size = max(size, 1)
    counts = np.bincount(values, minlength=size)
    if len(entity) > 1:
        same = entity[1:] == entity[:-1]
        if same.any():
            several = np.flatnonzero(np.concatenate([[False], same]) | np.concatenate([same, [False]]))
            pairs = np.unique(entity[several] * size + values[several])
            counts -= np.bincount(values[several], minlength=size)
            counts += np.bincount(pairs % size, minlength=size)
    return counts


def _facets(
    index: Loaded, records: Ints, allowed: dict[int, str], visible: Mapping[str, Marking]
) -> dict[str, list[tuple[str, int]]]:
    """Distinct entities per schema, country, dataset and marking among ``records`` (ascending)."""
    entity = index.record_entity[records].astype(np.int64)
    schema = _distinct_counts(entity, index.record_schema[records].astype(np.int64), len(index.schemata))
    rows, codes = _countries_of(index, records)
    country = _distinct_counts(entity[rows], codes, len(index.countries))
    dataset = np.bincount(index.record_dataset[records].astype(np.int64), minlength=max(allowed, default=0) + 1)
    per_name: dict[str, int] = {}  # a dataset's shared and owner-only numbers count as one dataset
    for number, name in allowed.items():
        per_name[name] = per_name.get(name, 0) + int(dataset[number])
    markings = {m: i for i, m in enumerate(Marking)}
    marking_of = np.zeros(max(allowed, default=0) + 1, dtype=np.int64)
    for number, name in allowed.items():
        marking_of[number] = markings[visible[name]]
    marking = _distinct_counts(entity, marking_of[index.record_dataset[records].astype(np.int64)], len(markings))

    def ranked(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
        return sorted(((k, int(n)) for k, n in pairs if n), key=lambda kv: (-kv[1], kv[0]))

    return {
        "schema": ranked(list(zip(index.schemata, schema.tolist(), strict=False))),
        "country": ranked(list(zip(index.countries, country.tolist(), strict=False))),
        "dataset": ranked(list(per_name.items())),
        "marking": ranked([(m.value, int(marking[i])) for m, i in markings.items()]),
    }


def _rows(con: sqlite3.Connection, records: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    if not records:
        return {}
    found = con.execute(
        f"SELECT id, entity_id, dataset, schema, caption, names, countries FROM records "
        f"WHERE id IN ({','.join('?' * len(records))})",
        list(records),
    ).fetchall()
    return {r[0]: r for r in found}


def _first_entities(index: Loaded, ordered: Ints, need: int) -> Ints:
    """The first ``need`` entities in order of their first record in ``ordered``. Only as long a
    prefix as needed is grouped: an entity's first record in a prefix is its first overall."""
    n = max(need * 4, 256)
    while True:
        prefix = ordered[:n]
        entity = index.record_entity[prefix].astype(np.int64)
        _, first = np.unique(entity, return_index=True)
        first.sort()
        if len(first) >= need or n >= len(ordered):
            return entity[first][:need]
        n *= 4


def _count_entities(index: Loaded, records: Ints) -> int:
    """Distinct entities among ``records`` (ascending; records are numbered in entity order)."""
    if not len(records):
        return 0
    entity = index.record_entity[records]
    return int(np.count_nonzero(entity[1:] != entity[:-1])) + 1


def search(
    index: Loaded,
    con: sqlite3.Connection,
    visible: Mapping[str, Marking],
    query: str,
    filters: Filters = Filters(),
    *,
    offset: int = 0,
    limit: int = 20,
    owned: Collection[str] = frozenset(),
) -> Page:
    """One page of entities matching ``query`` (every visible entity when it is blank), with facets.

    ``owned`` names the reader organisation's own datasets: only their owner-only records
    (incident reports) are searched; those of other organisations' datasets are not."""
    allowed = _allowed(index, visible, filters, owned)
    key, codes, positions = text.query_grams(query)
    approximate = False
    found: dict[int, tuple[float, int]] = {}  # record -> (score, position of the name that matched)
    best: Floats = np.zeros(0, dtype=np.float64)
    best_key: Ints = np.zeros(0, dtype=np.int64)
    if not allowed:
        records = ordered = np.zeros(0, dtype=np.int64)
    elif key and codes:
        datasets = sorted(allowed)
        merged, looked_up = _postings(con, codes, positions, datasets)
        approximate = bool(looked_up)
        keys, shared = _shared(index, con, merged, datasets)
        if looked_up and len(keys):
            # Estimated from the merged (rarer) trigrams; exact for the best-estimated candidates,
            # the commonest trigrams looked up for those alone.
            scaled = np.rint(shared * ((len(merged) + len(looked_up)) / len(merged))).astype(np.int64)
            scores = _scores(scaled, len(codes), index.key_size[keys])
            top = np.argpartition(-scores, EXACT)[:EXACT] if len(keys) > EXACT else np.arange(len(keys))
            top.sort()
            exact = shared[top] + _count_in(index, con, looked_up, datasets, keys[top])
            scores[top] = _scores(exact, len(codes), index.key_size[keys[top]])
        else:
            scores = _scores(shared, len(codes), index.key_size[keys])
        good = scores >= MIN_SCORE  # a record matches when one of its keys does
        records, best, best_key = _best_per_record(index, keys[good], scores[good])
        keep = _filter(index, records, filters)
        records, best, best_key = records[keep], best[keep], best_key[keep]
        ordered = records[np.lexsort((index.caption_rank[records], -best))]
    else:
        lookup = np.zeros(max(index.dataset_numbers, 1), dtype=bool)
        lookup[list(allowed)] = True
        mask = lookup[index.record_dataset]
        records = np.flatnonzero(mask).astype(np.int64)
        records = records[_filter(index, records, filters)]
        keep = np.zeros(index.records, dtype=bool)
        keep[records] = True
        ordered = index.by_caption[keep[index.by_caption]].astype(np.int64)
    total = _count_entities(index, records)  # records ascend: the index numbers them in entity order
    facets = _facets(index, records, allowed, visible)
    page = _first_entities(index, ordered, offset + limit)[offset:]
    chosen = ordered[np.isin(index.record_entity[ordered], page)]
    if len(best):
        at = np.searchsorted(records, chosen)
        found = dict(zip(chosen.tolist(), zip(best[at].tolist(), index.key_name[best_key[at]].tolist(),
                                              strict=True), strict=True))
    hits = _hits(_rows(con, chosen.tolist()), chosen.tolist(), allowed, visible, found)
    shown = sorted({d for h in hits for d in h.datasets})
    return Page(
        query=query, normalised=key, filters=filters, total=total, offset=offset, limit=limit, hits=hits,
        facets=facets, approximate=approximate, marking=most_restrictive(visible[d] for d in shown), datasets=shown,
    )


def _hits(
    rows: dict[int, tuple[Any, ...]],
    ordered: list[int],
    allowed: dict[int, str],
    visible: Mapping[str, Marking],
    found: dict[int, tuple[float, int]],
) -> list[Hit]:
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for record in ordered:
        row = rows[record]
        grouped.setdefault(row[1], []).append(row)
    hits = []
    for entity_id, records in grouped.items():
        first = records[0]  # the best-ranked record of the entity
        names = list(dict.fromkeys(n for r in records for n in orjson.loads(r[5])))
        countries = sorted({c for r in records for c in orjson.loads(r[6])})
        datasets = sorted({allowed[r[2]] for r in records})
        score: float | None = None
        matched: str | None = None
        if first[0] in found:
            score, position = found[first[0]]
            own = orjson.loads(first[5])
            matched = own[position] if position < len(own) else None
        hits.append(Hit(
            entity_id=entity_id, caption=first[4], schema=first[3], score=None if score is None else round(score, 4),
            matched=matched, names=names[:8], countries=countries, datasets=datasets,
            marking=most_restrictive(visible[d] for d in datasets),
        ))
    return hits
