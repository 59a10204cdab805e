"""The goAML report schema 5.0.1 (XSD 1.1), shipped inside the package, as a cached validator.

The published schema enumerates placeholder values for what are, in goAML, per-FIU lookup
lists: the indicator list holds only ``-``, so a real report with real indicators would fail
it. By default the reader therefore validates against the schema with those enumerations
lifted (structure, required elements, lengths, dates and decimals stay as published) and
checks codes against the configurable lists in :mod:`chainlight.ingest.goaml_codes` instead.
ISO country and currency codes stay enforced. ``strict_codes`` validates against the XSD
exactly as written, which suits an FIU that passes its own XSD with its own lists.

Parsing the XSD takes about a second, so each schema object is built once per process.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.parsers import expat

import xmlschema

SCHEMA_PATH = Path(__file__).parent / "schemas" / "goaml" / "goAMLSchema.xsd"
SCHEMA_VERSION = "5.0.1"

#: Enumerated simple types that keep their enumerations when codes are relaxed: ISO lists.
ISO_CODE_TYPES = frozenset({"country_type", "currency_type"})

_SIMPLE_TYPE = re.compile(r'<xs:simpleType name="(?P<name>[^"]+)">(?P<body>.*?)</xs:simpleType>', re.DOTALL)
_ENUMERATION = re.compile(r"<xs:enumeration\b[^>]*?(?:/>|>.*?</xs:enumeration>)\s*", re.DOTALL)
_PATH_STEP = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")


def _lift_lookup_lists(text: str) -> str:
    """The XSD text with the enumerations of every non-ISO named simple type removed."""

    def lift(match: re.Match[str]) -> str:
        if match["name"] in ISO_CODE_TYPES:
            return match[0]
        body = _ENUMERATION.sub("", match["body"])
        return f'<xs:simpleType name="{match["name"]}">{body}</xs:simpleType>'

    return _SIMPLE_TYPE.sub(lift, text)


@cache
def goaml_schema(path: Path = SCHEMA_PATH, strict_codes: bool = False) -> Any:
    """The ``xmlschema.XMLSchema11`` for ``path``, built once per process and variant."""
    text = path.read_text(encoding="utf-8")
    if not strict_codes:
        text = _lift_lookup_lists(text)
    return xmlschema.XMLSchema11(text, base_url=str(path.parent))


@dataclass(frozen=True, slots=True)
class SchemaError:
    """The first place a document breaks the schema, as the validator reports it."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class _CountingFile(io.FileIO):
    """A file that reports how many bytes the validator has read (for the progress bar)."""

    def __init__(self, path: Path, on_read: Callable[[int], None]) -> None:
        super().__init__(path, "rb")
        self._on_read = on_read

    def readinto(self, buffer: Any) -> int | None:
        count = super().readinto(buffer)
        if count:
            self._on_read(count)
        return count


class _ValidatedFile(io.BufferedReader):
    """Stops xmlschema's lazy iterators, finalised after an early stop, from failing on
    a file already closed: a closed file is simply not seekable."""

    def seekable(self) -> bool:
        return not self.closed and super().seekable()


def first_schema_error(
    path: Path, schema: Any, on_read: Callable[[int], None] | None = None
) -> SchemaError | None:
    """Validate ``path`` lazily (one subtree at a time, in bounded memory); None when valid.

    Stops at the first error: one is enough to reject a file, and the rest of a large file
    need not be read to say so.
    """
    with _ValidatedFile(_CountingFile(path, on_read or _ignore)) as fh:
        errors = schema.iter_errors(xmlschema.XMLResource(fh, lazy=1))
        try:
            error = next(errors, None)
        finally:
            errors.close()
    if error is None:
        return None
    reason = " ".join(str(error.reason or error.message).split())
    return SchemaError(str(error.path or "/"), reason)


def _ignore(_count: int) -> None:
    return None


class _Found(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _steps(xpath: str) -> list[tuple[str, int]]:
    steps: list[tuple[str, int]] = []
    for part in xpath.strip("/").split("/"):
        match = _PATH_STEP.match(part)
        if match is None:
            return []
        steps.append((match["name"], int(match["index"] or 1)))
    return steps


def line_of_path(path: Path, xpath: str) -> int | None:
    """The line where the element at ``xpath`` (``/report/transaction[2]/t_to``) starts.

    ElementTree (what xmlschema uses here) keeps no line numbers, so the validator's path is
    found again with expat, which does.
    """
    steps = _steps(xpath)
    if not steps:
        return None
    parser = expat.ParserCreate()
    # One sibling counter per open element; ``matched`` is how many leading steps match.
    counters: list[dict[str, int]] = [{}]
    matched = 0

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal matched
        depth = len(counters) - 1
        seen = counters[-1]
        seen[name] = seen.get(name, 0) + 1
        counters.append({})
        if matched == depth and depth < len(steps) and steps[depth] == (name, seen[name]):
            matched += 1
            if matched == len(steps):
                raise _Found(parser.CurrentLineNumber)

    def end(_name: str) -> None:
        nonlocal matched
        counters.pop()
        matched = min(matched, len(counters) - 1)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except _Found as found:
        return found.line
    except expat.ExpatError:
        return None
    return None


def iter_enumerated_types(schema: Any) -> Iterator[str]:
    """Names of the schema's simple types that still enumerate their values."""
    for name, xsd_type in schema.types.items():
        if getattr(xsd_type, "enumeration", None):
            yield name
