"""Web benchmark (issue 6): entity profiles and search over HTTP at 50 concurrent clients.

    .venv/bin/python bench/web.py [--entities 1000000] [--seed 6] [--clients 50] [--duration 20]
                                  [--workers 2] [--work /tmp/bench-web] [--reuse] [--json [PATH]]

1. Generates a pool of ``--entities`` entities (``web_data.py``: people, companies, ownerships,
   directorships, shipments, payments in four datasets of four organisations, with resolution
   links and alerts) straight into a fresh evidence store, and registers the datasets with their
   owners, markings and sharing group in a fresh operational store (SQLite).
2. Builds the search index (``chainlight.search.build``): its time is reported.
3. Baseline without HTTP: the same profile and search calls the web app makes
   (``search.profile.profile``, ``search.query.search``), timed in this process, one at a time.
4. Starts the app with uvicorn on 127.0.0.1 (``--workers`` processes, each running
   ``create_app(settings, organisation="customs-ke")``, the trusted mode: no login, every request
   answered as that organisation, which sees three of the four datasets), then drives it from this
   process with ``--clients`` keep-alive connections (asyncio streams, one request in flight per
   connection), each scenario for ``--duration`` seconds after a short warm-up:
   ``/-/health`` (the HTTP stack alone: the baseline), ``/entities/{id}.json`` for random people
   and companies, and ``/search.json?q=`` for random names (exact, with a letter dropped, or two
   of their words). Every request carries a purpose header, as the AMBER+STRICT records need one.
   Each profile and each search is written to the access log, as in production.

Targets (2 cores, 1 M entities, 50 clients): entity JSON p95 <= 100 ms, search JSON p95 <= 200 ms.
The load generator shares the cores with the server: pin the whole run with ``taskset -c 0,1``
to measure on exactly two. Results are printed with Rich; ``--json`` writes them (by default to
bench/out/web-<time>.json).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import web_data
from chainlight import pipeline
from chainlight.resolve import service
from chainlight.search import build, profile, query
from chainlight.search.reader import SearchIndex
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

OUT = Path(__file__).resolve().parent / "out"
TARGETS = {"entity_p95_ms": 100.0, "search_p95_ms": 200.0}
PURPOSE = "benchmark: load test of the web app"
console = Console()


def now() -> float:
    return time.perf_counter()


def quantiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean())}


# -- the app, as each uvicorn worker makes it -------------------------------------------------


def make_app() -> Any:
    """The app factory uvicorn's workers call (``web:make_app``): trusted mode, as the viewer."""
    from chainlight.web.app import create_app

    if os.environ.get("BENCH_AUDIT") == "off":  # diagnostic: what the access log costs
        from chainlight.web import access

        access.audit = lambda *args, **kwargs: None
    settings = Settings.load(os.environ["CHAINLIGHT_HOME"], os.environ["CHAINLIGHT_DATABASE_URL"])
    app = create_app(settings, organisation=os.environ.get("BENCH_ORGANISATION", web_data.VIEWER))
    threads = int(os.environ.get("BENCH_THREADS", "0"))
    if not threads:
        return app

    async def limited(scope: Any, receive: Any, send: Any) -> None:
        """The app with a smaller thread pool (anyio's default is 40), set in the event loop."""
        import anyio.to_thread

        limiter = anyio.to_thread.current_default_thread_limiter()
        if limiter.total_tokens != threads:
            limiter.total_tokens = threads
        await app(scope, receive, send)

    return limited


# -- set-up -----------------------------------------------------------------------------------


def settings_for(work: Path) -> Settings:
    home = work / "home"
    return Settings.load(home, f"sqlite:///{home / 'chainlight.db'}").ensure()


def register(settings: Settings) -> None:
    operational = pipeline.open_operational(settings)
    try:
        for group, members in web_data.GROUP_MEMBERS.items():
            operational.ensure_sharing_group(group, members)
        for name, (owner, marking, group) in web_data.DATASETS.items():
            operational.ensure_dataset(name, owner=owner, marking=marking, sharing_group=group)
    finally:
        operational.dispose()


def visible(settings: Settings) -> dict[str, Any]:
    operational = pipeline.open_operational(settings)
    try:
        from chainlight.web.access import Viewer, visible_datasets

        return {d.name: d for d in visible_datasets(operational, Viewer(web_data.VIEWER))}
    finally:
        operational.dispose()


def variant(rng: random.Random, name: str) -> str:
    """A query for ``name``: itself, with one letter dropped, or two of its words."""
    roll = rng.random()
    words = name.split()
    if roll < 0.4 or len(name) < 8:
        return name
    if roll < 0.8:
        cut = rng.randrange(1, len(name) - 1)
        return name[:cut] + name[cut + 1 :]
    if len(words) >= 2:
        i = rng.randrange(0, len(words) - 1)
        return " ".join(words[i : i + 2])
    return name


