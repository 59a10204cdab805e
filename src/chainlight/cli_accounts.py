"""``chainlight accounts ...`` (organisations, sharing groups, users, API tokens: the operator's
side of accounts, on the server) and ``chainlight audit ...`` (the hash-chained access log:
verify, head, list)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, _settings, err, out
from chainlight.store.operational import OperationalStore

accounts_app = typer.Typer(help="Organisations, sharing groups, users and API tokens.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations on the platform.", no_args_is_help=True)
group_app = typer.Typer(help="Sharing groups: the organisations AMBER data is shared with.", no_args_is_help=True)
user_app = typer.Typer(help="Users, their organisations and roles (admin, analyst, viewer).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (Authorization: Bearer).", no_args_is_help=True)
accounts_app.add_typer(org_app, name="org")
accounts_app.add_typer(group_app, name="group")
accounts_app.add_typer(user_app, name="user")
accounts_app.add_typer(token_app, name="token")
audit_app = typer.Typer(help="The access log: who read or changed what (append-only, hash-chained).",
                        no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="The user's e-mail address.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input instead of generating one."),
]


def _store(home: Any, database_url: str | None) -> OperationalStore:
    from chainlight.pipeline import open_operational

    return open_operational(_settings(home, database_url))


def _log(store: OperationalStore, action: str, target: str, detail: str | None = None) -> None:
    """Operator changes go into the access log too, as the server account that made them."""
    import getpass

    from chainlight.store import access_log
    from chainlight.store.access_log import AccessEntry

    access_log.append(store, AccessEntry(user=f"cli:{getpass.getuser()}", organisation="-", action=action,
                                         target=target, detail=detail, client="cli"))


def _json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def _password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise typer.BadParameter("no password on standard input")
    return line


def _show_secret(label: str, secret: str) -> None:
    """A secret on stdout (for scripts), with a note on stderr that it is shown once."""
    err.print(f"{label} (shown once; store it safely):")
    print(secret)


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="Short name: lower case, digits, . _ -")],
    title: Annotated[str | None, typer.Option(help="Full name.")] = None,
    home: HomeOption = None, database_url: DatabaseOption = None,
) -> None:
    """Add an organisation (or give an existing one its title)."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    org = service.add_organisation(store, name, title)
    _log(store, "organisation.add", org.name)
    err.print(f"organisation {escape(org.name)}")


