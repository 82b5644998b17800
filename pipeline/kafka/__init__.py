"""Kafka clients (confluent-kafka) shared by the worker and the commands."""
