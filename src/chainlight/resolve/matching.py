"""Scoring candidate pairs with Splink (DuckDB backend), one model per group.

A full run estimates the model's ``u`` probabilities by random sampling and its prior match
rate from deterministic rules (``m`` probabilities are the documented priors in
:mod:`chainlight.resolve.groups`, or EM estimates when asked), stores the trained model as
JSON in ``er_models`` and scores every blocked pair. An incremental run loads the stored
model and scores only pairs that involve a fresh record: fresh against fresh
(``predict_within``) and fresh against the rest (``predict_between``).

Every scored pair above the storage floor becomes a row of ``er_links`` with the level each
comparison reached and its match weight, so that any link can be explained.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from chainlight.resolve.groups import Group
from chainlight.store.evidence import EvidenceStore

TABLES = (
    """CREATE TABLE IF NOT EXISTS er_models (
        grp VARCHAR PRIMARY KEY,
        model VARCHAR NOT NULL,
        trained_at TIMESTAMP NOT NULL,
        records BIGINT NOT NULL,
        method VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS er_links (
        left_id BIGINT NOT NULL,
        right_id BIGINT NOT NULL,
        grp VARCHAR NOT NULL,
        match_weight DOUBLE NOT NULL,
        match_probability DOUBLE NOT NULL,
        features VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL
    )""",
)
# Pairs scoring below this probability are not stored: they are neither links nor worth review.
STORE_FLOOR = 0.2
DEFAULT_PRIOR = 1e-4
SEED = 20261122
# Random pairs sampled to estimate u. Half a million pins the common levels down well; levels
# rarer than that are bounded by :func:`_fill_unobserved_u`.
U_SAMPLE_PAIRS = 5e5


class ResolutionError(RuntimeError):
    """Resolution cannot go on (for example, a stored model no longer fits the code)."""


def ensure_tables(store: EvidenceStore) -> None:
    for ddl in TABLES:
        store.con.execute(ddl)


def base_settings(group: Group) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "record_id",
        "probability_two_random_records_match": DEFAULT_PRIOR,
        "blocking_rules_to_generate_predictions": group.blocking,
        "comparisons": group.comparisons,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
        "additional_columns_to_retain": ["entity_id"],
    }


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def level_weights(model: dict[str, Any]) -> dict[str, list[tuple[str, float | None]]]:
    """Per comparison, each level's label and match weight (log2 m/u; None for the null level)."""
    out: dict[str, list[tuple[str, float | None]]] = {}
    for comp in model["comparisons"]:
        levels: list[tuple[str, float | None]] = []
        for lv in comp["comparison_levels"]:
            label = lv.get("label_for_charts", "")
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if lv.get("is_null_level"):
                levels.append((label, None))
            elif m and u:
                levels.append((label, math.log2(m / u)))
            else:
                levels.append((label, 0.0))
        out[comp["output_column_name"]] = levels
    return out


def _features_sql(model: dict[str, Any]) -> str:
    """A JSON array, one object per comparison: feature, level reached, match weight. Splink
    keeps each comparison's weight; the level is the one whose trained weight that is."""
    parts = []
    for column, levels in level_weights(model).items():
        cases = " ".join(
            f"WHEN round(mw_{column}, 6) = {round(w, 6)} THEN '{_sql_text(label)}'"
            for label, w in levels
            if w is not None
        )
        parts.append(
            f"json_object('feature', '{column}', 'level', CASE WHEN mw_{column} = 0 THEN 'missing' {cases} END, "
            f"'weight', round(mw_{column}, 3))"
        )
    return f"json_array({', '.join(parts)})"


def _quiet_splink() -> None:
    # Splink warns, for instance, when the deterministic rules find no pair in a small group;
    # we handle those cases (default prior) and report in our own words.
    logging.getLogger("splink").setLevel(logging.ERROR)


def _db(con: duckdb.DuckDBPyConnection) -> Any:
    from splink import DuckDBAPI

    return DuckDBAPI(connection=con)


def train(group: Group, con: duckdb.DuckDBPyConnection, table: str, *, em: bool = False) -> dict[str, Any]:
    """Estimate the model's parameters on ``table`` (in ``con``) and return it as a dict."""
    from splink import Linker

    _quiet_splink()
    db = _db(con)
    records = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    linker = Linker(db.register(table), base_settings(group), log_level=None)
    if records >= 2:
        try:
            linker.training.estimate_probability_two_random_records_match(
                list[Any](group.deterministic), recall=group.deterministic_recall
            )
        except Exception as exc:
            logging.getLogger(__name__).info("prior for %s kept at default: %s", group.name, exc)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=U_SAMPLE_PAIRS, seed=SEED, min_count_per_level=None, num_chunks=1
        )
        if em:
            for rule in group.blocking[:2]:
                linker.training.estimate_parameters_using_expectation_maximisation(rule["blocking_rule"])
    model: dict[str, Any] = linker.misc.save_model_to_json()
    _fill_unobserved_u(model, records)
    prior = model.get("probability_two_random_records_match")
    if not isinstance(prior, float) or not (0 < prior < 1) or math.isnan(prior):
        model["probability_two_random_records_match"] = DEFAULT_PRIOR
    return model


