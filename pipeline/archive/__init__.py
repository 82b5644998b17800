"""The archive: every assessment, hit, dead letter and declaration kept as Parquet by day.

Kafka keeps these topics for 30 days at most; the archive keeps them for years, as the audit
record and as the input of backtests and reports over longer periods (docs/archive.md).

Offers ``consumer.Archiver`` (run by ``screening archive run``), ``writer``, ``read`` (records
back out, for backtests and reports), ``compact``, ``prune``, ``stats`` and ``sources`` (the
topics archived). An edge of its own: it reads Kafka with confluent-kafka, but never imports
``worker``, ``workbench`` or ``cli``.
"""
