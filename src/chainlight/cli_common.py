"""What every ``chainlight`` command module shares: the consoles, the common options, the
settings loader and the step progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from chainlight.settings import Settings

# Piped output (CI logs, scripts) gets wide tables rather than columns truncated to 80.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="CHAINLIGHT_HOME", help="Data directory (default ./chainlight-data)."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar="CHAINLIGHT_DATABASE_URL", help="Operational store URL."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ViewerOption = Annotated[
    str,
    typer.Option(
        "--organisation", envvar="CHAINLIGHT_ORGANISATION",
        help="Read as this organisation: only datasets it may see (TLP marking, sharing group) are used.",
    ),
]


def _settings(home: Path | None, database_url: str | None) -> Settings:
    return Settings.load(home, database_url)


@contextmanager
def step_progress(enabled: bool = True) -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """A Rich progress bar per step of a long job (a spinner where the total is unknown)."""
    from rich.progress import MofNCompleteColumn, SpinnerColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, disable=not enabled,
    )

    def start(label: str, total: int | None) -> Callable[[int], None]:
        task = progress.add_task(label, total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        return advance

    with progress:
        yield start
