"""What a request handler may use, made once per app and reached through a dependency.

Keeping the stores behind one typed object (instead of loose ``app.state`` attributes) gives
views one place to look and tests one thing to replace.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.templating import Jinja2Templates

from chainlight.graph.service import ViewCache
from chainlight.settings import Settings
from chainlight.store.operational import OperationalStore
from chainlight.web.catalogue import EvidenceReader


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    operational: OperationalStore
    evidence: EvidenceReader
    templates: Jinja2Templates
    graphs: ViewCache  # readers' graph views, kept between requests (chainlight.web.graph)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
