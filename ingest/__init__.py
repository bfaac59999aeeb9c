"""Getting events in: the HTTP edge (`o11y ingest`), Kafka behind our own port, and the loader (`o11y load`) into
ClickHouse. The edge and the loader stand on ingest.kafka and never import each other. Imports storage/, schemas/ and
runtime/."""
