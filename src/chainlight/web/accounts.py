"""Signing in and out, and the signed-in user's own account: password and API tokens.

The sign-in form is protected against login CSRF by a double-submitted token: the form and a
``chainlight_login`` cookie carry the same random value, which a foreign site cannot read.
A successful sign-in starts a new session (a fresh cookie, so no session fixation) and is
recorded in the access log, as is every refused attempt.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chainlight.accounts import passwords, service
from chainlight.store.access_log import AccessEntry
from chainlight.store.access_log import record as append
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.account_payloads import Account, TokenInfo
from chainlight.web.auth import LOGIN_COOKIE, SESSION_COOKIE, cookie_header
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_form(request: Request, *, next_url: str, error: str | None = None, status: int = 200,
                email: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    context = {"login_token": token, "next_url": next_url, "error": error, "email": email}
    response = render(request, "login.html", context, status_code=status)
    response.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, token, request.scope, max_age=3600,
                                                        path="/login"))
    return response


def login_page(request: Request, next: str | None = None) -> Response:
    if getattr(request.state, "viewer", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next_url=safe_next(next))


def login(
    request: Request,
    svc: ServicesDep,
    email: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    target = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(request, next_url=target, status=403, email=email,
                           error="The sign-in form expired. Please try again.")
    client = _client(request)
    entry = dict(organisation="-", target=email.strip().lower()[:256], client=client)
    try:
        principal = service.sign_in(svc.operational, email, password, client=client)
    except service.RateLimited as exc:
        append(svc.operational, AccessEntry(user=entry["target"], action="sign-in.limited", **entry))
        response = _login_form(request, next_url=target, status=429, email=email, error=str(exc).capitalize() + ".")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except service.SignInRefused:
        append(svc.operational, AccessEntry(user=entry["target"], action="sign-in.refused", **entry))
        return _login_form(request, next_url=target, status=401, email=email,
                           error="Wrong e-mail address or password.")
    token, _csrf = service.open_session(svc.operational, principal, client=client)
    append(svc.operational, AccessEntry(user=principal.email, organisation=principal.organisation,
                                        action="sign-in", target=principal.email, client=client))
    redirect = RedirectResponse(target, status_code=303)
    lifetime = int(service.SESSION_LIFETIME.total_seconds())
    redirect.headers.append("set-cookie", cookie_header(SESSION_COOKIE, token, request.scope, max_age=lifetime))
    redirect.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, "", request.scope, max_age=0, path="/login"))
    return redirect


def logout(request: Request, svc: ServicesDep, viewer: ViewerDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.close_session(svc.operational, token)
        access.audit(request, viewer, "sign-out", viewer.user)
    response = RedirectResponse("/login", status_code=303)
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", request.scope, max_age=0))
    return response


def token_info(row: object) -> TokenInfo:
    from chainlight.store.operational import ApiToken

    assert isinstance(row, ApiToken)
    return TokenInfo(id=row.id, name=row.name, prefix=row.prefix, user=row.user.email, created_at=row.created_at,
                     last_used_at=row.last_used_at, expires_at=row.expires_at, revoked=row.revoked_at is not None)


def load_account(svc: Services, viewer: Viewer) -> Account:
    rows = [] if viewer.user_id is None else service.tokens(svc.operational, email=viewer.user)
    names = {u.email: u.name for u in service.users(svc.operational, viewer.organisation)}
    return Account(user=viewer.user, name=names.get(viewer.user), organisation=viewer.organisation,
                   role=viewer.role, via=viewer.via, tokens=[token_info(r) for r in rows])


def account_json(svc: ServicesDep, viewer: ViewerDep) -> Account:
    return load_account(svc, viewer)


def account_page(request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "account.html", {"account": load_account(svc, viewer)}, json_url="/account.json")


def _signed_in(viewer: Viewer) -> None:
    if viewer.user_id is None:
        raise HTTPException(status_code=400, detail="This app serves one trusted organisation: it has no accounts.")


def create_token(
    request: Request, svc: ServicesDep, viewer: ViewerDep,
    name: Annotated[str, Form(min_length=1, max_length=128)],
    days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> HTMLResponse:
    _signed_in(viewer)
    try:
        secret, row = service.create_token(svc.operational, viewer.user, name, days=days)
    except service.AccountError as exc:
        raise HTTPException(status_code=422, detail=str(exc).capitalize() + ".") from exc
    access.audit(request, viewer, "token.create", f"token {row.id}", detail=name)
    context = {"account": load_account(svc, viewer), "new_secret": secret, "new_name": row.name}
    return render(request, "account.html", context, json_url="/account.json")


def revoke_token(request: Request, svc: ServicesDep, viewer: ViewerDep, token_id: int) -> Response:
    _signed_in(viewer)
    try:
        service.revoke_token(svc.operational, token_id, email=viewer.user)
    except service.AccountError as exc:
        raise HTTPException(status_code=404, detail=str(exc).capitalize() + ".") from exc
    access.audit(request, viewer, "token.revoke", f"token {token_id}")
    return RedirectResponse("/account", status_code=303)


def change_password(
    request: Request, svc: ServicesDep, viewer: ViewerDep,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
) -> Response:
    _signed_in(viewer)
    try:
        service.sign_in(svc.operational, viewer.user, current, client=_client(request))
        passwords.check_new(new)
        service.set_password(svc.operational, viewer.user, new)
    except (service.SignInRefused, service.RateLimited):
        context = {"account": load_account(svc, viewer), "password_error": "The current password is wrong."}
        return render(request, "account.html", context, status_code=403, json_url="/account.json")
    except passwords.PasswordError as exc:
        context = {"account": load_account(svc, viewer), "password_error": str(exc).capitalize() + "."}
        return render(request, "account.html", context, status_code=422, json_url="/account.json")
    access.audit(request, viewer, "password.change", viewer.user)
    return RedirectResponse("/login", status_code=303)  # every session ended: sign in with the new password
