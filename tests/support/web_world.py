"""A small world for tests of the whole web app (browser tests, API fuzzing): two organisations,
three datasets of three markings, every pipeline step the pages read, and users with known
passwords.

- ``customs`` owns ``customs-red`` (TLP:RED): the graph tests' FIU payments (a bribe flow through
  an official's sister) and a secret informant, :data:`SECRET_NAME`, who owns the car dealer the
  official paid, plus a seizure on a Mozambique -> Viet Nam route that no one else knows.
- ``ngo`` owns ``ngo-amber`` (TLP:AMBER, sharing group ``taskforce`` with customs): the graph
  tests' investigation (family, associates, shipments, seizures linked by DNA), and
  ``open-registry`` (TLP:GREEN): the graph tests' company registry (ownership chains, a
  cycle) and two shipments with their countries, for the route map.
- For the risk pages (:mod:`tests.support.web_risk`): ``open-registry`` also holds MACN-style
  incidents and port assessments at Mombasa, Dar es Salaam and Port Klang, and ``customs-red``
  40 incidents at Dar es Salaam; the risk evidence is built after the rules run.

``customs`` sees all three datasets; ``ngo`` sees its own two. The pool is ingested, resolved
(with customs' judgements that the sources name the same people and companies), its graph
built, the red-flag library run and the search index built, as ``chainlight demo`` does.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from chainlight import pipeline
from chainlight.accounts import service
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from tests.conftest import FIXTURES
from tests.support import web_risk

PASSWORD: Final = "correct horse battery staple 6"
SECRET_ID: Final = "customs-informant"
SECRET_NAME: Final = "Zephyrine Quillfeather"
RED_DATASET: Final = "customs-red"
AMBER_DATASET: Final = "ngo-amber"
GREEN_DATASET: Final = "open-registry"
GROUP: Final = "taskforce"


@dataclass(frozen=True, slots=True)
class User:
    email: str
    organisation: str
    role: str


USERS: Final = {
    "customs-admin": User("admin@customs.example", "customs", "admin"),
    "ngo-analyst": User("analyst@ngo.example", "ngo", "analyst"),
}
#: Which datasets each organisation sees.
VISIBLE: Final = {
    "customs": {RED_DATASET, AMBER_DATASET, GREEN_DATASET},
    "ngo": {AMBER_DATASET, GREEN_DATASET},
}
#: The same people and companies across sources, as customs judged them.
SAME: Final = [
    ("reg-front", "fiu-front"),
    ("reg-front", "ngo-front"),
    ("fiu-official", "ngo-official"),
    ("fiu-relative", "ngo-relative"),
    ("reg-boss", "ngo-boss"),
]


def _entity(entity_id: str, schema: str, **properties: str | list[str]) -> str:
    values = {k: v if isinstance(v, list) else [v] for k, v in properties.items()}
    return json.dumps({"id": entity_id, "schema": schema, "properties": values})


RED_EXTRA: Final = [
    _entity(SECRET_ID, "Person", name=SECRET_NAME, nationality="mz", birthDate="1979-09-14"),
    _entity("own-informant-cars", "Ownership", owner=SECRET_ID, asset="fiu-car-dealer", percentage="100"),
    _entity("seizure-red", "Seizure", caseNumber="CX-7/2023", country="lk", originCountry="mz",
            transitCountry="ae", destinationCountry="vn", taxon="Loxodonta africana", term="TUS",
            quantity="99", date="2023-02-01"),
]
GREEN_EXTRA: Final = [
    _entity("ship-green-1", "Shipment", transportDocumentNumber="BL-G1", originCountry="ke",
            destinationCountry="cn", taxon="Loxodonta africana", term="TUS", quantity="12",
            departureDate="2021-06-01"),
    _entity("ship-green-2", "Shipment", transportDocumentNumber="BL-G2", originCountry="tz",
            destinationCountry="vn", taxon="Manis spp.", term="SCA", quantity="30", departureDate="2022-03-01"),
]


#: The rules run over the world: one alert resting on RED evidence, one on GREEN (the whole
#: library takes longer and adds nothing these tests look at).
RULES: Final = ["money.bribe-flow", "ownership.circular"]


def settings_at(home: Path) -> Settings:
    return Settings.load(home, f"sqlite:///{home / 'chainlight.db'}").ensure()


def new_home(root: Path) -> Settings:
    """An empty home under ``root`` with its operational store created (migrated)."""
    settings = settings_at(root / "home")
    pipeline.open_operational(settings).dispose()
    return settings


def build_world(settings: Settings) -> Settings:
    """Build the world in the (empty) home of ``settings``; returns ``settings``."""
    root = settings.home.parent
    red, green = root / "customs-extra.jsonl", root / "registry-extra.jsonl"
    red.write_text("\n".join(RED_EXTRA) + "\n", encoding="utf-8")
    green.write_text("\n".join(GREEN_EXTRA) + "\n", encoding="utf-8")
    operational = pipeline.open_operational(settings)
    try:
        for org in ("customs", "ngo"):
            service.add_organisation(operational, org)
        service.add_group(operational, GROUP, ["ngo", "customs"], owner="ngo")
    finally:
        operational.dispose()
    graph = FIXTURES / "graph"
    pipeline.ingest(settings, "ftm", [graph / "fiu.ftm.json", red], dataset=RED_DATASET, marking=Marking.RED,
                    owner="customs")
    pipeline.ingest(settings, "ftm", [graph / "ngo.ftm.json"], dataset=AMBER_DATASET, marking=Marking.AMBER,
                    owner="ngo", sharing_group=GROUP)
    pipeline.ingest(settings, "ftm", [graph / "registry.ftm.json", green], dataset=GREEN_DATASET,
                    marking=Marking.GREEN, owner="ngo")
    # Incidents and assessments at real ports for the risk pages, in the same datasets (tests.support.web_risk).
    web_risk.ingest(settings, green=GREEN_DATASET, green_owner="ngo", red=RED_DATASET, red_owner="customs")
    pipeline.resolve(settings)
    for left, right in SAME:
        pipeline.judge(settings, left, right, "same", author="admin@customs.example", organisation="customs")
    pipeline.graph_build(settings)
    pipeline.rules_run(settings, RULES)
    web_risk.build(settings)
    pipeline.build_index(settings)
    operational = pipeline.open_operational(settings)
    try:
        for user in USERS.values():
            service.add_user(operational, user.email, organisation=user.organisation, role=user.role,
                             password=PASSWORD)
    finally:
        operational.dispose()
    return settings


# -- a real server ----------------------------------------------------------------------------

#: Starting means importing FtM, DuckDB and FastAPI; on a busy machine that alone takes seconds.
STARTUP_LIMIT_S: Final = 60.0
STOP_LIMIT_S: Final = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(settings: Settings, log: Path, prepare: Callable[[], object] | None = None) -> Iterator[str]:
    """Run ``chainlight serve`` over ``settings`` on a free loopback port until the block ends;
    yields its base URL. The server's output goes to ``log`` (a pipe left unread could fill up
    and stall it).

    ``prepare`` runs while the server starts (importing the app takes a while on a busy
    machine), before anything is asked of it: the app reads the evidence store only to answer
    a request, so a world may be built meanwhile. The operational store must exist already
    (:func:`new_home`), so that the server and ``prepare`` do not both create it.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "chainlight.cli", "serve", "--home", str(settings.home),
               "--database-url", settings.database_url, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            if prepare is not None:
                prepare()
            wait_until_up(base, server)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=STOP_LIMIT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=STOP_LIMIT_S)


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    """Return once the server answers its health check; fail if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with status {server.returncode} before answering")
        try:
            if httpx.get(f"{base}/-/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"the server did not answer {base}/-/health within {STARTUP_LIMIT_S:.0f} s")
