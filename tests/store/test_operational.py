from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from chainlight.model.markings import Marking
from chainlight.store.operational import OperationalError, OperationalStore
from tests.support.postgres import postgres_server


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def operational(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OperationalStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = OperationalStore(url)
    store.migrate()
    yield store
    if request.param == "postgresql":  # every table the migrations made, whichever module models it
        from sqlalchemy import MetaData

        with store.engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection)
            tables.drop_all(connection)
    store.dispose()


def test_migrations_create_the_tables(operational: OperationalStore) -> None:
    tables = set(inspect(operational.engine).get_table_names())
    assert {"organisations", "users", "datasets", "sharing_groups", "sharing_group_members"} <= tables
    operational.migrate()  # running again is a no-op


def test_dataset_with_owner_marking_and_group(operational: OperationalStore) -> None:
    operational.ensure_sharing_group("iwt-taskforce", ["kra", "wildlife-ngo"])
    operational.ensure_dataset("customs-ke", owner="kra", marking=Marking.AMBER, sharing_group="iwt-taskforce")
    operational.ensure_dataset("goaml", owner="fiu", marking=Marking.RED)
    access = {a.name: a for a in operational.dataset_access()}
    assert access["customs-ke"].marking is Marking.AMBER
    assert access["customs-ke"].recipients == {"kra", "wildlife-ngo"}
    assert access["customs-ke"].visible_to("wildlife-ngo")
    assert not access["goaml"].visible_to("wildlife-ngo")


def test_marking_is_never_changed_silently(operational: OperationalStore) -> None:
    operational.ensure_dataset("permits", owner="cites", marking=Marking.GREEN)
    operational.ensure_dataset("permits", owner="cites", marking=Marking.GREEN)
    with pytest.raises(OperationalError, match="marked TLP:GREEN"):
        operational.ensure_dataset("permits", owner="cites", marking=Marking.CLEAR)
    with pytest.raises(OperationalError, match="belongs to"):
        operational.ensure_dataset("permits", owner="someone-else", marking=Marking.GREEN)


def test_names_are_checked(operational: OperationalStore) -> None:
    with pytest.raises(OperationalError, match="invalid dataset name"):
        operational.ensure_dataset("Bad Name!", owner="x", marking=Marking.GREEN)
    with pytest.raises(OperationalError, match="unknown sharing group"):
        operational.ensure_dataset("ok", owner="x", marking=Marking.AMBER, sharing_group="nope")


def test_the_access_log_is_append_only_in_the_database(operational: OperationalStore) -> None:
    from sqlalchemy import text

    from chainlight.store import access_log
    from chainlight.store.access_log import AccessEntry

    for i in range(3):
        access_log.append(operational, AccessEntry("ana@kra.example", "kra", "entity.read", f"e-{i}", "RED", "case"))
    statements = ["UPDATE access_log SET target = 'x'", "DELETE FROM access_log WHERE seq = 3"]
    if operational.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE access_log")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"), operational.engine.begin() as connection:
            connection.execute(text(statement))
    result = access_log.verify(operational)
    assert result.ok and result.entries == 3


def test_accounts_live_in_either_store(operational: OperationalStore) -> None:
    from chainlight.accounts import service

    service.add_organisation(operational, "kra")
    service.add_user(operational, "ana@kra.example", organisation="kra", role="admin", password="a long pass phrase 42")
    principal = service.sign_in(operational, "ana@kra.example", "a long pass phrase 42", client="127.0.0.1")
    token, _ = service.open_session(operational, principal, client="127.0.0.1")
    info = service.session_of(operational, token)
    assert info is not None and info.principal.role == "admin"
    secret, _ = service.create_token(operational, "ana@kra.example", "ci")
    found = service.token_principal(operational, secret)
    assert found is not None and found.organisation == "kra"
