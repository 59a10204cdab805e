"""A kill in the middle of an ingest leaves nothing behind, and the ingest can then be redone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from chainlight.store.evidence import EvidenceStore

ROWS = 1_000_000


def _write_big_cites_csv(path: Path) -> None:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""COPY (
            SELECT 5000000 + range AS "Id", 1990 + range % 30 AS "Year",
                CASE WHEN range % 5 = 0 THEN 'I' ELSE 'II' END AS "Appendix",
                CASE WHEN range % 2 = 0 THEN 'Manis spp.' ELSE 'Loxodonta africana' END AS "Taxon",
                'Mammalia' AS "Class", 'Pholidota' AS "Order", 'Manidae' AS "Family", 'Manis' AS "Genus",
                CASE WHEN range % 2 = 0 THEN 'scales' ELSE 'tusks' END AS "Term",
                (range % 977) / 4.0 AS "Quantity", CASE WHEN range % 3 = 0 THEN 'kg' END AS "Unit",
                ['CN', 'VN', 'HK', 'US'][1 + range % 4] AS "Importer",
                ['NG', 'CM', 'KE', 'TZ', 'ZA'][1 + range % 5] AS "Exporter", NULL AS "Origin",
                'T' AS "Purpose", 'W' AS "Source", CASE WHEN range % 2 = 0 THEN 'E' ELSE 'I' END AS "Reporter.type",
                substr(md5(range::VARCHAR), 1, 10) AS "Import.permit.RandomID",
                substr(md5((range + 7)::VARCHAR), 1, 10) AS "Export.permit.RandomID",
                NULL AS "Origin.permit.RandomID"
            FROM range({ROWS})
        ) TO '{path}' (FORMAT csv, HEADER true)"""
    )
    con.close()


def _ingest_command(path: Path, home: Path) -> list[str]:
    return [sys.executable, "-m", "chainlight.cli", "ingest", "cites-trade", str(path), "-d", "cites", "-m", "clear",
            "--home", str(home), "--database-url", f"sqlite:///{home / 'chainlight.db'}"]


def _counts(home: Path) -> tuple[int, int, int, int]:
    with EvidenceStore(home / "evidence.duckdb") as store:
        return (
            store.scalar("SELECT count(*) FROM cites_trade WHERE dataset = 'cites'"),
            store.scalar("SELECT count(*) FROM ingest_runs WHERE dataset = 'cites'"),
            store.scalar("SELECT count(*) FROM statements WHERE dataset = 'cites'"),
            store.scalar("SELECT count(*) FROM quarantine WHERE dataset = 'cites'"),
        )


def test_kill_during_ingest_leaves_nothing_and_the_rerun_completes(tmp_path: Path) -> None:
    big = tmp_path / "trade_db_1.csv"
    _write_big_cites_csv(big)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "CHAINLIGHT_DEBUG": ""}
    proc = subprocess.Popen(_ingest_command(big, home), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        evidence = home / "evidence.duckdb"
        while not evidence.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the ingest transaction: parsing alone takes seconds
        assert proc.poll() is None, "ingest finished before it could be killed; make the file bigger"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(home) == (0, 0, 0, 0)

    done = subprocess.run(_ingest_command(big, home), env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert _counts(home) == (ROWS, 1, 0, 0)

    # --force reads the file again: every record id is already there, so nothing is added
    again = subprocess.run([*_ingest_command(big, home), "--force"], env=env, capture_output=True, text=True,
                           timeout=240)
    assert again.returncode == 0, again.stderr
    assert _counts(home) == (ROWS, 2, 0, 0)
    with EvidenceStore(home / "evidence.duckdb") as store:
        assert store.fetchall("SELECT rows_read, records_added FROM ingest_runs ORDER BY finished_at") == [
            (ROWS, ROWS), (ROWS, 0)
        ]