def requests_for(world: web_data.World, seed: int, n: int = 5000) -> dict[str, list[str]]:
    rng = random.Random(seed)
    ids = world.people + world.companies
    names = world.person_names + world.company_names
    return {
        "health": ["/-/health"] * n,
        "entity": [f"/entities/{urllib.parse.quote(rng.choice(ids))}.json" for _ in range(n)],
        "search": [f"/search.json?{urllib.parse.urlencode({'q': variant(rng, rng.choice(names))})}" for _ in range(n)],
    }


# -- baseline: the same calls without HTTP ------------------------------------------------------


def direct(settings: Settings, paths: dict[str, list[str]], count: int) -> dict[str, Any]:
    """Profiles and searches called in-process, one at a time (no HTTP, no access log)."""
    index = SearchIndex(build.index_path(settings.home))
    snap = index.snapshot()
    seen = visible(settings)
    markings = {name: d.marking for name, d in seen.items()}
    operational = pipeline.open_operational(settings)
    try:
        verdicts = service.verdicts(operational)
        out: dict[str, Any] = {}
        times = []
        sizes = []
        for path in paths["entity"][:count]:
            entity_id = urllib.parse.unquote(path.removeprefix("/entities/").removesuffix(".json"))
            start = now()
            found = profile.profile(snap.con, snap.index, entity_id, seen, verdicts)
            times.append((now() - start) * 1000)
            sizes.append(sum(len(p.values) for p in found.properties) + len(found.relations))
        out["entity"] = {**quantiles(times), "calls": len(times), "mean_items": float(np.mean(sizes))}
        times = []
        totals = []
        approximate = 0
        for path in paths["search"][:count]:
            q = urllib.parse.parse_qs(path.split("?", 1)[1])["q"][0]
            start = now()
            page = query.search(snap.index, snap.con, markings, q)
            times.append((now() - start) * 1000)
            totals.append(page.total)
            approximate += page.approximate
        out["search"] = {**quantiles(times), "calls": len(times), "mean_total": float(np.mean(totals)),
                         "approximate": approximate}
        return out
    finally:
        operational.dispose()


