"""Generic processing steps (run a task, batch, commit) that know nothing of rows, ClickHouse or Kafka clients.

They import the standard library and each other only."""
