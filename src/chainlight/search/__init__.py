"""Search and entity profiles, served from a read-optimised index beside the evidence store.

The evidence store (DuckDB) is built for scans: pooling, resolving and rules read millions of
statements at a time, and it lets one process write while nobody else holds the file. A web
app answering hundreds of small requests a second needs the opposite: point lookups by entity
id and name matching in a millisecond, from many threads and processes at once. So
``chainlight index`` copies what search and profiles need into one SQLite file
(:mod:`chainlight.search.build`), and the app reads that file alone
(:mod:`chainlight.search.reader`, :mod:`chainlight.search.query`, :mod:`chainlight.search.profile`).
Need-to-know is applied at read time, per (entity, dataset) record, exactly as everywhere else.
"""
