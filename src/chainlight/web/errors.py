"""Answers for things that went wrong, and the headers every answer carries.

Pages get an HTML error page, JSON routes a small JSON problem; neither ever shows a stack
trace. An unexpected error is logged once, with a short incident reference that the error
page also shows, so an operator can find the log entry a user reports.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainlight.web.access import PURPOSE_MARKINGS, PurposeRequired
from chainlight.web.catalogue import EvidenceBusyError
from chainlight.web.payloads import Problem
from chainlight.web.templating import render

log = logging.getLogger("chainlight.web")

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
    # Pages carry marked data: no shared cache, proxy or browser history cache may keep them.
    "Cache-Control": "no-store",
}


def wants_json(request: Request) -> bool:
    """JSON routes end in ``.json`` or live under ``/-/`` or ``/api/``; everything else is a page."""
    path = request.url.path
    return path.endswith(".json") or path.startswith(("/-/", "/api/"))


def problem(request: Request, status: int, message: str, incident: str | None = None) -> Response:
    """The error answer in the form the route speaks: JSON for JSON routes, a page for pages."""
    if wants_json(request):
        body = Problem(status=status, error=message, incident=incident)
        return JSONResponse(body.model_dump(), status_code=status)
    title = HTTPStatus(status).phrase
    try:
        context = {"status": status, "title": title, "message": message, "incident": incident}
        return render(request, "error.html", context, status_code=status)
    except Exception:  # a broken template must not turn an error page into a traceback
        log.exception("error page could not be rendered")
        return PlainTextResponse(f"{status} {title}\n{message}\n", status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase
    if isinstance(exc.detail, str) and exc.detail != phrase:
        message = exc.detail  # written by a view for users
    elif status == 404:
        message = "There is nothing at this address."
    else:
        message = HTTPStatus(status).description + "."
    response = problem(request, status, message)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
    return problem(request, 422, f"The request has invalid values: {fields}.")


async def evidence_busy(request: Request, exc: Exception) -> Response:
    message = "The evidence store is busy: an ingest is writing to it. Try again shortly."
    response = problem(request, 503, message)
    response.headers["Retry-After"] = "5"
    return response


async def purpose_required(request: Request, exc: Exception) -> Response:
    """A RED or AMBER+STRICT item asked for without a purpose: a form asking for one (428)."""
    assert isinstance(exc, PurposeRequired)
    from chainlight.web.resolution import purpose_message

    if wants_json(request):
        return problem(request, 428, purpose_message(exc))
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != "purpose"]
    context = {"marking": exc.marking.value, "action": request.url.path, "keep": keep, "problem": exc.problem,
               "markings": sorted(m.value for m in PURPOSE_MARKINGS)}
    return render(request, "purpose.html", context, status_code=428)


def plain_page(status: int, message: str) -> Response:
    """A minimal page for answers given before a view (and its templates) is reached."""
    title = HTTPStatus(status).phrase
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{status} {html.escape(title)} · Chainlight</title><link rel="stylesheet" href="/static/app.css">'
        f'</head><body><main id="main"><h1>{status} {html.escape(title)}</h1><p>{html.escape(message)}</p>'
        '<p><a href="/login">Sign in</a> · <a href="/">Home</a></p></main></body></html>'
    )
    return Response(body, status_code=status, media_type="text/html; charset=utf-8")


Handler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]

EXCEPTION_HANDLERS: dict[int | type[Exception], Handler] = {
    HTTPException: http_error,
    RequestValidationError: invalid_request,
    EvidenceBusyError: evidence_busy,
    PurposeRequired: purpose_required,
}


class ResponseGuard:
    """ASGI middleware: security headers on every response, and a 500 page for any error.

    It sits inside Starlette's own error middleware, so an unexpected exception is answered
    here (with the headers) and never reaches a layer that might print it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key.lower().encode() not in present:
                        headers.append((key.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:  # the status line is out: nothing better to do than let the server close it
                raise
            incident = uuid.uuid4().hex[:12]
            log.exception("unexpected error, incident %s: %s %s", incident, scope["method"], scope["path"])
            request = Request(scope)
            response = problem(request, 500, "Something went wrong on our side.", incident=incident)
            await response(scope, receive, send_with_headers)
