"""The archive: every assessment, hit, dead letter and declaration kept as Parquet by day.

Kafka keeps these topics for 30 days at most; the archive keeps them for years, as the audit
record and as the input of backtests and reports over longer periods (docs/archive.md).
"""
