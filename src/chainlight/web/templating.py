"""Jinja2 templates and the one function that renders a page.

Every page gets the viewer and the address of its JSON twin from here, so the header always
says whose view this is and the footer always links to the same data as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import chainlight

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def number(value: int) -> str:
    """Thousands separated by commas: 12,345."""
    return f"{value:,}"


def marking_class(marking: str) -> str:
    """CSS class of a TLP badge: ``AMBER+STRICT`` -> ``tlp-amber-strict``."""
    return "tlp-" + marking.lower().replace("+", "-")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["number"] = number
    templates.env.filters["marking_class"] = marking_class
    templates.env.globals["version"] = chainlight.__version__
    return templates


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    json_url: str | None = None,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.services.templates
    viewer = getattr(request.state, "viewer", None)
    csrf = getattr(request.state, "csrf_token", None) or ""
    full = {"viewer": viewer, "csrf_token": csrf, "json_url": json_url, "path": request.url.path, **context}
    return templates.TemplateResponse(request, template, full, status_code=status_code)
