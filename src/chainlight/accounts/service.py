"""Organisations, users, sharing groups, sign-in, sessions and API tokens, over the operational store.

Secrets never rest in the store: passwords are Argon2id hashes, and session cookies and API
tokens are random strings of which only the SHA-256 is kept (they have 256 bits of entropy,
so a fast hash is enough; a stolen database gives no usable session or token).

Failed sign-ins are counted in the store, so the limit holds across every server process:
:data:`MAX_FAILURES_PER_ACCOUNT` failures for one address, or :data:`MAX_FAILURES_PER_CLIENT`
from one client address, within :data:`FAILURE_WINDOW` refuse further tries until the window
has passed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from chainlight.accounts import passwords
from chainlight.store.operational import (
    ROLES,
    ApiToken,
    LoginFailure,
    OperationalError,
    OperationalStore,
    Organisation,
    SharingGroup,
    User,
    WebSession,
    check_name,
)

SESSION_LIFETIME = timedelta(hours=12)  # absolute: sign in again after this
SESSION_IDLE = timedelta(hours=2)  # idle: a session unused this long ends
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
TOKEN_PREFIX = "clt_"  # noqa: S105 - a marker that starts every token, not a secret
TOKEN_CACHE_SECONDS = 5.0  # a revoked token stops working within this time
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


class AccountError(OperationalError):
    """A request about accounts that cannot be done (unknown user, bad role, ...)."""


class SignInRefused(AccountError):
    """Wrong e-mail or password, or a disabled account: said the same way for all three."""


class RateLimited(AccountError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {max(1, retry_after // 60)} minute(s)")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a session or token belongs to."""

    user_id: int
    email: str
    name: str
    organisation: str
    role: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    principal: Principal
    csrf_token: str


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    address = email.strip().lower()
    if not EMAIL.match(address):
        raise AccountError(f"{email!r} is not an e-mail address")
    return address


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def _principal(user: User) -> Principal:
    return Principal(user.id, user.email, user.name, user.organisation.name, user.role)


# --- organisations, users, sharing groups ---------------------------------------------------


def add_organisation(store: OperationalStore, name: str, title: str | None = None) -> Organisation:
    return store.ensure_organisation(check_name("organisation", name), title)


def organisations(store: OperationalStore) -> list[Organisation]:
    with store.session() as s:
        return list(s.scalars(select(Organisation).order_by(Organisation.name)).all())


def add_user(
    store: OperationalStore, email: str, *, organisation: str, role: str = "analyst", name: str | None = None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create a user; returns the user and the generated password when none was given."""
    address = normalise_email(email)
    check_role(role)
    generated = None if password is not None else passwords.generate()
    hashed = passwords.hash_password(password if password is not None else generated or "")
    with store.session() as s:
        org = s.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            raise AccountError(f"unknown organisation {organisation!r}: add it first")
        if s.scalar(select(User.id).where(User.email == address)) is not None:
            raise AccountError(f"there is already a user {address}")
        user = User(email=address, name=(name or address.split("@")[0]).strip()[:256], role=role,
                    organisation=org, password_hash=hashed)
        s.add(user)
        s.flush()
        _ = user.organisation.name
    return user, generated


def users(store: OperationalStore, organisation: str | None = None) -> list[User]:
    with store.session() as s:
        query = select(User).join(Organisation).order_by(Organisation.name, User.email)
        if organisation is not None:
            query = query.where(Organisation.name == organisation)
        found = list(s.scalars(query).all())
        for user in found:
            _ = user.organisation.name
        return found


def _user(s: object, email: str, organisation: str | None) -> User:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    user = s.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or (organisation is not None and user.organisation.name != organisation):
        raise AccountError(f"there is no user {email}" + (f" in {organisation}" if organisation else ""))
    return user


def set_password(store: OperationalStore, email: str, password: str | None = None, *,
                 organisation: str | None = None) -> str | None:
    """Set a new password (generated when none is given, and returned); ends the user's sessions."""
    generated = None if password is not None else passwords.generate()
    hashed = passwords.hash_password(password if password is not None else generated or "")
    with store.session() as s:
        user = _user(s, email, organisation)
        user.password_hash = hashed
        _end_sessions(s, user.id)
    return generated


def set_role(store: OperationalStore, email: str, role: str, *, organisation: str | None = None) -> None:
    check_role(role)
    with store.session() as s:
        _user(s, email, organisation).role = role


def set_disabled(store: OperationalStore, email: str, disabled: bool, *, organisation: str | None = None) -> None:
    """Disable (or enable) a user; disabling ends their sessions and stops their tokens."""
    with store.session() as s:
        user = _user(s, email, organisation)
        user.disabled_at = _now() if disabled else None
        if disabled:
            _end_sessions(s, user.id)
    _token_cache.clear()


def _end_sessions(s: object, user_id: int) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    for row in s.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))):
        row.revoked_at = _now()


