"""Who is asking: sign-in sessions, API tokens and CSRF protection, before any view runs.

:class:`Authenticator` is ASGI middleware. For each HTTP request it settles the viewer:

- ``Authorization: Bearer clt_...``: an API token (:func:`service.token_principal`). A bad
  token is refused outright (401); it never falls back to a cookie.
- the ``chainlight_session`` cookie: a sign-in session (:func:`service.session_of`).
- an app created for one trusted organisation (tests, single-user tools): that organisation.

The viewer is put in ``request.state.viewer`` for :func:`access.current_viewer`. Requests
with no viewer reach only :data:`PUBLIC` paths; other pages redirect to the sign-in page and
JSON routes answer 401.

State-changing requests (POST, PUT, PATCH, DELETE) made with a session cookie must prove they
come from our own pages: the session's CSRF token in the ``X-CSRF-Token`` header or in a
``csrf_token`` form field (urlencoded forms; multipart forms may put it in the query string),
and an ``Origin`` header, when the browser names one (not ``null``), naming this server. Token requests need
neither: a browser never attaches a bearer token by itself.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainlight.accounts import service
from chainlight.store.operational import OperationalStore
from chainlight.web.access import Viewer
from chainlight.web.payloads import Problem

SESSION_COOKIE = "chainlight_session"
LOGIN_COOKIE = "chainlight_login"  # the CSRF token of the sign-in form, before there is a session
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC = ("/login", "/static/", "/vendor/", "/-/health", "/openapi.json", "/favicon.ico")
MAX_FORM_BYTES = 1 << 20
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def is_json_path(path: str) -> bool:
    return path.endswith(".json") or path.startswith(("/-/", "/api/"))


def secure_cookies(scope: Scope) -> bool:
    """Cookies are ``Secure`` except over plain HTTP on loopback, where browsers would drop them."""
    if scope.get("scheme") == "https":
        return True
    host = Headers(scope=scope).get("host", "").rsplit(":", 1)[0].strip("[]")
    return host not in LOOPBACK


def cookie_header(name: str, value: str, scope: Scope, *, max_age: int | None = None, path: str = "/") -> str:
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure_cookies(scope):
        parts.append("Secure")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    message: str


def _problem(scope: Scope, status: int, message: str) -> Response:
    path = scope.get("path", "")
    if status == 401 and not is_json_path(path) and scope.get("method") == "GET":
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
    response = JSONResponse(Problem(status=status, error=message).model_dump(), status_code=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="chainlight"'
    if not is_json_path(path):  # a page: a short page rather than JSON
        from chainlight.web.errors import plain_page

        return plain_page(status, message)
    return response


class Authenticator:
    def __init__(self, app: ASGIApp, *, operational: OperationalStore, trusted: Viewer | None = None) -> None:
        self.app = app
        self.operational = operational
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        headers = Headers(scope=scope)
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        viewer, csrf, refusal = self._identify(headers)
        if refusal is not None:
            await _problem(scope, refusal.status, refusal.message)(scope, receive, send)
            return
        state["viewer"], state["csrf_token"] = viewer, csrf
        if viewer is None and not is_public(path):
            await _problem(scope, 401, "Sign in (or send an API token) to see this.")(scope, receive, send)
            return
        if method in UNSAFE and viewer is not None and viewer.via == "session":
            # Our pages are served with ``Referrer-Policy: no-referrer``, so browsers send
            # ``Origin: null`` on their own form posts and fetches: it names no site, and the
            # CSRF token below decides. A named origin must be this server.
            origin = headers.get("origin")
            if origin and origin != "null" and urlsplit(origin).netloc != headers.get("host", ""):
                await _problem(scope, 403, "This request came from another site.")(scope, receive, send)
                return
            assert csrf is not None
            ok, receive = await _csrf_matches(scope, receive, headers, csrf)
            if not ok:
                message = "The form has expired or did not come from Chainlight: reload the page and try again."
                await _problem(scope, 403, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _identify(self, headers: Headers) -> tuple[Viewer | None, str | None, Refusal | None]:
        if self.trusted is not None:
            return self.trusted, None, None
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, secret = authorization.partition(" ")
            if scheme.lower() != "bearer":
                return None, None, Refusal(401, "Only bearer API tokens are accepted.")
            principal = service.token_principal(self.operational, secret.strip())
            if principal is None:
                return None, None, Refusal(401, "The API token is unknown, revoked or expired.")
            return _viewer(principal, "token"), None, None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is the same as none
            return None, None, None
        morsel = cookie.get(SESSION_COOKIE)
        if morsel is None:
            return None, None, None
        info = service.session_of(self.operational, morsel.value)
        if info is None:
            return None, None, None
        return _viewer(info.principal, "session"), info.csrf_token, None


def _viewer(principal: service.Principal, via: str) -> Viewer:
    return Viewer(principal.organisation, principal.email, principal.role, principal.user_id, via)


async def _csrf_matches(scope: Scope, receive: Receive, headers: Headers, expected: str) -> tuple[bool, Receive]:
    """Whether the request carries ``expected``; returns a receive that replays any body read."""
    given = headers.get(CSRF_HEADER)
    if given is None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        found = query.get(CSRF_FIELD)
        given = found[0] if found else None
    content_type = headers.get("content-type", "")
    if given is None and content_type.startswith("application/x-www-form-urlencoded"):
        body, receive = await _read_body(receive)
        if body is None:
            return False, receive
        fields = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD)
        given = fields[0] if fields else None
    return (given is not None and hmac.compare_digest(given.encode(), expected.encode())), receive


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
