"""Routes on a map: trade, shipment and seizure flows between countries and ports.

:mod:`places` puts countries and ports on the globe from the packaged reference data;
:mod:`flows` aggregates the evidence a reader may see into flows and points.
"""
