"""The demo's accounts: made once, passwords renewed on every run, kept in a private file."""

from __future__ import annotations

import stat

import pytest

from chainlight.accounts import service
from chainlight.demo.accounts import DEMO_USERS, ensure_demo_accounts
from chainlight.pipeline import open_operational
from chainlight.settings import Settings


def test_demo_accounts_are_made_then_renewed(settings: Settings) -> None:
    first = ensure_demo_accounts(settings)
    assert [(a.email, a.organisation, a.role) for a in first] == [(e, o, r) for e, o, r, _ in DEMO_USERS]
    saved = settings.home / "demo-accounts.txt"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert all(f"{a.email}\t{a.password}\t" in saved.read_text() for a in first)
    second = ensure_demo_accounts(settings)
    store = open_operational(settings)
    try:
        assert len(service.users(store)) == len(DEMO_USERS)
        fiu = next(a for a in second if a.organisation == "fiu")
        assert service.sign_in(store, fiu.email, fiu.password, client="t").organisation == "fiu"
        old = next(a for a in first if a.email == fiu.email)
        with pytest.raises(service.SignInRefused):
            service.sign_in(store, old.email, old.password, client="t")
    finally:
        store.dispose()
