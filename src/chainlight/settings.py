"""Where Chainlight keeps its files and which databases it talks to.

Settings are read when a command starts (never at import), from options first, then the
environment (``CHAINLIGHT_HOME``, ``CHAINLIGHT_DATABASE_URL``), then defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """Paths and URLs for one Chainlight installation."""

    home: Path
    database_url: str

    @property
    def evidence_path(self) -> Path:
        """The DuckDB evidence store: statements, records, projections."""
        return self.home / "evidence.duckdb"

    @classmethod
    def load(cls, home: Path | str | None = None, database_url: str | None = None) -> Settings:
        root = Path(home or os.environ.get("CHAINLIGHT_HOME") or "chainlight-data").resolve()
        url = database_url or os.environ.get("CHAINLIGHT_DATABASE_URL") or f"sqlite:///{root / 'chainlight.db'}"
        return cls(home=root, database_url=url)

    def ensure(self) -> Settings:
        self.home.mkdir(parents=True, exist_ok=True)
        return self
