"""Reference data the rules read: the AEO registry and the watch lists, with their loaders.

Offers ``parties.ReferenceData`` (the party lookup of the enrichment), ``aeo``, ``watchlist``,
``clearances``, ``vessels``, ``consolidations``, ``partner_findings``, ``ports``, the CSV
loaders (``csv_load``) and ``sync`` (what a reference load would add and delete).

Pure: imports ``contract``, ``records``, ``screening``'s enrichment and the bottom layer;
never ``worker``, ``workbench``, ``cli``, Faust, a Kafka client or a database driver. The
worker fills it from the compacted topics with ``kafka.mirror``.
"""