def add_group(store: OperationalStore, name: str, members: list[str], *, owner: str | None = None,
              title: str | None = None) -> SharingGroup:
    """A sharing group of ``members``; with an ``owner`` its admins may change the members."""
    for member in [*members, *([owner] if owner else [])]:
        with store.session() as s:
            if s.scalar(select(Organisation.id).where(Organisation.name == member)) is None:
                raise AccountError(f"unknown organisation {member!r}")
    check_name("sharing group", name)
    with store.session() as s:
        if s.scalar(select(SharingGroup.id).where(SharingGroup.name == name)) is not None:
            raise AccountError(f"there is already a sharing group {name!r}")
    everyone = sorted({*members, *([owner] if owner else [])})
    group = store.ensure_sharing_group(name, everyone, title)
    if owner:
        with store.session() as s:
            row = s.get(SharingGroup, group.id)
            assert row is not None
            row.owner_id = s.scalar(select(Organisation.id).where(Organisation.name == owner))
    return group


def groups(store: OperationalStore) -> list[SharingGroup]:
    with store.session() as s:
        found = list(s.scalars(select(SharingGroup).order_by(SharingGroup.name)).all())
        for group in found:
            _ = [m.name for m in group.members], group.owner and group.owner.name
        return found


def set_group_member(store: OperationalStore, group: str, organisation: str, present: bool, *,
                     by_organisation: str | None = None) -> None:
    """Add or remove a member; ``by_organisation`` must own the group (None: the operator)."""
    with store.session() as s:
        row = s.scalar(select(SharingGroup).where(SharingGroup.name == group))
        if row is None:
            raise AccountError(f"there is no sharing group {group!r}")
        if by_organisation is not None and (row.owner is None or row.owner.name != by_organisation):
            raise AccountError(f"sharing group {group!r} is not managed by {by_organisation}")
        org = s.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            raise AccountError(f"unknown organisation {organisation!r}")
        if present and org not in row.members:
            row.members.append(org)
        if not present:
            if row.owner is not None and row.owner.name == organisation:
                raise AccountError("the owner organisation stays in its own sharing group")
            if org in row.members:
                row.members.remove(org)


# --- sign-in and sessions -------------------------------------------------------------------


def _failures(s: object, column: object, value: str, since: datetime) -> tuple[int, datetime | None]:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    row = s.execute(
        select(func.count(), func.min(LoginFailure.created_at)).where(column == value,  # type: ignore[arg-type]
                                                                      LoginFailure.created_at >= since)
    ).one()
    return int(row[0]), row[1]


def sign_in(store: OperationalStore, email: str, password: str, *, client: str) -> Principal:
    """The user with this e-mail and password, or :class:`SignInRefused` / :class:`RateLimited`."""
    address = email.strip().lower()[:256]
    now = _now()
    since = now - FAILURE_WINDOW
    with store.session() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.created_at < since))
        per_account, first_account = _failures(s, LoginFailure.email, address, since)
        per_client, first_client = _failures(s, LoginFailure.client, client, since)
    for count, limit, first in ((per_account, MAX_FAILURES_PER_ACCOUNT, first_account),
                                (per_client, MAX_FAILURES_PER_CLIENT, first_client)):
        if count >= limit and first is not None:
            raise RateLimited(int((first + FAILURE_WINDOW - now).total_seconds()) + 1)
    with store.session() as s:
        user = s.scalar(select(User).where(User.email == address))
        stored = user.password_hash if user is not None else None
    good = passwords.verify(stored, password)
    if not good or user is None or user.disabled_at is not None:
        with store.session() as s:
            s.add(LoginFailure(email=address, client=client[:64], created_at=now))
        raise SignInRefused("wrong e-mail address or password")
    with store.session() as s:
        row = s.get(User, user.id)
        assert row is not None
        row.last_login_at = now
        if stored and passwords.needs_rehash(stored):
            row.password_hash = passwords.hash_password(password)
        s.execute(delete(LoginFailure).where(LoginFailure.email == address))
        return _principal(row)


