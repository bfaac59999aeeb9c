"""The HTTP edge of `o11y ingest`: bodies read within their limits, events validated and authenticated, published to
Kafka and acknowledged only once the broker has them; its OpenAPI document. Imports ingest.kafka."""
