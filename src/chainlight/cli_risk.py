"""``chainlight risk``: corruption risk mapping of ports and processes (docs/risk.md)."""

from __future__ import annotations

import typer

from chainlight import cli_risk_countries, cli_risk_incidents, cli_risk_register

risk_app = typer.Typer(help="Corruption risk mapping: port scores, registers, incidents, country tiers.",
                       no_args_is_help=True)

for part in (cli_risk_register, cli_risk_countries, cli_risk_incidents):
    part.register(risk_app)
