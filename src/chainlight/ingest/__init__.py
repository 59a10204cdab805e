"""Readers, one module per format, and the table that maps a format name to its reader."""

from __future__ import annotations

import importlib

from chainlight.ingest.base import IngestError, Reader

#: format name -> "module:ClassName". Modules are imported only when their format is used.
READERS: dict[str, str] = {
    "cites-trade": "chainlight.ingest.cites_trade:CitesTradeReader",
    "ftm": "chainlight.ingest.ftm:FtmReader",
    "bods": "chainlight.ingest.bods:BodsReader",
    "goaml": "chainlight.ingest.goaml:GoamlReader",
    "csv": "chainlight.ingest.mapped_csv:MappedCsvReader",
}


def get_reader(fmt: str) -> Reader:
    target = READERS.get(fmt)
    if target is None:
        raise IngestError(f"unknown format {fmt!r}; use one of {', '.join(READERS)}")
    module_name, class_name = target.split(":")
    reader: Reader = getattr(importlib.import_module(module_name), class_name)()
    return reader