def _fill_unobserved_u(model: dict[str, Any], records: int) -> None:
    """A level never seen among the sampled random pairs has ``u`` below about one over the
    number of pairs sampled; Splink leaves it unset (which would make the level count for
    nothing), so it gets that bound. This matters for small pools."""
    sampled = max(1.0, min(records * (records - 1) / 2, U_SAMPLE_PAIRS))
    bound = 1.0 / (sampled + 1.0)
    for comp in model.get("comparisons", []):
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv in levels[:-1]:
            if not lv.get("u_probability"):
                lv["u_probability"] = bound
        last = levels[-1]
        if not last.get("u_probability"):
            last["u_probability"] = max(bound, 1.0 - sum(lv["u_probability"] for lv in levels[:-1]))


def save_model(store: EvidenceStore, group: Group, model: dict[str, Any], records: int, method: str) -> None:
    store.con.execute("DELETE FROM er_models WHERE grp = ?", [group.name])
    store.con.execute(
        "INSERT INTO er_models VALUES (?, ?, ?, ?, ?)",
        [group.name, json.dumps(model), datetime.now(UTC).replace(tzinfo=None), records, method],
    )


def load_model(store: EvidenceStore, group: Group) -> dict[str, Any] | None:
    rows = store.fetchall("SELECT model FROM er_models WHERE grp = ?", [group.name])
    if not rows:
        return None
    model: dict[str, Any] = json.loads(rows[0][0])
    names = [c["output_column_name"] for c in model.get("comparisons", [])]
    if names != [c["output_column_name"] for c in group.comparisons]:
        return None  # the group's comparisons changed since training: retrain
    return model


def score(
    group: Group,
    con: duckdb.DuckDBPyConnection,
    model: dict[str, Any],
    *,
    all_table: str,
    fresh_table: str | None,
    rest_table: str | None,
) -> pa.Table:
    """Scored pairs above the storage floor as an Arrow table (left_id, right_id, weight,
    probability, features). With ``fresh_table`` and ``rest_table`` only pairs touching a
    fresh record are scored."""
    from splink import Linker

    _quiet_splink()
    db = _db(con)
    linker = Linker(db.register(all_table), model, log_level=None)
    frames = []
    if fresh_table is None:
        frames.append(linker.inference.predict(threshold_match_probability=STORE_FLOOR, warning_mode="never"))
    else:
        fresh = db.register(fresh_table, table_name=f"{fresh_table}_in")
        frames.append(
            linker.inference.predict_within(fresh, threshold_match_probability=STORE_FLOOR, warning_mode="never")
        )
        if rest_table is not None:
            rest = db.register(rest_table, table_name=f"{rest_table}_in")
            frames.append(
                linker.inference.predict_between(
                    rest, fresh, threshold_match_probability=STORE_FLOOR, warning_mode="never"
                )
            )
    features = _features_sql(model)
    tables = []
    for frame in frames:
        tables.append(
            con.sql(
                f"""SELECT least(record_id_l, record_id_r) AS left_id, greatest(record_id_l, record_id_r) AS right_id,
                       match_weight, match_probability, {features}::VARCHAR AS features
                FROM {frame.physical_name}
                WHERE entity_id_l <> entity_id_r"""
            ).to_arrow_table()
        )
        frame.drop_table_from_database_and_remove_from_cache()
    return pa.concat_tables(tables) if tables else pa.table({})
