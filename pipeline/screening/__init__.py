"""The screening data path, in pure functions: decode, enrich, evaluate, assess.

Offers ``batch.Screener`` (a batch of input records to output records, used by the worker and
the backtest), ``decode.decode_declaration``, ``enrich`` (the typed party facts the rules
read), ``evaluation.Evaluation``, ``outcome`` (thresholds and the outcome of matches),
``versions`` and ``ledger`` (which version of a declaration is kept).

Pure: imports only ``contract``, ``records``, ``topics``, ``reference``, ``notices`` and
``c2c``'s outbound messages; never ``worker``, ``kafka``, ``workbench``, ``cli``, Faust, a Kafka
client or a database driver (tests/unit/test_layering.py).
"""
