"""Request handlers. Each page and its JSON twin share one loader, so they cannot disagree.

Handlers are plain (synchronous) functions: FastAPI runs them in its thread pool, where the
blocking DuckDB and SQLAlchemy calls belong.
"""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Annotated

import duckdb
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

import chainlight
from chainlight.web import access, alert_pages, catalogue
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.payloads import DatasetDetail, Health, Home, Versions
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]


def load_home(svc: Services, viewer: Viewer) -> Home:
    datasets = access.visible_datasets(svc.operational, viewer)
    with svc.evidence.open() as store:
        home = catalogue.home(store, viewer, datasets)
        home.latest_alerts = alert_pages.latest_alerts(store, svc, viewer)
        return home


def load_dataset(svc: Services, viewer: Viewer, name: str) -> DatasetDetail:
    """The dataset if the viewer may see it; a 404 that reads the same whether it is hidden or absent."""
    dataset = access.find_visible(svc.operational, viewer, name)
    if dataset is None:
        raise HTTPException(status_code=404, detail=f"There is no dataset named {name!r}.")
    with svc.evidence.open() as store:
        return catalogue.dataset_detail(store, dataset)


def home_page(request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    data = load_home(svc, viewer)
    return render(request, "index.html", {"home": data}, json_url="/index.json")


def home_json(svc: ServicesDep, viewer: ViewerDep) -> Home:
    return load_home(svc, viewer)


def dataset_page(name: str, request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    data = load_dataset(svc, viewer, name)
    return render(request, "dataset.html", {"dataset": data}, json_url=f"/datasets/{name}.json")


def dataset_json(name: str, svc: ServicesDep, viewer: ViewerDep) -> DatasetDetail:
    return load_dataset(svc, viewer, name)


def health(svc: ServicesDep) -> Health:
    return Health(status="ok", evidence_store=svc.evidence.exists())


def versions() -> Versions:
    return Versions(
        chainlight=chainlight.__version__,
        followthemoney=importlib.metadata.version("followthemoney"),
        duckdb=duckdb.__version__,
        python=platform.python_version(),
    )
