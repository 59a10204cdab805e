"""Start a throw-away PostgreSQL server on loopback for tests, and stop it afterwards.

The server binaries come from Debian's ``postgresql`` package (``.ci/run`` installs it).
initdb refuses to run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} not found: install Debian's postgresql package")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL to a fresh database on a fresh server."""
    root = Path(tempfile.mkdtemp(prefix="chainlight-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)  # noqa: E731
    run(_bin("initdb"), "-D", str(data), "-U", "chainlight", "--auth=trust", "-E", "UTF8")
    run(
        _bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30", "start",
        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off",
    )
    try:
        run(_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "chainlight", "chainlight_test")
        yield f"postgresql://chainlight@127.0.0.1:{port}/chainlight_test"
    finally:
        subprocess.run([*prefix, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)
        deadline = time.time() + 10
        while time.time() < deadline and (data / "postmaster.pid").exists():
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
