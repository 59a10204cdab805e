"""Rule engine benchmark (issue 5): the full rule library over a large store, next to one DuckDB
scan of the same inputs measured in the same run.

    .venv/bin/python bench/rules.py [--trade-rows 10000000] [--shipments 1000000] [--payments 1000000]
                                    [--scale 1.0] [--threads 2] [--work /tmp/bench-rules] [--store PATH]
                                    [--keep] [--no-resolution] [--json [PATH]]

Data (``rules_data.py``): a fresh evidence store written directly by DuckDB SQL (``range()`` and
hashing, no reader runs): ``--trade-rows`` CITES Trade Database records, ``--shipments`` customs
shipments with their permits, endorsements, parties, ownerships, family, associate and
employment ties, seizures and the reference ports, ``--payments`` FIU payments, and the
resolution clusters of the parties; a few red flags of each kind are planted so the rules do
real work. ``--scale`` multiplies the three sizes (``--scale 0.01`` for a quick check). The
generation time is reported on its own and not counted.

Before measuring, the per-schema projections (``proj_*``, which the rule inputs read) are
rebuilt as ingest rebuilds them after loading (``projections.rebuild``), timed and reported
apart: after an ingest they are current and a rule run does not pay for them.

Measured in a child process (so its peak RSS is the run's own), with DuckDB limited to
``--threads`` threads (default 2, the target machine):

1. the full library: ``chainlight.rules.engine.run(store, list(library().values()), None,
   clusters=...)`` with the store's merged cluster ids as ``chainlight rules run`` passes them
   (read from ``er_clusters`` beforehand and reported apart), timed as a whole (target: <= 120 s
   for 10 M trade rows, 1 M shipments and 1 M payments on 2 cores) and split into the
   materialisation of each input, each rule (with its query alone) and storing the alerts, each
   with the CPU seconds it used (the stable figure when other processes share the cores); rules
   that cannot run are listed as skipped, a rule whose query fails as failed (it counts as
   finding nothing, so one file being edited does not void the run);
2. the baseline, after the rules (so any cache the engine warmed helps the baseline, not us):
   one DuckDB scan over the same inputs: a query aggregating every column of ``cites_trade``,
   one over every column of ``statements`` and one over ``er_clusters``.

Results are printed with Rich; ``--json`` writes them (by default to bench/out/rules-<time>.json).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

OUT = Path(__file__).resolve().parent / "out"
TARGET_SECONDS = 120.0
console = Console(width=160)


def now() -> float:
    return time.perf_counter()


def cpu() -> float:
    """CPU seconds this process has used (all its threads): the stable figure on a busy machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


# --- the measured child ----------------------------------------------------------------------------


def _scan_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """One aggregate per column of ``table``: lengths of strings and lists, sums of numbers,
    counts of booleans, maxima of dates and times."""
    parts = ["count(*)"]
    for name, type_, *_ in con.execute(f"DESCRIBE {table}").fetchall():
        col = f'"{name}"'
        t = str(type_)
        if t == "VARCHAR":
            parts.append(f"sum(length({col}))")
        elif t.endswith("[]"):
            parts.append(f"sum(len({col}))")
        elif t == "BOOLEAN":
            parts.append(f"count_if({col})")
        elif t.startswith(("DATE", "TIMESTAMP", "TIME")):
            parts.append(f"max({col})")
        else:
            parts.append(f"sum({col})")
    return f"SELECT {', '.join(parts)} FROM {table}"


