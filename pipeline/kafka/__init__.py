"""Kafka clients (confluent-kafka) shared by the worker and the commands: an edge.

Offers ``producer.OutputProducer``, ``reader`` (a topic read to its end, or followed),
``mirror`` (a compacted topic kept whole in memory by a thread that follows it),
``admin`` (topics created and checked), ``security`` (the client's TLS and SASL settings,
checked) and ``acls`` (the ACLs each role needs). Imports the bottom layer, ``settings`` and
``archive.sources`` (the archive's group, for the ACLs); never ``worker``, ``workbench`` or ``cli``.
"""
