"""The loader (`o11y load`): a consumer loop offering Kafka messages to a chain of generic steps (`steps/`) that store
them in ClickHouse once each, with its progress records. Imports ingest.kafka, storage/, schemas/ and runtime/."""
