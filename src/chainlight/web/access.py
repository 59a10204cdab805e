"""Need-to-know for the web app: who is looking, and which datasets they may see.

Every read path starts here. A view asks :func:`visible_datasets` for the datasets the viewer
may read and never looks at any other; a dataset the viewer may not read is treated exactly as
one that does not exist, so not even its name or its existence can be inferred.

Who the viewer is was settled before the view runs (:mod:`chainlight.web.auth`: a session
cookie or an API token, or the organisation a trusted app was created for) and is read with
:func:`current_viewer`. Views also ask here whether the viewer's role allows a write
(:func:`require_role`), whether a RED or AMBER+STRICT read came with a purpose
(:func:`require_purpose`), and record what was read or changed in the access log (:func:`audit`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy import select

from chainlight.model.markings import DatasetAccess, Marking
from chainlight.store import access_log
from chainlight.store.access_log import AccessEntry
from chainlight.store.operational import (
    ROLES,
    Dataset,
    OperationalStore,
    Organisation,
    SharingGroup,
    sharing_group_members,
)

#: Markings whose items are read only with a stated purpose, which the access log keeps.
PURPOSE_MARKINGS = frozenset({Marking.RED, Marking.AMBER_STRICT})
PURPOSE_HEADER = "X-Chainlight-Purpose"
PURPOSE_MIN, PURPOSE_MAX = 4, 500


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person a response is prepared for: their organisation, who they are, and their role.

    ``user`` is the e-mail address of a signed-in user, or ``local`` in an app created for one
    trusted organisation. ``role`` is ``admin``, ``analyst`` or ``viewer`` (:data:`ROLES`).
    """

    organisation: str
    user: str = "local"
    role: str = "analyst"
    user_id: int | None = None
    #: How the request was authenticated: ``session`` (cookie), ``token`` (API token) or ``trusted``.
    via: str = "trusted"

    def may(self, role: str) -> bool:
        """Whether the viewer's role is ``role`` or above (viewer < analyst < admin)."""
        return ROLES.index(self.role) <= ROLES.index(role)  # ROLES runs from the most to the least rights


class PurposeRequired(Exception):
    """A RED or AMBER+STRICT item was asked for without a purpose (answered 428)."""

    def __init__(self, marking: Marking, problem: str | None = None) -> None:
        super().__init__(problem or f"Reading a {marking.value} item asks for a purpose.")
        self.marking = marking
        self.problem = problem


@dataclass(frozen=True, slots=True)
class VisibleDataset:
    """A dataset the viewer may read, with what the pages show about its access."""

    name: str
    title: str
    owner: str
    marking: Marking
    sharing_group: str | None


def current_viewer(request: Request) -> Viewer:
    """The viewer of this request, as the authentication middleware found them."""
    viewer = getattr(request.state, "viewer", None)
    if viewer is None:  # only reachable for a route the middleware lets through anonymously
        raise HTTPException(status_code=401, detail="Sign in to see this.")
    assert isinstance(viewer, Viewer)
    return viewer


def require_role(viewer: Viewer, role: str) -> None:
    """Refuse (403) a viewer whose role is below ``role``."""
    if not viewer.may(role):
        raise HTTPException(status_code=403, detail=f"This needs the {role} role; yours is {viewer.role}.")


def require_purpose(request: Request, marking: Marking | str) -> str | None:
    """The purpose given for reading an item marked ``marking``, when its marking asks for one.

    RED and AMBER+STRICT items are shown only with a purpose, given as ``?purpose=`` or in the
    ``X-Chainlight-Purpose`` header; without one this raises :class:`PurposeRequired`. Other
    markings need none, and a purpose given anyway is returned for the access log.
    """
    level = marking if isinstance(marking, Marking) else Marking.parse(marking)
    given = request.query_params.get("purpose") or request.headers.get(PURPOSE_HEADER) or ""
    purpose = " ".join(given.split())
    if level not in PURPOSE_MARKINGS:
        return purpose[:PURPOSE_MAX] or None
    if not purpose:
        raise PurposeRequired(level)
    if not PURPOSE_MIN <= len(purpose) <= PURPOSE_MAX:
        raise PurposeRequired(level, f"A purpose is {PURPOSE_MIN} to {PURPOSE_MAX} characters long.")
    return purpose


def audit(
    request: Request,
    viewer: Viewer,
    action: str,
    target: str,
    *,
    marking: Marking | str | None = None,
    purpose: str | None = None,
    detail: str | None = None,
) -> None:
    """Append what ``viewer`` read or changed to the hash-chained access log.

    ``action`` is a short verb-like name (``entity.read``, ``search``, ``alert.triage``),
    ``target`` what it was done to (an entity id, a query). The entry is written before the
    answer leaves, so no read goes unrecorded.
    """
    operational: OperationalStore = request.app.state.services.operational
    level = None if marking is None else (marking.value if isinstance(marking, Marking) else marking)
    client = request.client.host if request.client else None
    access_log.record(
        operational,
        AccessEntry(
            user=viewer.user,
            organisation=viewer.organisation,
            action=action,
            target=target,
            marking=level,
            purpose=purpose,
            detail=detail,
            client=client,
        )
    )


# Built once: constructing a statement costs more than running it against a handful of rows.
_MEMBERS = select(sharing_group_members.c.group_id, Organisation.name).join(
    Organisation, Organisation.id == sharing_group_members.c.organisation_id
)
_DATASETS = (
    select(Dataset.name, Dataset.title, Dataset.marking, Organisation.name, SharingGroup.id, SharingGroup.name)
    .join(Organisation, Organisation.id == Dataset.owner_id)
    .outerjoin(SharingGroup, SharingGroup.id == Dataset.sharing_group_id)
    .order_by(Dataset.name)
)


def visible_datasets(operational: OperationalStore, viewer: Viewer) -> list[VisibleDataset]:
    """The registered datasets ``viewer`` may read, by name; the others are left out entirely.

    :meth:`DatasetAccess.visible_to` decides; the registry is read with two plain queries (not
    one ORM object per dataset, owner and member), because every request starts here.
    """
    members: dict[int, set[str]] = {}
    with operational.engine.connect() as connection:
        for group_id, organisation in connection.execute(_MEMBERS):
            members.setdefault(group_id, set()).add(organisation)
        rows = connection.execute(_DATASETS).all()
    result = []
    for name, title, marking, owner, group_id, group in rows:
        rule = DatasetAccess(name, owner, Marking(marking), frozenset(members.get(group_id, ())))
        if rule.visible_to(viewer.organisation):
            result.append(VisibleDataset(name=name, title=title, owner=owner, marking=rule.marking,
                                         sharing_group=group))
    return result


def find_visible(operational: OperationalStore, viewer: Viewer, name: str) -> VisibleDataset | None:
    """The named dataset if ``viewer`` may read it; None both when it is hidden and when it is missing."""
    for dataset in visible_datasets(operational, viewer):
        if dataset.name == name:
            return dataset
    return None