def measure_child(store_path: Path, threads: int, memory_limit: str | None) -> None:
    """Run the library, then the baseline scan, on ``store_path``; print the figures as JSON."""
    from chainlight.rules import engine, inputs
    from chainlight.rules.model import RuleError, library
    from chainlight.store.evidence import EvidenceStore

    def log(text: str) -> None:
        print(f"  [{time.strftime('%X')}] {text}", file=sys.stderr, flush=True)

    rules = list(library().values())
    input_seconds: dict[str, float] = {}
    input_cpu: dict[str, float] = {}
    query_seconds: dict[str, float] = {}
    query_cpu: dict[str, float] = {}
    failed: dict[str, str] = {}

    def timed_materialise(con: duckdb.DuckDBPyConnection, names: list[str], *rest: Any, **kw: Any) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in names:
            start, start_cpu = now(), cpu()
            counts.update(inputs.materialise(con, [name], *rest, **kw))
            input_seconds[name], input_cpu[name] = now() - start, cpu() - start_cpu
            log(f"input {name}: {counts[name]:,} rows in {input_seconds[name]:.2f} s (CPU {input_cpu[name]:.2f} s)")
        return counts

    real_evaluate = engine.evaluate

    def timed_evaluate(con: duckdb.DuckDBPyConnection, rule: Any, params: dict[str, Any],
                       table: str = "_rule_out") -> None:
        start, start_cpu = now(), cpu()
        try:
            real_evaluate(con, rule, params, table)
        except RuleError as exc:
            # A rule broken in the working tree: recorded and run as if it found nothing, so one
            # file being edited does not void the measure of the others.
            failed[rule.id] = str(exc)
            log(f"FAILED {exc}")
            extra = "".join(f', "{d}" VARCHAR' for d in rule.details)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (subject VARCHAR, entities VARCHAR[], "
                        f"evidence VARCHAR[], datasets VARCHAR[], reason VARCHAR{extra})")
        query_seconds[rule.id], query_cpu[rule.id] = now() - start, cpu() - start_cpu

    engine.materialise = timed_materialise  # type: ignore[assignment]
    engine.evaluate = timed_evaluate  # type: ignore[assignment]
    with EvidenceStore(store_path) as store:
        con = store.con
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {threads}")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        duckdb_threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        log(f"{len(rules)} rules, DuckDB threads={duckdb_threads}, memory_limit={limit}")
        # The first Arrow table a DuckDB connection registers imports its Python bridge (seconds on
        # a busy machine, whatever the data): done here so the figures below are about the data.
        start = now()
        con.register("_warm_up", pa.table({"x": [1]}))
        con.unregister("_warm_up")
        warm_up_seconds = now() - start
        # As the pipeline does (chainlight rules run): entity ids -> resolved cluster ids when the
        # store has a resolution, read before engine.run (resolution's cost, reported apart).
        start = now()
        kwargs: dict[str, Any] = {}
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
        if "er_clusters" in tables and "clusters" in inspect.signature(engine.run).parameters:
            kwargs["clusters"] = dict(con.execute(
                "SELECT entity_id, canonical_id FROM er_clusters WHERE entity_id <> canonical_id").fetchall())
        clusters_seconds = now() - start
        load_before = os.getloadavg()
        start, start_cpu = now(), cpu()
        report = engine.run(store, rules, None, progress=lambda step: log(f"rule {step}")
                            if not step.startswith("preparing") else log(step), **kwargs)
        run_seconds, run_cpu = now() - start, cpu() - start_cpu
        load_after = os.getloadavg()
        log(f"engine.run: {run_seconds:.2f} s, {report.alerts:,} alerts")
        rss_after_rules = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        baseline: dict[str, Any] = {}
        for table in ("cites_trade", "statements", "er_clusters"):
            if table not in tables:
                continue
            sql = _scan_sql(con, table)
            start, start_cpu = now(), cpu()
            con.execute(sql).fetchall()
            baseline[table] = {"seconds": now() - start, "cpu_seconds": cpu() - start_cpu,
                               "rows": int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])}
            log(f"baseline scan of {table}: {baseline[table]['seconds']:.2f} s")
    outcomes = [
        {"rule": o.rule_id, "status": "failed" if o.rule_id in failed else o.status, "alerts": o.alerts,
         "seconds": o.seconds,
         "query_seconds": query_seconds.get(o.rule_id), "query_cpu_seconds": query_cpu.get(o.rule_id),
         "message": failed.get(o.rule_id, o.message)}
        for o in report.outcomes
    ]
    ran = sum(o.seconds for o in report.outcomes)
    print(json.dumps({
        "threads": duckdb_threads, "memory_limit": limit,
        "run_cpu_seconds": run_cpu, "load_average_before": load_before, "load_average_after": load_after,
        "clusters": len(kwargs.get("clusters") or {}), "clusters_seconds": clusters_seconds,
        "warm_up_seconds": warm_up_seconds,
        "run_seconds": run_seconds, "report_seconds": report.seconds, "prepare_seconds": report.prepare_seconds,
        "inputs": {name: {"rows": report.input_rows.get(name, 0), "seconds": s, "cpu_seconds": input_cpu[name]}
                   for name, s in input_seconds.items()},
        "setup_seconds": report.prepare_seconds - sum(input_seconds.values()),
        "rules": outcomes, "rules_seconds": ran,
        "store_seconds": report.seconds - report.prepare_seconds - ran,
        "alerts": report.alerts,
        "baseline": baseline, "baseline_seconds": sum(b["seconds"] for b in baseline.values()),
        "baseline_cpu_seconds": sum(b["cpu_seconds"] for b in baseline.values()),
        "peak_rss_after_rules": rss_after_rules,
    }))


