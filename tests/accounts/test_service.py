"""Accounts on the operational store: passwords, roles, sessions and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from chainlight.accounts import passwords, service
from chainlight.settings import Settings
from chainlight.store.operational import OperationalStore, User, WebSession


@pytest.fixture
def store(settings: Settings) -> OperationalStore:
    operational = OperationalStore(settings.database_url)
    operational.migrate()
    service.add_organisation(operational, "customs")
    return operational


def test_passwords_are_stored_as_argon2id_and_rules_apply(store: OperationalStore) -> None:
    user, generated = service.add_user(store, " Ana@Customs.Example ", organisation="customs")
    assert user.email == "ana@customs.example" and generated and len(generated) >= 20
    with store.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.email == user.email))
    assert stored is not None and stored.startswith("$argon2id$") and generated not in stored
    assert service.sign_in(store, "ana@customs.example", generated, client="t").organisation == "customs"
    for bad in ("short", "a" * 20):
        with pytest.raises(passwords.PasswordError):
            service.add_user(store, "b@customs.example", organisation="customs", password=bad)
    with pytest.raises(service.AccountError, match="already"):
        service.add_user(store, "ana@customs.example", organisation="customs")
    with pytest.raises(service.AccountError, match="unknown role"):
        service.add_user(store, "c@customs.example", organisation="customs", role="root")
    with pytest.raises(service.AccountError, match="unknown organisation"):
        service.add_user(store, "d@nowhere.example", organisation="nowhere")


def test_sessions_end_when_idle_expired_or_the_user_is_disabled(store: OperationalStore) -> None:
    service.add_user(store, "ana@customs.example", organisation="customs", password="a long pass phrase 42")
    principal = service.sign_in(store, "ana@customs.example", "a long pass phrase 42", client="t")
    token, csrf = service.open_session(store, principal, client="t")
    info = service.session_of(store, token)
    assert info is not None and info.csrf_token == csrf and info.principal.role == "analyst"
    assert service.session_of(store, token + "x") is None
    with store.session() as s:
        row = s.get(WebSession, service.digest(token))
        assert row is not None
        row.last_seen_at -= service.SESSION_IDLE + timedelta(minutes=1)
    assert service.session_of(store, token) is None
    fresh, _ = service.open_session(store, principal, client="t")
    service.set_disabled(store, "ana@customs.example", True)
    assert service.session_of(store, fresh) is None
    with pytest.raises(service.SignInRefused):
        service.sign_in(store, "ana@customs.example", "a long pass phrase 42", client="t")


def test_tokens_expire_and_are_never_stored_in_the_clear(store: OperationalStore) -> None:
    service.add_user(store, "ana@customs.example", organisation="customs")
    secret, row = service.create_token(store, "ana@customs.example", "ci", days=1)
    assert secret.startswith("clt_") and row.prefix == secret[:10]
    assert service.token_principal(store, secret) is not None
    assert service.token_principal(store, "clt_" + "A" * 43) is None
    with store.session() as s:
        from chainlight.store.operational import ApiToken

        stored = s.get(ApiToken, row.id)
        assert stored is not None and stored.token_hash == service.digest(secret)
        stored.expires_at = stored.created_at - timedelta(seconds=1)
    service._token_cache.clear()
    assert service.token_principal(store, secret) is None
