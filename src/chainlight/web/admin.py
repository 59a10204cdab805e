"""Administration for an organisation's admins, and the access log view.

An admin manages their own organisation only: its users (add, role, disable, reset password),
their API tokens, and the sharing groups the organisation owns (their members). New
organisations and operator-managed sharing groups are made on the server with
``chainlight accounts``, because they change what every other member shares. Every change is
written to the access log.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chainlight.accounts import passwords, service
from chainlight.store import access_log
from chainlight.store.operational import ROLES, OperationalError
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.account_payloads import (
    AdminOverview,
    AuditEntry,
    AuditLog,
    GroupInfo,
    OrganisationInfo,
    UserInfo,
)
from chainlight.web.accounts import token_info
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]
Role = Literal["admin", "analyst", "viewer"]
assert set(ROLES) == {"admin", "analyst", "viewer"}


def _admin(viewer: Viewer) -> None:
    access.require_role(viewer, "admin")


def _refuse(exc: Exception, status: int = 422) -> HTTPException:
    return HTTPException(status_code=status, detail=str(exc)[:1].upper() + str(exc)[1:] + ".")


def load_overview(svc: Services, viewer: Viewer) -> AdminOverview:
    _admin(viewer)
    store = svc.operational
    users = [
        UserInfo(email=u.email, name=u.name, organisation=u.organisation.name, role=u.role,
                 created_at=u.created_at, last_login_at=u.last_login_at, disabled=u.disabled_at is not None)
        for u in service.users(store, viewer.organisation)
    ]
    groups = [
        GroupInfo(name=g.name, title=g.title, owner=g.owner.name if g.owner else None,
                  members=sorted(m.name for m in g.members),
                  managed_by_viewer=g.owner is not None and g.owner.name == viewer.organisation)
        for g in service.groups(store)
    ]
    return AdminOverview(
        organisation=viewer.organisation,
        organisations=[OrganisationInfo(name=o.name, title=o.title) for o in service.organisations(store)],
        groups=groups,
        users=users,
        tokens=[token_info(t) for t in service.tokens(store, organisation=viewer.organisation)],
    )


def admin_json(svc: ServicesDep, viewer: ViewerDep) -> AdminOverview:
    return load_overview(svc, viewer)


def admin_page(request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    return _page(request, svc, viewer)


def _page(request: Request, svc: Services, viewer: Viewer, **extra: object) -> HTMLResponse:
    context = {"admin": load_overview(svc, viewer), "roles": ROLES, **extra}
    return render(request, "admin.html", context, json_url="/admin.json")


def add_user(
    request: Request, svc: ServicesDep, viewer: ViewerDep,
    email: Annotated[str, Form(max_length=256)],
    role: Annotated[Role, Form()],
    name: Annotated[str, Form(max_length=256)] = "",
) -> HTMLResponse:
    _admin(viewer)
    try:
        user, secret = service.add_user(svc.operational, email, organisation=viewer.organisation, role=role,
                                        name=name or None)
    except service.AccountError as exc:
        raise _refuse(exc) from exc
    access.audit(request, viewer, "user.add", user.email, detail=f"role {role}")
    return _page(request, svc, viewer, new_user=user.email, new_password=secret)


def set_role(
    request: Request, svc: ServicesDep, viewer: ViewerDep, email: str, role: Annotated[Role, Form()],
) -> Response:
    _admin(viewer)
    if email.lower() == viewer.user and role != "admin":
        raise HTTPException(status_code=422, detail="You cannot take the admin role from yourself.")
    try:
        service.set_role(svc.operational, email, role, organisation=viewer.organisation)
    except service.AccountError as exc:
        raise _refuse(exc, 404) from exc
    access.audit(request, viewer, "user.role", email, detail=f"role {role}")
    return RedirectResponse("/admin", status_code=303)


def set_disabled(
    request: Request, svc: ServicesDep, viewer: ViewerDep, email: str,
    disabled: Annotated[bool, Form()],
) -> Response:
    _admin(viewer)
    if email.lower() == viewer.user:
        raise HTTPException(status_code=422, detail="You cannot disable your own account.")
    try:
        service.set_disabled(svc.operational, email, disabled, organisation=viewer.organisation)
    except service.AccountError as exc:
        raise _refuse(exc, 404) from exc
    access.audit(request, viewer, "user.disable" if disabled else "user.enable", email)
    return RedirectResponse("/admin", status_code=303)


def reset_password(request: Request, svc: ServicesDep, viewer: ViewerDep, email: str) -> HTMLResponse:
    _admin(viewer)
    try:
        secret = service.set_password(svc.operational, email, organisation=viewer.organisation)
    except (service.AccountError, passwords.PasswordError) as exc:
        raise _refuse(exc, 404) from exc
    access.audit(request, viewer, "user.password-reset", email)
    return _page(request, svc, viewer, new_user=email, new_password=secret)


def revoke_token(request: Request, svc: ServicesDep, viewer: ViewerDep, token_id: int) -> Response:
    _admin(viewer)
    try:
        service.revoke_token(svc.operational, token_id, organisation=viewer.organisation)
    except service.AccountError as exc:
        raise _refuse(exc, 404) from exc
    access.audit(request, viewer, "token.revoke", f"token {token_id}")
    return RedirectResponse("/admin", status_code=303)


def add_group(
    request: Request, svc: ServicesDep, viewer: ViewerDep,
    name: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    _admin(viewer)
    try:
        service.add_group(svc.operational, name, [viewer.organisation], owner=viewer.organisation,
                          title=title or None)
    except OperationalError as exc:  # AccountError or a bad name: both are the user's to fix
        raise _refuse(exc) from exc
    access.audit(request, viewer, "group.add", name)
    return RedirectResponse("/admin", status_code=303)


def set_member(
    request: Request, svc: ServicesDep, viewer: ViewerDep, group: str,
    organisation: Annotated[str, Form(max_length=64)],
    present: Annotated[bool, Form()],
) -> Response:
    _admin(viewer)
    try:
        service.set_group_member(svc.operational, group, organisation, present, by_organisation=viewer.organisation)
    except service.AccountError as exc:
        raise _refuse(exc) from exc
    access.audit(request, viewer, "group.member-add" if present else "group.member-remove", group,
                 detail=organisation)
    return RedirectResponse("/admin", status_code=303)


def load_audit(
    svc: Services, viewer: Viewer, *, before: int | None, limit: int, action: str | None, user: str | None,
) -> AuditLog:
    _admin(viewer)
    rows = access_log.recent(svc.operational, organisation=viewer.organisation, limit=limit, before=before,
                             action=action or None, user=user or None)
    entries = [
        AuditEntry(seq=r.seq, at=r.at, user=r.user, organisation=r.organisation, action=r.action, target=r.target,
                   marking=r.marking, purpose=r.purpose, detail=r.detail, client=r.client, hash=r.hash)
        for r in rows
    ]
    return AuditLog(organisation=viewer.organisation, entries=entries,
                    next_before=entries[-1].seq if len(entries) == limit else None)


BeforeQuery = Annotated[int | None, Query(ge=1, description="Entries older than this sequence number")]
LimitQuery = Annotated[int, Query(ge=1, le=500)]
ActionQuery = Annotated[str | None, Query(max_length=64)]
UserQuery = Annotated[str | None, Query(max_length=256)]


def audit_json(
    svc: ServicesDep, viewer: ViewerDep, before: BeforeQuery = None, limit: LimitQuery = 100,
    action: ActionQuery = None, user: UserQuery = None,
) -> AuditLog:
    return load_audit(svc, viewer, before=before, limit=limit, action=action, user=user)


def audit_page(
    request: Request, svc: ServicesDep, viewer: ViewerDep, before: BeforeQuery = None, limit: LimitQuery = 100,
    action: ActionQuery = None, user: UserQuery = None,
) -> HTMLResponse:
    log = load_audit(svc, viewer, before=before, limit=limit, action=action, user=user)
    context = {"log": log, "action": action or "", "user_filter": user or ""}
    return render(request, "audit.html", context, json_url="/audit.json")