def ensure_projections(path: Path, threads: int, memory_limit: str | None) -> dict[str, Any]:
    """Rebuild the per-schema projections when they are not current, as ingest does after
    loading (``projections.rebuild``): rules read them, and ``engine.run`` would otherwise
    rebuild them first. Timed here, apart from the rules."""
    from chainlight.store import projections
    from chainlight.store.evidence import EvidenceStore

    with EvidenceStore(path) as store:
        store.con.execute("SET enable_progress_bar = false")
        if threads:
            store.con.execute(f"SET threads = {threads}")
        if memory_limit:
            store.con.execute(f"SET memory_limit = '{memory_limit}'")
        if projections.current(store):
            return {"rebuilt": False}
        console.log("rebuilding the per-schema projections (ingest's step, not counted)")
        start, start_cpu = now(), cpu()
        counts = projections.rebuild(store)
        seconds, cpu_seconds = now() - start, cpu() - start_cpu
    console.log(f"projections rebuilt in {seconds:.1f} s (CPU {cpu_seconds:.1f} s)")
    return {"rebuilt": True, "seconds": seconds, "cpu_seconds": cpu_seconds, "rows": counts}


def run_child(args: list[str]) -> tuple[float, int, str]:
    """Run ``args``; return its wall time, its peak RSS (bytes) and its stdout. Its stderr (the
    progress log) goes to ours."""
    start = now()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else b""))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    reader.join()
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise RuntimeError(f"the measured run failed with exit code {code}")
    return now() - start, usage.ru_maxrss * 1024, b"".join(out).decode()


# --- report ----------------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "[green]met[/green]" if value <= target else "[red]missed[/red]"


