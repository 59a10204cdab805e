"""``chainlight index``: build the search index that search and entity profiles read."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, _settings, out, step_progress


def index(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the index is current.")] = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Build the search index that search and entity profiles read.

    Run it after ingesting, resolving or running the rules (``chainlight demo`` does). It copies
    names, statements, relations, resolution links and alerts into one SQLite file beside the
    evidence store, written under a temporary name and moved into place, so the web app keeps
    answering from the old index meanwhile. Nothing is done when the index already reflects the
    evidence store, unless --force."""
    from chainlight import pipeline

    settings = _settings(home, database_url)
    with step_progress(not as_json) as progress:
        info, built = pipeline.build_index(settings, force=force, progress=progress)
    if as_json:
        out.print_json(json.dumps({**info.as_dict(), "built": built}))
        return
    if not built:
        out.print(f"the search index is current (built {info.built_at}): nothing to do")
        return
    out.print(f"search index: {info.entities:,} entities, {info.records:,} records, {info.keys:,} names "
              f"in {info.seconds:.1f} s ({info.path})")
