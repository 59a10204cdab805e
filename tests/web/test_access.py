"""Roles and purposes: the checks every view leans on."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from chainlight.model.markings import Marking
from chainlight.web import access
from chainlight.web.access import PurposeRequired, Viewer


def request(query: str = "", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": raw})


def test_roles_are_ordered_admin_analyst_viewer() -> None:
    assert Viewer("o", role="admin").may("analyst") and Viewer("o", role="admin").may("viewer")
    assert Viewer("o", role="analyst").may("analyst") and not Viewer("o", role="analyst").may("admin")
    assert not Viewer("o", role="viewer").may("analyst")
    with pytest.raises(Exception, match="analyst role"):
        access.require_role(Viewer("o", role="viewer"), "analyst")


@pytest.mark.parametrize("marking", [Marking.RED, Marking.AMBER_STRICT])
def test_red_and_amber_strict_reads_need_a_purpose(marking: Marking) -> None:
    with pytest.raises(PurposeRequired):
        access.require_purpose(request(), marking)
    with pytest.raises(PurposeRequired, match="4 to 500"):
        access.require_purpose(request("purpose=ab"), marking)
    assert access.require_purpose(request("purpose=case+KE-2026-114"), marking) == "case KE-2026-114"
    given = request(headers={"X-Chainlight-Purpose": "  seizure   follow-up "})
    assert access.require_purpose(given, marking.value) == "seizure follow-up"


@pytest.mark.parametrize("marking", [Marking.CLEAR, Marking.GREEN, Marking.AMBER])
def test_other_markings_need_none(marking: Marking) -> None:
    assert access.require_purpose(request(), marking) is None
    assert access.require_purpose(request("purpose=noted"), marking) == "noted"
