"""The web app: a FastAPI application over the stores of one Chainlight home.

``create_app`` wires the pieces and nothing else: routes come from :mod:`routes`, handlers
from :mod:`views`, who is asking from :mod:`auth`, need-to-know from :mod:`access`, error
pages and security headers from :mod:`errors`. The app reads the evidence store, with one
exception: resolution judgements (:mod:`resolution`, which rebuild the clusters). It writes to
the operational store for accounts, alert triage, uploads and the access log. The evidence
store is opened read-only per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import chainlight
from chainlight.graph.service import ViewCache
from chainlight.pipeline import open_operational
from chainlight.settings import Settings
from chainlight.store.operational import ROLES, check_name
from chainlight.web import errors, routes
from chainlight.web.access import Viewer
from chainlight.web.auth import Authenticator
from chainlight.web.catalogue import EvidenceReader
from chainlight.web.services import Services
from chainlight.web.templating import STATIC, make_templates


def create_app(settings: Settings, organisation: str | None = None, *, role: str = "analyst") -> FastAPI:
    """The app for the installation in ``settings``.

    By default (``chainlight serve``) every request must come from a signed-in user or carry an
    API token, and is answered for that user's organisation and role. Given an
    ``organisation``, the app instead trusts every request as coming from that organisation
    with ``role`` and asks no one to sign in: for tests and for tools embedding the app in a
    process that has already settled who is asking. Never serve that on a network.
    """
    trusted = None
    if organisation is not None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        trusted = Viewer(check_name("organisation", organisation), user="local", role=role, via="trusted")
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
    app.state.services = Services(
        settings=settings,
        operational=operational,
        evidence=EvidenceReader(settings.evidence_path),
        templates=make_templates(),
        graphs=ViewCache(),
    )
    routes.register(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Authenticator, operational=operational, trusted=trusted)
    app.add_middleware(errors.ResponseGuard)  # added last, so outermost: its headers go on every answer
    return app


def from_environment() -> FastAPI:
    """The app for ``CHAINLIGHT_HOME`` and ``CHAINLIGHT_DATABASE_URL``, with sign-in required.

    The factory each worker process calls when ``chainlight serve --workers N`` runs several
    (``uvicorn --factory chainlight.web.app:from_environment``).
    """
    return create_app(Settings.load())
