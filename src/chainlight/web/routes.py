"""Every address the web app answers, in one table read top to bottom.

A route with a response model is a JSON route: it appears in ``/openapi.json`` with that
model. A route without one is an HTML page, left out of the API schema; each page has a JSON
twin at the same address plus ``.json``. Order matters where two patterns overlap: Starlette
tries routes in turn and ``{name}`` would also match ``x.json``, so JSON twins come first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from chainlight.web import views
from chainlight.web.payloads import DatasetDetail, Health, Home, Problem, Versions


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    endpoint: Callable[..., Any]
    name: str
    summary: str
    model: type[BaseModel] | None = None
    errors: tuple[int, ...] = field(default=())

    @property
    def is_page(self) -> bool:
        return self.model is None


ROUTES: tuple[Route, ...] = (
    Route("/", views.home_page, "home", "Datasets the viewer may see"),
    Route("/index.json", views.home_json, "home_json", "Datasets the viewer may see, with counts", Home),
    Route(
        "/datasets/{name}.json", views.dataset_json, "dataset_json",
        "One dataset: counts, entities per schema, ingest runs", DatasetDetail, errors=(404,),
    ),
    Route("/datasets/{name}", views.dataset_page, "dataset", "One dataset"),
    Route("/-/health", views.health, "health", "Whether the app answers", Health),
    Route("/-/versions", views.versions, "versions", "Versions of Chainlight and its engines", Versions),
)


def register(app: FastAPI) -> None:
    """Add every route of :data:`ROUTES` to ``app``, in table order."""
    for route in ROUTES:
        if route.is_page:
            app.add_api_route(
                route.path, route.endpoint, name=route.name, summary=route.summary, methods=["GET"],
                response_class=HTMLResponse, include_in_schema=False,
            )
            continue
        responses: dict[int | str, dict[str, Any]] = {
            status: {"model": Problem, "description": "Not found" if status == 404 else "Error"}
            for status in route.errors
        }
        app.add_api_route(
            route.path, route.endpoint, name=route.name, summary=route.summary, methods=["GET"],
            response_model=route.model, responses=responses,
        )