def open_session(store: OperationalStore, principal: Principal, *, client: str | None) -> tuple[str, str]:
    """A new session for ``principal``: the cookie token and the CSRF token."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with store.session() as s:
        s.add(WebSession(id=digest(token), user_id=principal.user_id, csrf_token=csrf, created_at=now,
                         last_seen_at=now, expires_at=now + SESSION_LIFETIME, client=(client or "")[:64]))
    return token, csrf


def session_of(store: OperationalStore, token: str) -> SessionInfo | None:
    """The live session behind a cookie token; None when unknown, ended, expired or idle too long."""
    if not token or len(token) > 128:
        return None
    now = _now()
    with store.session() as s:
        row = s.get(WebSession, digest(token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if now - row.last_seen_at > SESSION_IDLE or row.user.disabled_at is not None:
            row.revoked_at = now
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        return SessionInfo(_principal(row.user), row.csrf_token)


def close_session(store: OperationalStore, token: str) -> None:
    with store.session() as s:
        row = s.get(WebSession, digest(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = _now()


# --- API tokens -----------------------------------------------------------------------------


def create_token(store: OperationalStore, email: str, name: str, *, days: int | None = None,
                 organisation: str | None = None) -> tuple[str, ApiToken]:
    """A new API token for the user: the secret (shown once) and its record."""
    if not name.strip() or len(name) > 128:
        raise AccountError("a token needs a name of 1 to 128 characters")
    if days is not None and not 1 <= days <= 3650:
        raise AccountError("a token lasts 1 to 3650 days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as s:
        user = _user(s, email, organisation)
        if user.disabled_at is not None:
            raise AccountError(f"user {user.email} is disabled")
        expires = _now() + timedelta(days=days) if days else None
        row = ApiToken(user_id=user.id, name=name.strip(), prefix=secret[:10], token_hash=digest(secret),
                       expires_at=expires)
        s.add(row)
        s.flush()
        _ = row.user.email
    return secret, row


def tokens(store: OperationalStore, *, organisation: str | None = None, email: str | None = None) -> list[ApiToken]:
    with store.session() as s:
        query = select(ApiToken).join(User).join(Organisation).order_by(ApiToken.id)
        if organisation is not None:
            query = query.where(Organisation.name == organisation)
        if email is not None:
            query = query.where(User.email == normalise_email(email))
        found = list(s.scalars(query).all())
        for row in found:
            _ = row.user.email, row.user.organisation.name
        return found


def revoke_token(store: OperationalStore, token_id: int, *, organisation: str | None = None,
                 email: str | None = None) -> ApiToken:
    """Revoke a token; ``organisation`` / ``email`` restrict which tokens the caller may revoke."""
    with store.session() as s:
        row = s.get(ApiToken, token_id)
        if (row is None or (organisation is not None and row.user.organisation.name != organisation)
                or (email is not None and row.user.email != email)):
            raise AccountError(f"there is no token {token_id}")
        row.revoked_at = row.revoked_at or _now()
    _token_cache.clear()
    return row


_token_cache: dict[str, tuple[float, Principal | None]] = {}
_token_lock = threading.Lock()


def token_principal(store: OperationalStore, secret: str) -> Principal | None:
    """Who an API token belongs to; None when unknown, revoked, expired or its user disabled.

    Answers are cached for :data:`TOKEN_CACHE_SECONDS`, so that a busy API client costs one
    store query every few seconds, not one per request.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    key = digest(secret)
    clock = time.monotonic()
    with _token_lock:
        cached = _token_cache.get(key)
    if cached is not None and clock - cached[0] < TOKEN_CACHE_SECONDS:
        return cached[1]
    now = _now()
    with store.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == key))
        found: Principal | None = None
        if (row is not None and row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
                and row.user.disabled_at is None):
            found = _principal(row.user)
            if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
                row.last_used_at = now
    with _token_lock:
        if len(_token_cache) > 10_000:
            _token_cache.clear()
        _token_cache[key] = (clock, found)
    return found
