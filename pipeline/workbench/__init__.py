"""The targeting officers' workbench: referrals from Kafka become cases in PostgreSQL, worked
through web pages, with every change kept in an audit trail and published to Kafka.

An edge: offers ``web.create_app`` (the FastAPI application, run by ``screening workbench``),
``migrations`` and ``accounts`` (used by the commands) and ``partners`` (the partner exchange).
Imports the pure packages, ``kafka`` and psycopg; never ``worker`` or ``cli``.
"""
