"""Need-to-know for the web app: who is looking, and which datasets they may see.

Every read path starts here. A view asks :func:`visible_datasets` for the datasets the viewer
may read and never looks at any other; a dataset the viewer may not read is treated exactly as
one that does not exist, so not even its name or its existence can be inferred.

Until accounts exist the viewer's organisation is fixed when the app is created. Login will
replace :func:`current_viewer` (a FastAPI dependency) and nothing else has to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from chainlight.model.markings import Marking
from chainlight.store.operational import OperationalStore


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person (for now: the organisation) a response is prepared for."""

    organisation: str


@dataclass(frozen=True, slots=True)
class VisibleDataset:
    """A dataset the viewer may read, with what the pages show about its access."""

    name: str
    title: str
    owner: str
    marking: Marking
    sharing_group: str | None


def current_viewer(request: Request) -> Viewer:
    """The viewer of this request: the organisation the app was started for."""
    viewer: Viewer = request.app.state.viewer
    return viewer


def visible_datasets(operational: OperationalStore, viewer: Viewer) -> list[VisibleDataset]:
    """The registered datasets ``viewer`` may read, by name; the others are left out entirely."""
    result = []
    for dataset in operational.datasets():
        access = dataset.access()
        if not access.visible_to(viewer.organisation):
            continue
        result.append(
            VisibleDataset(
                name=dataset.name,
                title=dataset.title,
                owner=access.owner,
                marking=access.marking,
                sharing_group=dataset.sharing_group.name if dataset.sharing_group else None,
            )
        )
    return result


def find_visible(operational: OperationalStore, viewer: Viewer, name: str) -> VisibleDataset | None:
    """The named dataset if ``viewer`` may read it; None both when it is hidden and when it is missing."""
    for dataset in visible_datasets(operational, viewer):
        if dataset.name == name:
            return dataset
    return None
