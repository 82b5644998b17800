"""Customs cargo screening on Kafka: pre-loading declarations in, assessments, hits and notices
out.

The packages form layers; a package imports only from its own layer or the ones below it:

- bottom: ``contract`` (the wire format), ``records``, ``errors``, ``topics``, ``text``,
  ``yaml_documents``, ``settings``;
- pure logic, no broker, database or web framework: ``screening``, ``rules``, ``reference``,
  ``notices``, ``targeting``, ``feedback``, ``c2c``'s agreements and outbound messages;
- offline tools over the pure logic: ``backtest``, ``archive``, ``samples``, ``ops``;
- edges, which talk to Kafka, PostgreSQL or people: ``kafka``, ``worker``, ``workbench``,
  ``cli``.

``tests/unit/test_layering.py`` checks that the pure packages import nothing from the edges.
The package modules are imported by their full names: ``__init__`` files re-export nothing, as
re-exports would create import cycles between the layers.
"""
