"""The Faust worker: moves batches between Kafka and the screening functions."""
