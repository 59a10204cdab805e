"""The web app: a FastAPI application over the stores of one Chainlight home.

``create_app`` wires the pieces and nothing else: routes come from :mod:`routes`, handlers
from :mod:`views`, need-to-know from :mod:`access`, error pages and security headers from
:mod:`errors`. The app reads, with two exceptions: resolution judgements (:mod:`resolution`,
which rebuild the clusters) and alert triage (:mod:`alerts`, which writes to the operational
store alone). Otherwise the evidence store is opened read-only per request, and the
operational store is only queried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import chainlight
from chainlight.graph.service import ViewCache
from chainlight.pipeline import DEFAULT_OWNER, open_operational
from chainlight.settings import Settings
from chainlight.store.operational import check_name
from chainlight.web import errors, routes
from chainlight.web.access import Viewer
from chainlight.web.catalogue import EvidenceReader
from chainlight.web.services import Services
from chainlight.web.templating import STATIC, make_templates


def create_app(settings: Settings, organisation: str = DEFAULT_OWNER) -> FastAPI:
    """The app for the installation in ``settings``, showing what ``organisation`` may see.

    Until accounts and login exist every request is answered for ``organisation``; the CLI
    passes none, so a local installation sees its own (``local``) datasets and shared ones.
    """
    viewer = Viewer(check_name("organisation", organisation))
    operational = open_operational(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        operational.dispose()

    # The interactive /docs and /redoc pages load scripts from a CDN, which the
    # Content-Security-Policy forbids; the schema itself is served at /openapi.json.
    app = FastAPI(
        title="Chainlight",
        version=chainlight.__version__,
        description="Datasets pooled against illegal wildlife trade, shown on a need-to-know basis.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        exception_handlers=dict(errors.EXCEPTION_HANDLERS),
    )
    app.state.viewer = viewer
    app.state.services = Services(
        settings=settings,
        operational=operational,
        evidence=EvidenceReader(settings.evidence_path),
        templates=make_templates(),
        graphs=ViewCache(),
    )
    routes.register(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(errors.ResponseGuard)
    return app