@org_app.command("list")
def org_list(home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Every organisation."""
    from chainlight.accounts import service

    orgs = service.organisations(_store(home, database_url))
    if as_json:
        _json([{"name": o.name, "title": o.title} for o in orgs])
        return
    table = Table("organisation", "title", title=f"{len(orgs)} organisations")
    for o in orgs:
        table.add_row(escape(o.name), escape(o.title))
    out.print(table)


@group_app.command("add")
def group_add(
    name: Annotated[str, typer.Argument(help="Short name of the group.")],
    members: Annotated[list[str], typer.Option("--member", "-m", help="A member organisation (repeat).")],
    owner: Annotated[str | None, typer.Option(help="Organisation whose admins manage the members.")] = None,
    title: Annotated[str | None, typer.Option(help="Full name.")] = None,
    home: HomeOption = None, database_url: DatabaseOption = None,
) -> None:
    """Create a sharing group of organisations."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    group = service.add_group(store, name, members, owner=owner, title=title)
    _log(store, "group.add", group.name, detail=", ".join(members))
    everyone = sorted({*members, *([owner] if owner else [])})
    err.print(f"sharing group {escape(group.name)}: {escape(', '.join(everyone))}")


@group_app.command("member")
def group_member(
    group: Annotated[str, typer.Argument(help="Sharing group.")],
    organisation: Annotated[str, typer.Argument(help="Organisation.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove it instead of adding it.")] = False,
    home: HomeOption = None, database_url: DatabaseOption = None,
) -> None:
    """Add an organisation to a sharing group (or remove it)."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    service.set_group_member(store, group, organisation, not remove)
    _log(store, "group.member-remove" if remove else "group.member-add", group, detail=organisation)
    err.print(f"{escape(organisation)} {'removed from' if remove else 'added to'} {escape(group)}")


@group_app.command("list")
def group_list(home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Every sharing group with its members."""
    from chainlight.accounts import service

    groups = service.groups(_store(home, database_url))
    rows = [{"name": g.name, "title": g.title, "owner": g.owner.name if g.owner else None,
             "members": sorted(m.name for m in g.members)} for g in groups]
    if as_json:
        _json(rows)
        return
    table = Table("group", "owner", "members", title=f"{len(rows)} sharing groups")
    for row in rows:
        table.add_row(escape(str(row["name"])), escape(str(row["owner"] or "operator")),
                      escape(", ".join(row["members"])))  # type: ignore[arg-type]
    out.print(table)


@user_app.command("add")
def user_add(
    email: Email,
    organisation: Annotated[str, typer.Option("--organisation", "-o", help="The user's organisation.")],
    role: Annotated[str, typer.Option(help="admin, analyst or viewer.")] = "analyst",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: PasswordStdin = False,
    home: HomeOption = None, database_url: DatabaseOption = None,
) -> None:
    """Add a user. Without --password-stdin a password is generated and printed once."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    user, generated = service.add_user(store, email, organisation=organisation, role=role, name=name,
                                       password=_password(password_stdin))
    _log(store, "user.add", user.email, detail=f"role {role}")
    err.print(f"user {escape(user.email)} ({escape(user.role)}) in {escape(organisation)}")
    if generated:
        _show_secret("password", generated)


@user_app.command("list")
def user_list(
    organisation: Annotated[str | None, typer.Option("--organisation", "-o", help="Only this organisation.")] = None,
    home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False,
) -> None:
    """Users with their organisation, role and state."""
    from chainlight.accounts import service

    users = service.users(_store(home, database_url), organisation)
    rows = [{"email": u.email, "name": u.name, "organisation": u.organisation.name, "role": u.role,
             "last_login_at": u.last_login_at, "disabled": u.disabled_at is not None} for u in users]
    if as_json:
        _json(rows)
        return
    table = Table("e-mail", "name", "organisation", "role", "last sign-in", "state", title=f"{len(rows)} users")
    for r in rows:
        table.add_row(escape(str(r["email"])), escape(str(r["name"])), escape(str(r["organisation"])),
                      str(r["role"]), str(r["last_login_at"] or "never"), "disabled" if r["disabled"] else "active")
    out.print(table)


@user_app.command("role")
def user_role(email: Email, role: Annotated[str, typer.Argument(help="admin, analyst or viewer.")],
              home: HomeOption = None, database_url: DatabaseOption = None) -> None:
    """Change a user's role."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    service.set_role(store, email, role)
    _log(store, "user.role", email, detail=f"role {role}")
    err.print(f"{escape(email)} is now {escape(role)}")


@user_app.command("password")
def user_password(email: Email, password_stdin: PasswordStdin = False,
                  home: HomeOption = None, database_url: DatabaseOption = None) -> None:
    """Set a new password (generated unless --password-stdin); ends the user's sessions."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    generated = service.set_password(store, email, _password(password_stdin))
    _log(store, "user.password-reset", email)
    err.print(f"new password for {escape(email)}; their sessions have ended")
    if generated:
        _show_secret("password", generated)


@user_app.command("disable")
def user_disable(
    email: Email,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again instead.")] = False,
    home: HomeOption = None, database_url: DatabaseOption = None,
) -> None:
    """Disable a user (ends their sessions, stops their tokens), or enable them again."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    service.set_disabled(store, email, not enable)
    _log(store, "user.enable" if enable else "user.disable", email)
    err.print(f"{escape(email)} {'enabled' if enable else 'disabled'}")


@token_app.command("create")
def token_create(
    email: Email,
    name: Annotated[str, typer.Option(help="What the token is for.")],
    days: Annotated[int | None, typer.Option(help="Expire after this many days (default: never).")] = None,
    home: HomeOption = None, database_url: DatabaseOption = None,
) -> None:
    """Create an API token for a user; the token is printed once."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    secret, row = service.create_token(store, email, name, days=days)
    _log(store, "token.create", f"token {row.id}", detail=name)
    err.print(f"token {row.id} for {escape(row.user.email)}")
    _show_secret("token", secret)


@token_app.command("list")
def token_list(
    organisation: Annotated[str | None, typer.Option("--organisation", "-o", help="Only this organisation.")] = None,
    home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False,
) -> None:
    """API tokens (never their secrets)."""
    from chainlight.accounts import service

    rows = [{"id": t.id, "user": t.user.email, "organisation": t.user.organisation.name, "name": t.name,
             "prefix": t.prefix, "created_at": t.created_at, "last_used_at": t.last_used_at,
             "expires_at": t.expires_at, "revoked": t.revoked_at is not None}
            for t in service.tokens(_store(home, database_url), organisation=organisation)]
    if as_json:
        _json(rows)
        return
    table = Table("id", "user", "name", "starts with", "last used", "state", title=f"{len(rows)} tokens")
    for r in rows:
        table.add_row(str(r["id"]), escape(str(r["user"])), escape(str(r["name"])), str(r["prefix"]),
                      str(r["last_used_at"] or "never"), "revoked" if r["revoked"] else "active")
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id (see token list).")],
                 home: HomeOption = None, database_url: DatabaseOption = None) -> None:
    """Revoke an API token (it stops working within seconds)."""
    from chainlight.accounts import service

    store = _store(home, database_url)
    service.revoke_token(store, token_id)
    _log(store, "token.revoke", f"token {token_id}")
    err.print(f"token {token_id} revoked")


@audit_app.command("verify")
def audit_verify(home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Recompute the access log's hash chain; exit 1 if any entry was edited, inserted or deleted."""
    from chainlight.store import access_log

    result = access_log.verify(_store(home, database_url))
    if as_json:
        _json({"ok": result.ok, "entries": result.entries, "head": result.head, "problems": result.problems})
    elif result.ok:
        out.print(f"access log intact: {result.entries:,} entries, head {result.head}")
    else:
        for problem in result.problems:
            err.print(f"[red]{escape(problem)}[/red]")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    organisation: Annotated[str | None, typer.Option("--organisation", "-o", help="Only this organisation.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (e.g. entity.read).")] = None,
    user: Annotated[str | None, typer.Option(help="Only this user.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False,
) -> None:
    """The latest access log entries, newest first."""
    from chainlight.store import access_log

    rows = access_log.recent(_store(home, database_url), organisation=organisation, limit=limit, action=action,
                             user=user)
    data = [{"seq": r.seq, "at": r.at, "user": r.user, "organisation": r.organisation, "action": r.action,
             "target": r.target, "marking": r.marking, "purpose": r.purpose, "detail": r.detail,
             "client": r.client, "hash": r.hash} for r in rows]
    if as_json:
        _json(data)
        return
    table = Table("#", "at", "user", "organisation", "action", "target", "marking", "purpose",
                  title=f"{len(data)} entries")
    for d in data:
        table.add_row(*(escape(str(d[k] or "")) for k in
                        ("seq", "at", "user", "organisation", "action", "target", "marking", "purpose")))
    out.print(table)
