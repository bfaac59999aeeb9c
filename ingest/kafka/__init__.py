"""Kafka behind our own port: the producer and the group member (confluent-kafka or kafka-python), topics, the dead
letters. The bottom of ingest/: imports storage/, schemas/ and runtime/ only."""
