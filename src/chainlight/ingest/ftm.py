"""FollowTheMoney entities as JSON lines (``ftm``): one ``{"id", "schema", "properties"}``
object per line, as written by ``followthemoney``, Aleph, OpenSanctions and
``chainlight export ftm``.

Values are cleaned by FtM's own property types. A line that is not JSON, names an unknown
schema or has no id is quarantined whole; an unknown property or a value its type rejects
is quarantined on its own while the rest of the entity loads.
"""

from __future__ import annotations

from typing import Any

import orjson
from followthemoney.exc import InvalidData

from chainlight.ingest.base import IngestContext
from chainlight.model.ftm import model

MAX_LINE_BYTES = 8 << 20


class FtmReader:
    format = "ftm"
    description = "FollowTheMoney entities, one JSON object per line"

    def read(self, ctx: IngestContext) -> None:
        with ctx.path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                ctx.advance(len(raw))
                if not raw.strip():
                    continue
                ctx.count_rows()
                if len(raw) > MAX_LINE_BYTES:
                    ctx.reject(number, f"line longer than {MAX_LINE_BYTES} bytes")
                    continue
                self._read_line(ctx, number, raw)

    def _read_line(self, ctx: IngestContext, number: int, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            ctx.reject(number, f"not valid JSON: {exc}", raw=text)
            return
        if not isinstance(data, dict):
            ctx.reject(number, "expected a JSON object", raw=text)
            return
        entity_id = data.get("id")
        if not isinstance(entity_id, str) or not entity_id.strip():
            ctx.reject(number, "entity has no id", field="id", raw=text)
            return
        schema = model.get(data.get("schema") or "")
        if schema is None:
            ctx.reject(number, f"unknown schema {data.get('schema')!r}", field="schema", raw=text)
            return
        if schema.abstract:
            ctx.reject(number, f"schema {schema.name} is abstract", field="schema", raw=text)
            return
        properties = data.get("properties") or {}
        if not isinstance(properties, dict):
            ctx.reject(number, "properties must be an object", field="properties", raw=text)
            return
        proxy = model.make_entity(schema)
        proxy.id = entity_id.strip()
        for name, values in properties.items():
            self._add_values(ctx, number, proxy, str(name), values, text)
        ctx.add_entity(proxy, number)

    @staticmethod
    def _add_values(ctx: IngestContext, number: int, proxy: Any, name: str, values: Any, text: str) -> None:
        prop = proxy.schema.get(name)
        if prop is None:
            ctx.reject(number, f"{proxy.schema.name} has no property {name!r}", field=name, raw=text, row_loaded=True)
            return
        if prop.stub:
            ctx.reject(number, f"{name} is a reverse property and cannot be set", field=name, raw=text, row_loaded=True)
            return
        if not isinstance(values, list):
            values = [values]
        for value in values:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                ctx.reject(number, f"value {value!r} is not a string", field=name, raw=text, row_loaded=True)
                continue
            try:
                added = proxy.unsafe_add(prop, str(value))
            except InvalidData as exc:
                ctx.reject(number, str(exc), field=name, raw=text, row_loaded=True)
                continue
            if added is None and str(value).strip():
                ctx.reject(number, f"invalid {prop.type.name} value {value!r}", field=name, raw=text, row_loaded=True)
