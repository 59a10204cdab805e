"""The operational store: organisations, users, sharing groups and datasets with their
markings, sign-in sessions, API tokens, judgements, triage and the access log. Small,
transactional and shared: SQLite by default, PostgreSQL by URL. Its schema is managed by
Alembic migrations shipped in the package (``chainlight/store/migrations``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from chainlight.model.markings import DatasetAccess, Marking

MIGRATIONS = Path(__file__).parent / "migrations"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
ROLES = ("admin", "analyst", "viewer")


class OperationalError(RuntimeError):
    """The operational store refused a request or could not be reached."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def check_name(kind: str, name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise OperationalError(
            f"invalid {kind} name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-'"
        )
    return name


class Base(DeclarativeBase):
    pass


sharing_group_members = Table(
    "sharing_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    users: Mapped[list[User]] = relationship(back_populates="organisation")


class SharingGroup(Base):
    __tablename__ = "sharing_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    #: The organisation whose admins manage the members; None: managed by the operator (CLI) only.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    members: Mapped[list[Organisation]] = relationship(secondary=sharing_group_members)
    owner: Mapped[Organisation | None] = relationship(foreign_keys=[owner_id])


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(256), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="analyst")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    password_hash: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    organisation: Mapped[Organisation] = relationship(back_populates="users")


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A user's API token (``Authorization: Bearer``). Shown once; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a token in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """A failed sign-in, kept for rate limiting (shared by every server process)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(256), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now, index=True)


class AccessLogRow(Base):
    """One entry of the append-only, hash-chained access log (see :mod:`chainlight.store.access_log`)."""

    __tablename__ = "access_log"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, as hashed
    user: Mapped[str] = mapped_column(String(256))
    organisation: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    marking: Mapped[str | None] = mapped_column(String(16), nullable=True)
    purpose: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    marking: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    sharing_group_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_groups.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    owner: Mapped[Organisation] = relationship()
    sharing_group: Mapped[SharingGroup | None] = relationship()

    def access(self) -> DatasetAccess:
        recipients = frozenset(o.name for o in self.sharing_group.members) if self.sharing_group else frozenset()
        return DatasetAccess(self.name, self.owner.name, Marking(self.marking), recipients)


VERDICTS = ("same", "different", "unsure")


class Judgement(Base):
    """A person's verdict on whether two entities are one. Never deleted: undoing stamps it."""

    __tablename__ = "judgements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    left_id: Mapped[str] = mapped_column(String(256), index=True)
    right_id: Mapped[str] = mapped_column(String(256))
    verdict: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(256))
    organisation: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(256), nullable=True)


TRIAGE_STATES = ("new", "confirmed", "dismissed")


