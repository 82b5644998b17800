"""Customs-to-Customs exchange (WCO SAFE pillar 1): sharing agreements as reviewed data, and the
pure functions that decide what may leave for which partner administration.

Offers ``agreements`` (loading and checking them), ``sending.Sharing`` and ``outbound`` (the
messages the worker may send, pure, used by ``screening``), ``categories`` (rule tags to
shared categories), and, at the edge, ``inbound`` (partners' messages applied),
``link`` and ``link_metrics`` (the replication link's lag, read from Kafka). The modules
``screening`` imports (``agreements``, ``categories``, ``outbound``, ``sending``) stay pure.
"""
