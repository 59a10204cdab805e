"""Entity resolution: recognise the same person, company, vessel, account, address or port
across sources, explain every link, let analysts judge, and keep clusters stable.

Sources are never rewritten. Resolution keeps its own tables beside the statements in the
evidence store (``er_records``, ``er_features_<group>``, ``er_links``, ``er_clusters``,
``er_models``); human judgements live in the operational store. See ``docs/resolution.md``.
"""