class AlertTriage(Base):
    """An organisation's decision on an alert. Never updated: the latest row stands, the
    earlier ones are its history."""

    __tablename__ = "alert_triage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    author: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class OperationalStore:
    """Owns the SQLAlchemy engine; every change goes through :meth:`session`."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = create_engine(self.url, future=True, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the latest migration (safe to run every time)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection_url"] = self.url
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise OperationalError(f"cannot migrate the operational store at {self.safe_url}: {exc}") from exc

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def ensure_organisation(self, name: str, title: str | None = None) -> Organisation:
        check_name("organisation", name)
        with self.session() as s:
            org = s.scalar(select(Organisation).where(Organisation.name == name))
            if org is None:
                org = Organisation(name=name, title=title or name)
                s.add(org)
            return org

    def ensure_sharing_group(self, name: str, members: list[str], title: str | None = None) -> SharingGroup:
        check_name("sharing group", name)
        for member in members:
            self.ensure_organisation(member)
        with self.session() as s:
            group = s.scalar(select(SharingGroup).where(SharingGroup.name == name))
            if group is None:
                group = SharingGroup(name=name, title=title or name)
                s.add(group)
            orgs = s.scalars(select(Organisation).where(Organisation.name.in_(members))).all()
            for org in orgs:
                if org not in group.members:
                    group.members.append(org)
            return group

    def ensure_dataset(
        self,
        name: str,
        *,
        owner: str,
        marking: Marking,
        sharing_group: str | None = None,
        title: str | None = None,
    ) -> Dataset:
        """Register a dataset, or check that an existing one has the same owner and marking.

        A marking is never changed silently by a re-ingest: that would downgrade (or upgrade)
        what is already shared under it.
        """
        check_name("dataset", name)
        self.ensure_organisation(owner)
        with self.session() as s:
            dataset = s.scalar(select(Dataset).where(Dataset.name == name))
            group = None
            if sharing_group is not None:
                group = s.scalar(select(SharingGroup).where(SharingGroup.name == sharing_group))
                if group is None:
                    raise OperationalError(f"unknown sharing group {sharing_group!r}")
            if dataset is None:
                org = s.scalar(select(Organisation).where(Organisation.name == owner))
                dataset = Dataset(
                    name=name, title=title or name, marking=marking.value, owner=org, sharing_group=group
                )
                s.add(dataset)
                return dataset
            if dataset.owner.name != owner:
                raise OperationalError(f"dataset {name!r} belongs to {dataset.owner.name!r}, not {owner!r}")
            if dataset.marking != marking.value:
                raise OperationalError(
                    f"dataset {name!r} is marked TLP:{dataset.marking}; refusing to ingest it as {marking.label}"
                )
            current_group = dataset.sharing_group.name if dataset.sharing_group else None
            if sharing_group is not None and current_group != sharing_group:
                raise OperationalError(f"dataset {name!r} has a different sharing group")
            return dataset

    def datasets(self) -> list[Dataset]:
        with self.session() as s:
            rows = s.scalars(select(Dataset).order_by(Dataset.name)).all()
            for row in rows:  # load relationships while the session is open
                _ = row.owner.name, row.sharing_group and [m.name for m in row.sharing_group.members]
            return list(rows)

    def dataset_access(self) -> list[DatasetAccess]:
        return [d.access() for d in self.datasets()]

    def add_judgement(
        self, left: str, right: str, verdict: str, *, author: str, organisation: str, note: str | None = None
    ) -> Judgement:
        """Record a verdict on a pair (stored with the smaller id on the left)."""
        if verdict not in VERDICTS:
            raise OperationalError(f"unknown verdict {verdict!r}: use one of {', '.join(VERDICTS)}")
        if left == right:
            raise OperationalError("a judgement needs two different entities")
        left, right = sorted((left, right))
        with self.session() as s:
            row = Judgement(
                left_id=left, right_id=right, verdict=verdict, author=author, organisation=organisation, note=note
            )
            s.add(row)
            return row

    def undo_judgement(self, left: str, right: str, *, author: str) -> Judgement:
        """Undo the latest standing verdict on the pair; the one before it (if any) stands again."""
        left, right = sorted((left, right))
        with self.session() as s:
            row = s.scalar(
                select(Judgement)
                .where(Judgement.left_id == left, Judgement.right_id == right, Judgement.undone_at.is_(None))
                .order_by(Judgement.created_at.desc(), Judgement.id.desc())
                .limit(1)
            )
            if row is None:
                raise OperationalError(f"no judgement on {left} and {right} to undo")
            row.undone_at = _now()
            row.undone_by = author
            return row

    def judgements(self, *, include_undone: bool = False) -> list[Judgement]:
        with self.session() as s:
            query = select(Judgement).order_by(Judgement.created_at, Judgement.id)
            if not include_undone:
                query = query.where(Judgement.undone_at.is_(None))
            return list(s.scalars(query).all())

    def add_triage(self, alert_id: str, state: str, *, organisation: str, author: str,
                   reason: str | None = None) -> AlertTriage:
        """Record ``organisation``'s decision on an alert; dismissing needs a reason."""
        if state not in TRIAGE_STATES:
            raise OperationalError(f"unknown triage state {state!r}: use one of {', '.join(TRIAGE_STATES)}")
        if state == "dismissed" and not (reason or "").strip():
            raise OperationalError("dismissing an alert needs a reason (--reason)")
        with self.session() as s:
            row = AlertTriage(alert_id=alert_id, organisation=organisation, state=state,
                              reason=(reason or "").strip() or None, author=author)
            s.add(row)
            return row

    def triage(self, organisation: str, alert_ids: list[str] | None = None) -> dict[str, AlertTriage]:
        """The standing decision per alert for ``organisation`` (the latest row of each)."""
        with self.session() as s:
            query = select(AlertTriage).where(AlertTriage.organisation == organisation)
            if alert_ids is not None:
                query = query.where(AlertTriage.alert_id.in_(alert_ids))
            rows = s.scalars(query.order_by(AlertTriage.created_at, AlertTriage.id)).all()
        return {row.alert_id: row for row in rows}

    def triage_history(self, alert_id: str, organisation: str) -> list[AlertTriage]:
        with self.session() as s:
            return list(s.scalars(
                select(AlertTriage)
                .where(AlertTriage.alert_id == alert_id, AlertTriage.organisation == organisation)
                .order_by(AlertTriage.created_at, AlertTriage.id)
            ).all())
