"""The Faust worker: moves batches between Kafka and the screening functions. An edge.

Offers ``app.create_app`` (the Faust application, run by ``screening worker``) and ``status``
(the workers' views, read by ``screening rules status``). The screening itself is in
``screening``; the worker adds the topics, tables, offsets and services. Never imports
``workbench`` or ``cli``.
"""