def report(results: dict[str, Any]) -> None:
    g, r, m = results.get("generate"), results["run"], results["machine"]
    a = results["args"]
    size = f"{a['trade_rows']:,} trade rows, {a['shipments']:,} shipments, {a['payments']:,} payments"
    if g:
        data = Table(title=f"Generated store ({size}); not part of the timing", show_header=True)
        for column in ("what", "count", "what", "count"):
            data.add_column(column)
        cells = [("statements", f"{g['statements']:,}"), ("cites_trade rows", f"{g['trade_rows']:,}"),
                 ("er_clusters rows", f"{g['clusters']:,}"), ("file", gib(g["file_bytes"])),
                 ("generation", f"{g['seconds']:.1f} s")]
        cells += [(f"{schema} entities", f"{n:,}") for schema, n in g["entities"].items()]
        cells += [(f"planted: {k.replace('_', ' ')}", f"{v:,}") for k, v in g["planted"].items()]
        for i in range(0, len(cells), 2):
            left, right = cells[i], cells[i + 1] if i + 1 < len(cells) else ("", "")
            data.add_row(*left, *right)
        console.print(data)

    table = Table(title=f"Rule library over {size}: {r['threads']} DuckDB threads ({m['cpus']} CPUs), "
                        f"DuckDB {m['duckdb']}", show_lines=False)
    for column in ("step", "seconds", "CPU s", "rows / alerts", "note"):
        table.add_column(column, justify="right" if column in ("seconds", "CPU s") else "left")

    def c(x: float | None) -> str:
        return "" if x is None else f"{x:.2f}"

    base = r["baseline_seconds"]
    table.add_row("[bold]baseline: one DuckDB scan of the same inputs[/bold]", f"[bold]{base:.2f}[/bold]",
                  c(r["baseline_cpu_seconds"]), f"{sum(b['rows'] for b in r['baseline'].values()):,} rows",
                  "every column aggregated, after the rules")
    for name, b in r["baseline"].items():
        table.add_row(f"  scan {name}", f"{b['seconds']:.2f}", c(b["cpu_seconds"]), f"{b['rows']:,}", "")
    table.add_section()
    proj = results.get("projections", {})
    if proj.get("rebuilt"):
        table.add_row("per-schema projections rebuilt (ingest's step)", f"{proj['seconds']:.2f}",
                      c(proj["cpu_seconds"]), f"{sum(proj['rows'].values()):,} entities",
                      "projections.rebuild before the run (all DuckDB threads), not counted")
    table.add_row("process warm-up: DuckDB's Arrow bridge (first register)", f"{r['warm_up_seconds']:.2f}", "", "",
                  "one-time import, not counted in engine.run")
    if r["clusters"]:
        table.add_row("cluster mapping read from er_clusters", f"{r['clusters_seconds']:.2f}", "",
                      f"{r['clusters']:,} merged ids", "the pipeline's step before engine.run, not counted")
    table.add_row("prepare: configuration, code tables, macros", f"{r['setup_seconds']:.2f}", "", "", "")
    for name, i in r["inputs"].items():
        table.add_row(f"  input {name}", f"{i['seconds']:.2f}", c(i["cpu_seconds"]), f"{i['rows']:,} rows", "")
    table.add_row("[bold]prepare total[/bold]", f"[bold]{r['prepare_seconds']:.2f}[/bold]",
                  c(sum(i["cpu_seconds"] for i in r["inputs"].values())), "", "CPU: inputs only")
    table.add_section()
    skipped = []
    for o in sorted(r["rules"], key=lambda o: -o["seconds"]):
        if o["status"] == "skipped":
            skipped.append(o)
            continue
        q = o["query_seconds"]
        if o["status"] == "failed":
            table.add_row(f"  rule {o['rule']} [red](FAILED)[/red]", f"{o['seconds']:.2f}", c(o["query_cpu_seconds"]),
                          "", (o["message"] or "")[:100])
            continue
        table.add_row(f"  rule {o['rule']}", f"{o['seconds']:.2f}", c(o["query_cpu_seconds"]),
                      f"{o['alerts']:,} alerts", f"query {q:.2f} s" if q is not None else "")
    ran = [o for o in r["rules"] if o["status"] == "ran"]
    table.add_row(f"[bold]rules total ({len(ran)} ran)[/bold]", f"[bold]{r['rules_seconds']:.2f}[/bold]",
                  c(sum(o["query_cpu_seconds"] or 0 for o in ran)), f"{r['alerts']:,} alerts", "CPU: queries only")
    for o in skipped:
        table.add_row(f"  rule {o['rule']} (skipped)", "", "", "", o["message"] or "")
    table.add_row("store alerts (one transaction)", f"{r['store_seconds']:.2f}", "", "", "")
    table.add_section()
    total = r["run_seconds"]
    table.add_row("[bold]engine.run, full library[/bold]", f"[bold]{total:.2f}[/bold]", c(r["run_cpu_seconds"]),
                  f"{len(ran)} rules, {r['alerts']:,} alerts",
                  f"target <= {TARGET_SECONDS:.0f} s {verdict(total, TARGET_SECONDS)}; "
                  f"{total / base:.1f}x the baseline scan" if base else "")
    load = r["load_average_before"][0], r["load_average_after"][0]
    table.add_row("peak RSS of the measured process", gib(results["peak_rss"]), "", "",
                  f"{gib(r['peak_rss_after_rules'])} after the rules")
    console.print(table)
    console.print(
        f"CPU s: CPU time of the measured process (all DuckDB threads) in that step; on an idle machine with "
        f"{r['threads']} cores the step takes between CPU/{r['threads']} and CPU seconds. Load average (1 min) "
        f"{load[0]:.1f} when engine.run started, {load[1]:.1f} when it ended, on {m['cpus']} CPUs: above "
        f"{m['cpus']}, other processes shared the cores and the wall times are inflated."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trade-rows", type=int, default=10_000_000, help="CITES Trade Database rows")
    parser.add_argument("--shipments", type=int, default=1_000_000, help="customs shipments (and ~ as many permits)")
    parser.add_argument("--payments", type=int, default=1_000_000, help="FIU payments")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the three sizes (0.01: a quick check)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads for the measured run (0: DuckDB's)")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for generation and the measured run (e.g. 12GB)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-rules"), help="where the store goes")
    parser.add_argument("--store", type=Path, help="measure this store (made by an earlier --keep run) as it is")
    parser.add_argument("--keep", action="store_true", help="keep the generated store afterwards")
    parser.add_argument("--no-resolution", action="store_true", help="no er_clusters (inputs skip the cluster joins)")
    parser.add_argument("--json", nargs="?", const="auto", metavar="PATH",
                        help="write the figures as JSON (default path: bench/out/rules-<time>.json)")
    parser.add_argument("--measure-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_child:
        measure_child(args.measure_child, args.threads, args.memory_limit)
        return
    trade_rows = max(1000, round(args.trade_rows * args.scale))
    shipments = max(100, round(args.shipments * args.scale))
    payments = max(100, round(args.payments * args.scale))
    machine = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
        "platform": platform.platform(), "load_average": os.getloadavg(),
    }
    results: dict[str, Any] = {
        "machine": machine, "started": datetime.now(UTC).isoformat(),
        "args": {"trade_rows": trade_rows, "shipments": shipments, "payments": payments, "threads": args.threads,
                 "resolution": not args.no_resolution, "store": str(args.store) if args.store else None},
    }
    if args.store:
        path = args.store
    else:
        from rules_data import generate

        args.work.mkdir(parents=True, exist_ok=True)
        path = args.work / f"rules-{trade_rows}-{shipments}-{payments}.duckdb"
        say: Callable[[str], None] = lambda step: console.log(f"generating: {step}")  # noqa: E731
        results["generate"] = generate(path, trade_rows, shipments, payments, resolution=not args.no_resolution,
                                       memory_limit=args.memory_limit, say=say)
        console.log(f"generated {results['generate']['statements']:,} statements and "
                    f"{results['generate']['trade_rows']:,} trade rows in {results['generate']['seconds']:.1f} s")
    results["projections"] = ensure_projections(path, args.threads, args.memory_limit)
    try:
        console.log("measuring the rule library in a child process")
        wall, rss, out = run_child([sys.executable, __file__, "--measure-child", str(path),
                                    "--threads", str(args.threads)]
                                   + (["--memory-limit", args.memory_limit] if args.memory_limit else []))
    finally:
        if not args.store and not args.keep:
            for p in (path, path.with_name(path.name + ".wal")):
                p.unlink(missing_ok=True)
    results["run"] = json.loads(out.strip().splitlines()[-1])
    results["child_wall_seconds"] = wall
    results["peak_rss"] = rss
    results["machine"]["load_average_after"] = os.getloadavg()
    report(results)
    if args.json:
        out_path = (OUT / f"rules-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json" if args.json == "auto"
                    else Path(args.json))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=2, default=str))
        console.print(f"results written to {out_path}")


if __name__ == "__main__":
    main()
