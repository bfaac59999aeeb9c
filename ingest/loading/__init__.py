"""The loader: a consumer loop offering Kafka messages to a chain of generic steps that store them in ClickHouse."""
