"""The targeting officers' workbench: referrals from Kafka become cases in PostgreSQL, worked
through web pages, with every change kept in an audit trail and published to Kafka."""