# -- the server and the load generator ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(
    settings: Settings, workers: int, audit: bool, threads: int = 0
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "CHAINLIGHT_HOME": str(settings.home), "CHAINLIGHT_DATABASE_URL": settings.database_url,
           "BENCH_ORGANISATION": web_data.VIEWER, "BENCH_AUDIT": "on" if audit else "off",
           "BENCH_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "web:make_app", "--app-dir", str(Path(__file__).parent),
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log", "--backlog", "2048", "--timeout-keep-alive", "60"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        deadline = now() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or now() > deadline:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.3)
        yield port, proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _client(
    port: int, paths: list[str], rng: random.Random, stop_at: float, record_from: float,
    latencies: list[float], statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"Host: 127.0.0.1:{port}\r\nX-Chainlight-Purpose: {PURPOSE}\r\nAccept: application/json\r\n\r\n"
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            path = paths[rng.randrange(len(paths))]
            writer.write(f"GET {path} HTTP/1.1\r\n{head}".encode())
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            at = header.lower().find(b"content-length:")
            length = int(header[at + 15 : header.find(b"\r\n", at)]) if at >= 0 else 0
            if length:
                await reader.readexactly(length)
            t1 = time.perf_counter()
            if t0 >= record_from:
                latencies.append((t1 - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(port: int, paths: list[str], clients: int, duration: float, warmup: float, seed: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    record_from = start + warmup
    stop_at = record_from + duration
    await asyncio.gather(*[
        _client(port, paths, random.Random(seed * 1000 + i), stop_at, record_from, latencies, statuses)
        for i in range(clients)
    ])
    return {**quantiles(latencies), "requests": len(latencies), "rps": len(latencies) / duration,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def load(port: int, paths: list[str], clients: int, duration: float, seed: int) -> dict[str, Any]:
    return asyncio.run(_load(port, paths, clients, duration, min(5.0, duration / 4), seed))


def server_memory(proc: subprocess.Popen[bytes]) -> int:
    """The server's processes' proportional set size: pages shared between them (the index file,
    memory-mapped by every connection) counted once, not once per mapping as RSS would."""
    with suppress(psutil.Error):
        parent = psutil.Process(proc.pid)
        return sum(p.memory_full_info().pss for p in [parent, *parent.children(recursive=True)])
    return 0


# -- report -----------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "[green]met[/green]" if value <= target else "[red]missed[/red]"


def _ms(d: dict[str, Any]) -> str:
    return f"p50 {d['p50_ms']:.1f} / p95 {d['p95_ms']:.1f} / p99 {d['p99_ms']:.1f} ms"


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    table = Table(title=f"Web app (issue 6): {results['world']['entities']:,} entities, {m['cpus']} CPUs, "
                        f"{results['args']['clients']} clients, {results['args']['duration']:.0f} s per scenario",
                  show_lines=True)
    for column in ("measure", "figures", "target"):
        table.add_column(column)
    table.add_row("generate the pool (not a target)",
                  f"{results['generate_seconds']:.1f} s, {results['world']['statements']:,} statements", "")
    ix = results["index"]
    table.add_row("build the search index", f"[bold]{ix['seconds']:.1f} s[/bold], {ix['records']:,} records, "
                  f"{ix['keys']:,} names, {ix['bytes'] / 2**20:,.0f} MiB", "")
    d = results["direct"]
    table.add_row("baseline: profile, in-process (no HTTP)", f"{_ms(d['entity'])}\n"
                  f"{d['entity']['mean_items']:.1f} values and relations per profile", "")
    table.add_row("baseline: search, in-process (no HTTP)", f"{_ms(d['search'])}\n"
                  f"{d['search']['mean_total']:.0f} matches on average, {d['search']['approximate']} approximate", "")
    for run in results["http"]:
        w = run["workers"]
        for name, label, target in (("health", "/-/health (baseline: HTTP stack)", None),
                                    ("entity", "/entities/{id}.json", "entity_p95_ms"),
                                    ("search", "/search.json?q=", "search_p95_ms")):
            if name not in run:
                continue
            r = run[name]
            figures = f"[bold]{_ms(r)}[/bold]\n{r['rps']:,.0f} requests/s, statuses {r['statuses']}"
            goal = ""
            if target:
                goal = f"p95 <= {TARGETS[target]:.0f} ms {verdict(r['p95_ms'], TARGETS[target])}"
            table.add_row(f"{label}, {w} worker{'s' if w > 1 else ''}", figures, goal)
        table.add_row(f"server memory (PSS), {w} worker{'s' if w > 1 else ''}", f"{run['pss'] / 2**20:,.0f} MiB", "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario, after warm-up")
    parser.add_argument("--workers", default="2", help="uvicorn worker processes; several: '1,2'")
    parser.add_argument("--no-audit", action="store_true",
                        help="diagnostic: leave out the access log (every read is logged in production)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per worker for the sync handlers (0: anyio's default, 40)")
    parser.add_argument("--only", default="health,entity,search", help="scenarios to run")
    parser.add_argument("--direct", type=int, default=500, help="in-process calls of each kind (baseline)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-web"))
    parser.add_argument("--reuse", action="store_true", help="keep a pool and index already in --work")
    parser.add_argument("--json", nargs="?", const="auto", metavar="PATH")
    args = parser.parse_args()
    # A kill ends the run through the finally blocks, so the server it started goes too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = settings_for(args.work)
    machine = {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
               "platform": platform.platform(), "load_average": os.getloadavg()}
    results: dict[str, Any] = {"machine": machine, "started": datetime.now(UTC).isoformat(),
                               "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    stamp = args.work / f"world-{args.entities}-{args.seed}.json"
    if args.reuse and stamp.exists() and settings.evidence_path.exists():
        world = web_data.World(**json.loads(stamp.read_text()))
        results["generate_seconds"] = 0.0
    else:
        for leftover in settings.home.glob("*"):
            leftover.unlink()
        start = now()
        with console.status("generating") as status:
            world = web_data.generate(settings.evidence_path, args.entities, args.seed,
                                      lambda step: status.update(f"generating {step}"))
        results["generate_seconds"] = now() - start
        register(settings)
        stamp.write_text(json.dumps(dataclasses.asdict(world)))
        console.log(f"generated {world.entities:,} entities, {world.statements:,} statements "
                    f"in {results['generate_seconds']:.1f} s")
    results["world"] = {"entities": world.entities, "statements": world.statements, "by_schema": world.by_schema}
    path = build.index_path(settings.home)
    if not (args.reuse and path.exists()):
        from chainlight.cli_common import step_progress

        with EvidenceStore(settings.evidence_path, read_only=True) as store, step_progress() as progress:
            info = build.build(store, path, progress=progress)
        console.log(f"index built in {info.seconds:.1f} s")
    info = build.read_info(path)
    assert info is not None
    results["index"] = {"seconds": info.seconds, "records": info.records, "keys": info.keys,
                        "entities": info.entities, "bytes": path.stat().st_size}
    paths = requests_for(world, args.seed)
    with console.status("baseline: in-process profiles and searches"):
        results["direct"] = direct(settings, paths, args.direct)
    results["http"] = []
    for workers in [int(w) for w in str(args.workers).split(",")]:
        run: dict[str, Any] = {"workers": workers}
        with server(settings, workers, not args.no_audit, args.threads) as (port, proc):
            for name in args.only.split(","):
                with console.status(f"{workers} worker(s): {name}, {args.clients} clients, {args.duration:.0f} s"):
                    run[name] = load(port, paths[name], args.clients, args.duration, args.seed)
                console.log(f"{workers} worker(s), {name}: {_ms(run[name])}, {run[name]['rps']:,.0f} rps, "
                            f"{run[name]['statuses']}")
            run["pss"] = server_memory(proc)
            run["threads"] = args.threads or 40
        results["http"].append(run)
    results["machine"]["load_average_after"] = os.getloadavg()
    report(results)
    if args.json:
        out = (OUT / f"web-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json" if args.json == "auto"
               else Path(args.json))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
        console.print(f"results written to {out}")

if __name__ == "__main__":
    main()
