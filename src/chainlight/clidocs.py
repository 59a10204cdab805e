"""Render docs/cli.md from the command's own help, so the reference cannot drift from the
code (a test compares the two; regenerate with ``chainlight docs cli``)."""

from __future__ import annotations

from typer.main import get_command
from typer.testing import CliRunner

INTRO = """# Command-line reference

Generated from `chainlight --help` by `chainlight docs cli`; a test fails when it is stale.
Every command reads `--home` / `CHAINLIGHT_HOME` (data directory, default `./chainlight-data`)
and `--database-url` / `CHAINLIGHT_DATABASE_URL` (operational store, default SQLite in the home).
"""

WIDTH = "100"


def _commands() -> list[list[str]]:
    from chainlight.cli import app

    root = get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in sorted(getattr(root, "commands", {}).items()):
        paths.append([name])
        for sub in sorted(getattr(command, "commands", {})):
            paths.append([name, sub])
    return paths


def render_cli() -> str:
    from chainlight.cli import app

    runner = CliRunner()
    parts = [INTRO]
    for path in _commands():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"})
        title = " ".join(["chainlight", *path])
        body = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        parts.append(f"## `{title}`\n\n```text\n{body}\n```\n")
    return "\n".join(parts)
