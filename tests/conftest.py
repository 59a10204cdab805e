"""Fixtures shared by every test: a throw-away Chainlight home and the shared standards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = REPO.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty home with a SQLite operational store."""
    return Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EvidenceStore]:
    with EvidenceStore(tmp_path / "evidence.duckdb") as evidence:
        yield evidence


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared reference data and standards (checked out beside the repository)."""
    if not (SHARED / "data").is_dir():
        pytest.fail(f"shared data not found at {SHARED}: check out shared/ beside the repository")
    return SHARED / "data"
