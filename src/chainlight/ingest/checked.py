"""Entity proxies that remember the values FtM's property types refuse.

``EntityProxy.add`` drops a value its type cannot clean (an IBAN with a bad checksum, a date
that is not one, an LEI of the wrong shape) without a word. Readers that build entities with
``add`` use :class:`CheckedProxy` instead and quarantine what it collected, so nothing is lost
silently: the rest of the record still loads.
"""

from __future__ import annotations

from typing import Any

from followthemoney.proxy import EntityProxy
from followthemoney.value import string_list

from chainlight.ingest.base import IngestContext
from chainlight.model.ftm import model

#: (schema.property, FtM format or type, value as given)
Refused = tuple[str, str, str]


class CheckedProxy(EntityProxy):
    """An entity proxy whose ``add`` records refused values in ``refused``."""

    refused: list[Refused]

    def add(self, prop: Any, values: Any, cleaned: bool = False, quiet: bool = False,
            fuzzy: bool = False, format: str | None = None) -> None:
        name = self._prop_name(prop, quiet=quiet)
        if name is None:
            return
        target = self.schema.properties[name]
        for value in string_list(values, sanitize=not cleaned):
            kept = self.unsafe_add(target, value, cleaned=cleaned, fuzzy=fuzzy, format=format)
            if kept is None and value.strip():
                self.refused.append((f"{self.schema.name}.{name}", target.format or target.type.name, value))


def make_checked(schema: str, entity_id: str, refused: list[Refused]) -> CheckedProxy:
    """A new entity whose refused values go to ``refused`` (shared by a record's entities)."""
    proxy = CheckedProxy(model[schema], {"id": entity_id})
    proxy.refused = refused
    return proxy


def quarantine_refused(ctx: IngestContext, refused: list[Refused], line: int | None, raw: str | None) -> None:
    """Quarantine each refused value as a field-level problem of the record, then forget them."""
    for field_name, kind, value in refused:
        ctx.reject(line, f"invalid {kind} value {value!r}", field=field_name, raw=raw, row_loaded=True)
    refused.clear()
