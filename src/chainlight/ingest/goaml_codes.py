"""goAML lookup lists (report types, indicators, funds types, transaction modes, party roles),
configurable per FIU.

goAML leaves these lists to each FIU: the published schema only carries placeholders, so a
code the package does not know is normal, not an error. The reader records every code as
written and adds a label when one is configured. The package ships defaults in
``schemas/goaml/codes.yaml``; an FIU's own file replaces whole sections of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from chainlight.ingest.base import IngestError

DEFAULT_CODES = Path(__file__).parent / "schemas" / "goaml" / "codes.yaml"

#: Sections holding ``code: label`` maps.
LABEL_SECTIONS = ("report_types", "indicators", "funds_types", "transmodes", "reporting_entities")


@dataclass(frozen=True, slots=True)
class GoamlCodes:
    """Labels for goAML codes and the party roles that mean payer or beneficiary."""

    report_types: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, str] = field(default_factory=dict)
    funds_types: dict[str, str] = field(default_factory=dict)
    transmodes: dict[str, str] = field(default_factory=dict)
    reporting_entities: dict[str, str] = field(default_factory=dict)
    payer_roles: frozenset[str] = frozenset()
    beneficiary_roles: frozenset[str] = frozenset()

    def describe(self, section: str, code: str) -> str:
        """``"STR (Suspicious transaction report)"``, or the bare code when it has no label."""
        labels: dict[str, str] = getattr(self, section)
        label = labels.get(code)
        return f"{code} ({label})" if label else code


def _labels(raw: Any, section: str, source: Path) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise IngestError(f"{source}: {section} must be a mapping of code to label")
    return {str(code).strip(): str(label).strip() for code, label in raw.items() if label is not None}


def _roles(raw: Any, side: str, source: Path) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise IngestError(f"{source}: party_roles.{side} must be a list of role codes")
    return frozenset(str(code).strip() for code in raw)


def _read(source: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(f"{source}: cannot read goAML codes file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise IngestError(f"{source}: goAML codes file is not valid YAML: {' '.join(str(exc).split())}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise IngestError(f"{source}: goAML codes file must be a mapping of sections")
    unknown = sorted(set(data) - {*LABEL_SECTIONS, "party_roles"})
    if unknown:
        raise IngestError(f"{source}: unknown goAML codes section(s): {', '.join(map(str, unknown))}")
    return data


def _sections(data: dict[str, Any], source: Path) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for name in LABEL_SECTIONS:
        if name in data:
            sections[name] = _labels(data[name], name, source)
    if "party_roles" in data:
        roles = data["party_roles"] or {}
        if not isinstance(roles, dict):
            raise IngestError(f"{source}: party_roles must have 'payer' and 'beneficiary' lists")
        sections["payer_roles"] = _roles(roles.get("payer"), "payer", source)
        sections["beneficiary_roles"] = _roles(roles.get("beneficiary"), "beneficiary", source)
    return sections


@cache
def _defaults() -> tuple[tuple[str, Any], ...]:
    return tuple(_sections(_read(DEFAULT_CODES), DEFAULT_CODES).items())


def load_codes(override: str | Path | None = None) -> GoamlCodes:
    """The package's codes, with the sections of ``override`` (an FIU's YAML file) replacing
    the defaults they name. The FIU file is read on every call: it may change between runs."""
    sections = dict(_defaults())
    if override:
        source = Path(override)
        sections.update(_sections(_read(source), source))
    return GoamlCodes(**sections)
