"""Ingest benchmarks, each figure next to a baseline measured in the same run.

    .venv/bin/python bench/run.py [--rows 5000000] [--statements 1000000] [--profile]

1. CITES shipment-level CSV through ``run_ingest`` vs DuckDB's own ``CREATE TABLE AS SELECT *
   FROM read_csv(file)`` of the same file into a fresh database file (target: at most 2x).
2. FtM JSON lines through ``run_ingest`` with the ftm reader (target: >= 200,000 statements/s
   on 2 cores) vs parsing the same file with orjson alone.

Data is generated at the requested scale in a temp dir; results are printed with Rich and
written to bench/out/results-<time>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chainlight.ingest.base import run_ingest
from chainlight.ingest.cites_trade import CitesTradeReader
from chainlight.ingest.ftm import FtmReader
from chainlight.store.evidence import EvidenceStore
from cites_data import write_cites_csv
from ftm_data import write_ftm_jsonl

OUT = Path(__file__).resolve().parent / "out"
console = Console()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_cites(work: Path, rows: int) -> dict[str, Any]:
    csv_path = work / "trade_db_1.csv"
    with console.status(f"writing {rows:,} CITES shipment rows"):
        write_cites_csv(csv_path, rows)

    def baseline() -> int:
        con = duckdb.connect(str(work / "baseline.duckdb"))
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}')")
        n = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        con.close()
        return int(n)

    def ingest() -> int:
        with EvidenceStore(work / "cites.duckdb") as store:
            store.con.execute("SET enable_progress_bar = false")
            report = run_ingest(store, CitesTradeReader(), [csv_path], "cites")
        return report.records_added

    with console.status("DuckDB read_csv baseline"):
        base_s, base_rows = timed(baseline)
    with console.status("chainlight ingest cites-trade"):
        ingest_s, added = timed(ingest)
    return {
        "rows": rows, "file_bytes": csv_path.stat().st_size,
        "baseline_seconds": base_s, "baseline_rows": base_rows, "baseline_rows_per_s": base_rows / base_s,
        "ingest_seconds": ingest_s, "records_added": added, "ingest_rows_per_s": rows / ingest_s,
        "ratio": ingest_s / base_s, "target_ratio": 2.0,
    }


def bench_ftm(work: Path, statements: int, profile: bool) -> dict[str, Any]:
    path = work / "entities.jsonl"
    with console.status(f"writing FtM entities (~{statements:,} values)"):
        entities = write_ftm_jsonl(path, statements)

    def baseline() -> int:
        n = 0
        with path.open("rb") as fh:
            for line in fh:
                orjson.loads(line)
                n += 1
        return n

    def ingest() -> int:
        with EvidenceStore(work / "ftm.duckdb") as store:
            store.con.execute("SET enable_progress_bar = false")
            report = run_ingest(store, FtmReader(), [path], "ngo")
        return report.statements_added

    with console.status("orjson baseline"):
        base_s, lines = timed(baseline)
    profiler = cProfile.Profile() if profile else None
    with console.status("chainlight ingest ftm"):
        if profiler:
            profiler.enable()
        ingest_s, added = timed(ingest)
        if profiler:
            profiler.disable()
    result: dict[str, Any] = {
        "entities": entities, "file_bytes": path.stat().st_size,
        "baseline_seconds": base_s, "baseline_lines_per_s": lines / base_s,
        "ingest_seconds": ingest_s, "statements_added": added, "statements_per_s": added / ingest_s,
        "entities_per_s": entities / ingest_s, "target_statements_per_s": 200_000,
    }
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        result["profile_top"] = text.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="CITES shipment rows")
    parser.add_argument("--statements", type=int, default=1_000_000, help="FtM statements (approximate)")
    parser.add_argument("--only", choices=("cites", "ftm"), help="run one benchmark")
    parser.add_argument("--profile", action="store_true", help="cProfile the FtM ingest")
    args = parser.parse_args()
    machine = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
        "platform": platform.platform(), "load_average": os.getloadavg(),
    }
    results: dict[str, Any] = {"machine": machine, "started": datetime.now(UTC).isoformat()}
    with tempfile.TemporaryDirectory(prefix="chainlight-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "cites"):
            results["cites"] = bench_cites(work, args.rows)
        if args.only in (None, "ftm"):
            results["ftm"] = bench_ftm(work, args.statements, args.profile)
    results["machine"]["load_average_after"] = os.getloadavg()

    table = Table(title=f"Ingest benchmarks ({machine['cpus']} CPUs, DuckDB {machine['duckdb']})")
    for column in ("benchmark", "chainlight", "baseline (same run)", "ratio / target"):
        table.add_column(column)
    if "cites" in results:
        c = results["cites"]
        table.add_row(
            f"CITES shipment CSV, {c['rows']:,} rows ({c['file_bytes'] / 1e6:,.0f} MB)",
            f"{c['ingest_seconds']:.1f} s = {c['ingest_rows_per_s']:,.0f} rows/s",
            f"DuckDB read_csv CTAS {c['baseline_seconds']:.1f} s = {c['baseline_rows_per_s']:,.0f} rows/s",
            f"{c['ratio']:.2f}x (target <= 2x)",
        )
    if "ftm" in results:
        f = results["ftm"]
        table.add_row(
            f"FtM JSON lines, {f['entities']:,} entities ({f['file_bytes'] / 1e6:,.0f} MB)",
            f"{f['ingest_seconds']:.1f} s = {f['statements_per_s']:,.0f} statements/s",
            f"orjson parse {f['baseline_seconds']:.1f} s = {f['baseline_lines_per_s']:,.0f} lines/s",
            f"{f['statements_per_s'] / 200_000:.2f} of 200,000/s",
        )
    console.print(table)
    if "profile_top" in results.get("ftm", {}):
        console.print(results["ftm"]["profile_top"], highlight=False, markup=False)
    OUT.mkdir(exist_ok=True)
    out = OUT / f"results-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"results written to {out}")


if __name__ == "__main__":
    main()
