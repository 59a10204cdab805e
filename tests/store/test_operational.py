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
    if request.param == "postgresql":
        from chainlight.store.operational import Base

        with store.engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
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
