"""Typed record tables for bulk statistical rows.

A CITES Trade Database row is not an entity: 25 million of them must not become hundreds of
millions of statements. Each record keeps its dataset, the file and line it came from and
its source id, and names parties only through codes or entity ids.
"""

from __future__ import annotations

#: table name -> DDL. Every record table has ``dataset``, ``record_id`` and ``origin``.
RECORD_TABLES: dict[str, str] = {
    "cites_trade": """
        CREATE TABLE IF NOT EXISTS cites_trade (
            dataset VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            year SMALLINT,
            appendix VARCHAR,
            taxon VARCHAR,
            class VARCHAR,
            "order" VARCHAR,
            family VARCHAR,
            genus VARCHAR,
            term VARCHAR,
            quantity DOUBLE,
            unit VARCHAR,
            importer VARCHAR,
            exporter VARCHAR,
            origin_country VARCHAR,
            purpose VARCHAR,
            source VARCHAR,
            reporter_type VARCHAR,
            import_permit_id VARCHAR,
            export_permit_id VARCHAR,
            origin_permit_id VARCHAR,
            origin VARCHAR NOT NULL
        )""",
    "cites_comparative": """
        CREATE TABLE IF NOT EXISTS cites_comparative (
            dataset VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            year SMALLINT,
            appendix VARCHAR,
            taxon VARCHAR,
            class VARCHAR,
            "order" VARCHAR,
            family VARCHAR,
            genus VARCHAR,
            importer VARCHAR,
            exporter VARCHAR,
            origin_country VARCHAR,
            importer_quantity DOUBLE,
            exporter_quantity DOUBLE,
            term VARCHAR,
            unit VARCHAR,
            purpose VARCHAR,
            source VARCHAR,
            origin VARCHAR NOT NULL
        )""",
}
