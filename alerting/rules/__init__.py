"""What trips, in numbers: burn-rate math, the tick's window queries, trips and readings, the loader's freshness, the
words for numbers. Pure; the bottom of alerting/ (imports storage/, schemas/ and runtime/ only)."""
